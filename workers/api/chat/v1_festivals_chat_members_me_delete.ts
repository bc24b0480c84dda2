import { createRoute, z } from "@hono/zod-openapi";
import { errorResponses } from "../../lib/errors";
import { IdParamSchema } from "../../lib/schemas";
import { AUTH_ERRORS, requireAuth } from "../middleware/auth";
import type { App } from "../router";

import { leaveChatRoom } from "./rooms";

const route = createRoute({
  method: "delete",
  path: "/v1/festivals/{id}/chat/members/me",
  operationId: "festivalsChatMembersMeDelete",
  tags: ["chat"],
  summary: "Leave the festival's chat room; my open chat sockets close (idempotent)",
  security: [{ bearer: [] }],
  middleware: [requireAuth()] as const,
  request: { params: z.object({ id: IdParamSchema }) },
  responses: {
    204: { description: "I am not a member" },
    ...errorResponses(400, ...AUTH_ERRORS, [404, "chat.room_not_found"]),
  },
});

export function registerV1FestivalsChatMembersMeDelete(app: App) {
  app.openapi(route, async (c) => {
    await leaveChatRoom(c.get("services"), c.req.valid("param").id, c.get("user").id);
    return c.body(null, 204);
  });
}
