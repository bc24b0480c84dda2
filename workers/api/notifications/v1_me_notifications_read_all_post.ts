import { createRoute, z } from "@hono/zod-openapi";
import { errorResponses } from "../../lib/errors";
import { AUTH_ERRORS, requireAuth } from "../middleware/auth";
import type { App } from "../router";
import { markAllRead, unreadCount } from "./inbox";

export const ReadAllBodySchema = z
  .object({
    before: z.number().int().positive().max(Number.MAX_SAFE_INTEGER).optional().openapi({
      description: "Only up to this id (the newest one the client has shown); default: all",
    }),
  })
  .strict()
  .openapi("ReadAll");
export const ReadAllResponseSchema = z.object({ marked: z.number().int(), unreadCount: z.number().int() });

export type V1MeNotificationsReadAllPostBody = z.input<typeof ReadAllBodySchema>;
export type V1MeNotificationsReadAllPostResponse = z.infer<typeof ReadAllResponseSchema>;

const route = createRoute({
  method: "post",
  path: "/v1/me/notifications/read-all",
  operationId: "meNotificationsReadAllPost",
  tags: ["notifications", "me"],
  summary: "Mark all my notifications read",
  security: [{ bearer: [] }],
  middleware: [requireAuth()] as const,
  request: {
    body: { content: { "application/json": { schema: ReadAllBodySchema } }, required: false },
  },
  responses: {
    200: { description: "Done", content: { "application/json": { schema: ReadAllResponseSchema } } },
    ...errorResponses(400, ...AUTH_ERRORS),
  },
});

export function registerV1MeNotificationsReadAllPost(app: App) {
  app.openapi(route, async (c) => {
    const s = c.get("services");
    const userId = c.get("user").id;
    const before = c.req.valid("json")?.before;
    const marked = await markAllRead(s, userId, before);
    // Anything newer than `before` stays unread: say how much, so the badge is right at once.
    return c.json({ marked, unreadCount: before ? await unreadCount(s, userId) : 0 }, 200);
  });
}
