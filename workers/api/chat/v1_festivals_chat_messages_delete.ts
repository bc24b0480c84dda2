import { createRoute, z } from "@hono/zod-openapi";
import { errorResponses } from "../../lib/errors";
import { IdParamSchema } from "../../lib/schemas";
import { AUTH_ERRORS, requireAuth, requireFestivalStaff, STAFF_ERRORS } from "../middleware/auth";
import type { App } from "../router";
import { deleteMessage } from "./moderation";

const route = createRoute({
  method: "delete",
  path: "/v1/festivals/{festivalId}/chat/messages/{seq}",
  operationId: "festivalsChatMessagesDelete",
  tags: ["chat", "admin"],
  summary: "Delete a message (admins and this festival's staff; idempotent)",
  description:
    "Every connected client gets a `deleted` frame and history pages show the message as deleted, " +
    "without its text. The original is kept for audit, and the action is recorded with who did it.",
  security: [{ bearer: [] }],
  middleware: [requireAuth(), requireFestivalStaff()] as const,
  request: { params: z.object({ festivalId: IdParamSchema, seq: IdParamSchema }) },
  responses: {
    204: { description: "The message is deleted" },
    ...errorResponses(400, ...AUTH_ERRORS, ...STAFF_ERRORS, [
      404,
      "chat.room_not_found",
      "chat.message_not_found",
    ]),
  },
});

export function registerV1FestivalsChatMessagesDelete(app: App) {
  app.openapi(route, async (c) => {
    const { festivalId, seq } = c.req.valid("param");
    await deleteMessage(c.get("services"), festivalId, seq, c.get("user").id);
    return c.body(null, 204);
  });
}
