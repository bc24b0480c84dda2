import { createRoute, type z } from "@hono/zod-openapi";
import { errorResponses } from "../../lib/errors";
import { AUTH_ERRORS, requireAuth } from "../middleware/auth";
import type { App } from "../router";
import { listInbox } from "./inbox";
import { NotificationListQuerySchema, NotificationListSchema } from "./schemas";

export type V1MeNotificationsGetQuery = z.input<typeof NotificationListQuerySchema>;
export type V1MeNotificationsGetResponse = z.infer<typeof NotificationListSchema>;

const route = createRoute({
  method: "get",
  path: "/v1/me/notifications",
  operationId: "meNotificationsGet",
  tags: ["notifications", "me"],
  summary: "My notification inbox, newest first, with the unread count",
  security: [{ bearer: [] }],
  middleware: [requireAuth()] as const,
  request: { query: NotificationListQuerySchema },
  responses: {
    200: { description: "One page", content: { "application/json": { schema: NotificationListSchema } } },
    ...errorResponses(400, ...AUTH_ERRORS),
  },
});

export function registerV1MeNotificationsGet(app: App) {
  app.openapi(route, async (c) => {
    const page = await listInbox(c.get("services"), c.get("user").id, c.req.valid("query"));
    c.header("Cache-Control", "private, no-store");
    return c.json(page, 200);
  });
}
