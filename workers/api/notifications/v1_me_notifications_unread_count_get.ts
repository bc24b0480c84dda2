import { createRoute, type z } from "@hono/zod-openapi";
import { errorResponses } from "../../lib/errors";
import { AUTH_ERRORS, requireAuth } from "../middleware/auth";
import type { App } from "../router";
import { unreadCount } from "./inbox";
import { UnreadCountSchema } from "./schemas";

export type V1MeNotificationsUnreadCountGetResponse = z.infer<typeof UnreadCountSchema>;

const route = createRoute({
  method: "get",
  path: "/v1/me/notifications/unread-count",
  operationId: "meNotificationsUnreadCountGet",
  tags: ["notifications", "me"],
  summary: "How many of my notifications are unread (for the badge)",
  security: [{ bearer: [] }],
  middleware: [requireAuth()] as const,
  responses: {
    200: { description: "Unread count", content: { "application/json": { schema: UnreadCountSchema } } },
    ...errorResponses(...AUTH_ERRORS),
  },
});

export function registerV1MeNotificationsUnreadCountGet(app: App) {
  app.openapi(route, async (c) => {
    const n = await unreadCount(c.get("services"), c.get("user").id);
    c.header("Cache-Control", "private, no-store");
    return c.json({ unreadCount: n }, 200);
  });
}
