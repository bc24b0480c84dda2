import { createRoute, z } from "@hono/zod-openapi";
import { errorResponses } from "../../lib/errors";
import { IdParamSchema } from "../../lib/schemas";
import { AUTH_ERRORS, requireAuth, requireFestivalStaff, STAFF_ERRORS } from "../middleware/auth";
import type { App } from "../router";
import { putSanctionHandler } from "./moderation";
import { ChatSanctionSchema } from "./schemas";

const BanRequestSchema = z
  .object({
    /** Omitted = until lifted (DELETE). */
    minutes: z
      .number()
      .int()
      .min(1)
      .max(365 * 24 * 60)
      .optional()
      .openapi({ example: 1440 }),
  })
  .strict();

export type V1FestivalsChatBansPutRequest = z.input<typeof BanRequestSchema>;
export type V1FestivalsChatBansPutResponse = z.infer<typeof ChatSanctionSchema>;

const route = createRoute({
  method: "put",
  path: "/v1/festivals/{festivalId}/chat/bans/{userId}",
  operationId: "festivalsChatBansPut",
  tags: ["chat", "admin"],
  summary: "Ban a user from the room (admins and this festival's staff)",
  description:
    "Their open sockets close with code 4004 and every connect is refused with 403 `chat.banned` " +
    "until the ban ends or is lifted.",
  security: [{ bearer: [] }],
  middleware: [requireAuth(), requireFestivalStaff()] as const,
  request: {
    params: z.object({ festivalId: IdParamSchema, userId: IdParamSchema }),
    body: { required: true, content: { "application/json": { schema: BanRequestSchema } } },
  },
  responses: {
    200: { description: "Banned", content: { "application/json": { schema: ChatSanctionSchema } } },
    ...errorResponses(400, ...AUTH_ERRORS, ...STAFF_ERRORS, [404, "chat.room_not_found", "user.not_found"]),
  },
});

export function registerV1FestivalsChatBansPut(app: App) {
  app.openapi(route, putSanctionHandler("ban"));
}
