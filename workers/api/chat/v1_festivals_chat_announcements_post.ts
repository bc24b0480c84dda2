import { createRoute, z } from "@hono/zod-openapi";
import { ChatMessageSchema } from "../../../durable-objects/chat-room/contract/protocol";
import { errorResponses } from "../../lib/errors";
import { IdempotencyHeaderSchema, IdParamSchema } from "../../lib/schemas";
import { AUTH_ERRORS, requireAuth, requireFestivalStaff, STAFF_ERRORS } from "../middleware/auth";
import { IDEMPOTENCY_ERRORS, idempotent } from "../middleware/idempotency";
import type { App } from "../router";
import { announce } from "./moderation";

const AnnouncementRequestSchema = z
  .object({ text: z.string().max(4000).openapi({ example: "오늘 입장은 2번 게이트로 바뀌었습니다." }) })
  .strict();

export type V1FestivalsChatAnnouncementsPostRequest = z.input<typeof AnnouncementRequestSchema>;
export type V1FestivalsChatAnnouncementsPostResponse = z.infer<typeof ChatMessageSchema>;

const route = createRoute({
  method: "post",
  path: "/v1/festivals/{festivalId}/chat/announcements",
  operationId: "festivalsChatAnnouncementsPost",
  tags: ["chat", "admin"],
  summary: "Post an organiser's announcement into the festival's room (admins and this festival's staff)",
  description:
    'It is a message of the room with `kind: "announcement"`, pinned (the welcome frame\'s `pinned` ' +
    "and GET /v1/festivals/{festivalId}/chat/pinned carry it until the next one), and pushed to the " +
    "members who are offline, past the chat's batching window. Text: 1 to 1,000 characters, cleaned " +
    "like a message.",
  security: [{ bearer: [] }],
  middleware: [requireAuth(), requireFestivalStaff(), idempotent("chat.announcements.create")] as const,
  request: {
    params: z.object({ festivalId: IdParamSchema }),
    headers: IdempotencyHeaderSchema,
    body: { required: true, content: { "application/json": { schema: AnnouncementRequestSchema } } },
  },
  responses: {
    201: { description: "Posted", content: { "application/json": { schema: ChatMessageSchema } } },
    ...errorResponses(400, ...AUTH_ERRORS, ...STAFF_ERRORS, ...IDEMPOTENCY_ERRORS, [
      404,
      "chat.room_not_found",
    ]),
  },
});

export function registerV1FestivalsChatAnnouncementsPost(app: App) {
  app.openapi(route, async (c) => {
    const message = await announce(
      c.get("services"),
      c.req.valid("param").festivalId,
      c.get("user").id,
      c.req.valid("json").text,
    );
    return c.json(message, 201);
  });
}
