import { createRoute, z } from "@hono/zod-openapi";
import { errorResponses } from "../../lib/errors";
import { IdParamSchema } from "../../lib/schemas";
import type { App } from "../app";
import { requireAuth } from "../middleware/auth";
import { markRead } from "./inbox";
import { NotificationSchema } from "./schemas";

export type V1MeNotificationsReadPostResponse = z.infer<typeof NotificationSchema>;

const route = createRoute({
  method: "post",
  path: "/v1/me/notifications/{id}/read",
  tags: ["notifications", "me"],
  summary: "Mark one of my notifications read (repeating it changes nothing)",
  security: [{ bearer: [] }],
  middleware: [requireAuth()] as const,
  request: { params: z.object({ id: IdParamSchema }) },
  responses: {
    200: { description: "The notification", content: { "application/json": { schema: NotificationSchema } } },
    400: errorResponses[400],
    401: errorResponses[401],
    404: errorResponses[404],
  },
});

export function registerV1MeNotificationsReadPost(app: App) {
  app.openapi(route, async (c) => {
    const view = await markRead(c.get("services"), c.get("user").id, c.req.valid("param").id);
    return c.json(view, 200);
  });
}
