import { createRoute, type z } from "@hono/zod-openapi";
import { errorResponses } from "../../lib/errors";
import type { App } from "../app";
import { requireAuth } from "../middleware/auth";
import { unregisterDevice } from "./devices";
import { DeviceDeleteSchema } from "./schemas";

export type V1MeDevicesDeleteBody = z.input<typeof DeviceDeleteSchema>;

const route = createRoute({
  method: "delete",
  path: "/v1/me/devices",
  tags: ["notifications", "me"],
  summary: "Stop pushes to this device (on sign-out); unknown tokens are fine",
  security: [{ bearer: [] }],
  middleware: [requireAuth()] as const,
  request: { body: { content: { "application/json": { schema: DeviceDeleteSchema } }, required: true } },
  responses: {
    204: { description: "Not registered (any more)" },
    400: errorResponses[400],
    401: errorResponses[401],
  },
});

export function registerV1MeDevicesDelete(app: App) {
  app.openapi(route, async (c) => {
    await unregisterDevice(c.get("services"), c.get("user").id, c.req.valid("json").token);
    return c.body(null, 204);
  });
}
