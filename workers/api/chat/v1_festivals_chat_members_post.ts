import { createRoute, z } from "@hono/zod-openapi";
import { errorResponses } from "../../lib/errors";
import { IdParamSchema } from "../../lib/schemas";
import { AUTH_ERRORS, requireAuth } from "../middleware/auth";
import type { App } from "../router";

import { joinChatRoom } from "./rooms";

const route = createRoute({
  method: "post",
  path: "/v1/festivals/{id}/chat/members",
  operationId: "festivalsChatMembersPost",
  tags: ["chat"],
  summary: "Join the festival's chat room (idempotent)",
  security: [{ bearer: [] }],
  middleware: [requireAuth()] as const,
  request: { params: z.object({ id: IdParamSchema }) },
  responses: {
    204: { description: "I am a member" },
    ...errorResponses(400, ...AUTH_ERRORS, [404, "chat.room_not_found"]),
  },
});

export function registerV1FestivalsChatMembersPost(app: App) {
  app.openapi(route, async (c) => {
    await joinChatRoom(c.get("services"), c.req.valid("param").id, c.get("user").id);
    return c.body(null, 204);
  });
}
