import { createRoute, z } from "@hono/zod-openapi";
import { errorResponses } from "../../lib/errors";
import { IdParamSchema } from "../../lib/schemas";
import type { App } from "../app";
import { requireAuth } from "../middleware/auth";

import { joinChatRoom } from "./rooms";

const route = createRoute({
  method: "post",
  path: "/v1/festivals/{id}/chat/members",
  tags: ["chat"],
  summary: "Join the festival's chat room (idempotent)",
  security: [{ bearer: [] }],
  middleware: [requireAuth()] as const,
  request: { params: z.object({ id: IdParamSchema }) },
  responses: {
    204: { description: "I am a member" },
    400: errorResponses[400],
    401: errorResponses[401],
    404: errorResponses[404],
  },
});

export function registerV1FestivalsChatMembersPost(app: App) {
  app.openapi(route, async (c) => {
    await joinChatRoom(c.get("services"), c.req.valid("param").id, c.get("user").id);
    return c.body(null, 204);
  });
}
