import { createRoute, z } from "@hono/zod-openapi";
import { errorResponses } from "../../lib/errors";
import { IdParamSchema } from "../../lib/schemas";
import { AUTH_ERRORS, requireAuth } from "../middleware/auth";
import type { App } from "../router";
import { markRead } from "./inbox";
import { NotificationSchema } from "./schemas";

export type V1MeNotificationsReadPostResponse = z.infer<typeof NotificationSchema>;

const route = createRoute({
  method: "post",
  path: "/v1/me/notifications/{id}/read",
  operationId: "meNotificationsReadPost",
  tags: ["notifications", "me"],
  summary: "Mark one of my notifications read (repeating it changes nothing)",
  security: [{ bearer: [] }],
  middleware: [requireAuth()] as const,
  request: { params: z.object({ id: IdParamSchema }) },
  responses: {
    200: { description: "The notification", content: { "application/json": { schema: NotificationSchema } } },
    ...errorResponses(400, ...AUTH_ERRORS, [404, "notification.not_found"]),
  },
});

export function registerV1MeNotificationsReadPost(app: App) {
  app.openapi(route, async (c) => {
    const view = await markRead(c.get("services"), c.get("user").id, c.req.valid("param").id);
    return c.json(view, 200);
  });
}
