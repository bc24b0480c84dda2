import { createRoute, z } from "@hono/zod-openapi";
import { errorResponses } from "../../lib/errors";
import { IdParamSchema } from "../../lib/schemas";
import type { App } from "../app";
import { requireAuth } from "../middleware/auth";

import { leaveChatRoom } from "./rooms";

const route = createRoute({
  method: "delete",
  path: "/v1/festivals/{id}/chat/members/me",
  tags: ["chat"],
  summary: "Leave the festival's chat room; my open chat sockets close (idempotent)",
  security: [{ bearer: [] }],
  middleware: [requireAuth()] as const,
  request: { params: z.object({ id: IdParamSchema }) },
  responses: {
    204: { description: "I am not a member" },
    400: errorResponses[400],
    401: errorResponses[401],
    404: errorResponses[404],
  },
});

export function registerV1FestivalsChatMembersMeDelete(app: App) {
  app.openapi(route, async (c) => {
    await leaveChatRoom(c.get("services"), c.req.valid("param").id, c.get("user").id);
    return c.body(null, 204);
  });
}
