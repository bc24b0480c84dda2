import { createRoute, z } from "@hono/zod-openapi";
import { errorResponses } from "../../lib/errors";
import { IdParamSchema } from "../../lib/schemas";
import { AUTH_ERRORS, requireAuth, requireFestivalStaff, STAFF_ERRORS } from "../middleware/auth";
import type { App } from "../router";
import { putSanctionHandler } from "./moderation";
import { ChatSanctionSchema } from "./schemas";

const MuteRequestSchema = z
  .object({
    minutes: z
      .number()
      .int()
      .min(1)
      .max(30 * 24 * 60)
      .openapi({ example: 30 }),
  })
  .strict();

export type V1FestivalsChatMutesPutRequest = z.input<typeof MuteRequestSchema>;
export type V1FestivalsChatMutesPutResponse = z.infer<typeof ChatSanctionSchema>;

const route = createRoute({
  method: "put",
  path: "/v1/festivals/{festivalId}/chat/mutes/{userId}",
  operationId: "festivalsChatMutesPut",
  tags: ["chat", "admin"],
  summary: "Mute a member in the room for some minutes (admins and this festival's staff)",
  description:
    "Their `send` frames are answered with an `error` frame `chat.muted` carrying `until`; they keep " +
    "reading. Setting it again replaces the end time.",
  security: [{ bearer: [] }],
  middleware: [requireAuth(), requireFestivalStaff()] as const,
  request: {
    params: z.object({ festivalId: IdParamSchema, userId: IdParamSchema }),
    body: { required: true, content: { "application/json": { schema: MuteRequestSchema } } },
  },
  responses: {
    200: { description: "Muted", content: { "application/json": { schema: ChatSanctionSchema } } },
    ...errorResponses(400, ...AUTH_ERRORS, ...STAFF_ERRORS, [404, "chat.room_not_found", "user.not_found"]),
  },
});

export function registerV1FestivalsChatMutesPut(app: App) {
  app.openapi(route, putSanctionHandler("mute"));
}
