import { createRoute, type z } from "@hono/zod-openapi";
import { errorResponses } from "../../lib/errors";
import { AUTH_ERRORS, requireAuth } from "../middleware/auth";
import type { App } from "../router";
import { unregisterDevice } from "./devices";
import { DeviceDeleteSchema } from "./schemas";

export type V1MeDevicesDeleteBody = z.input<typeof DeviceDeleteSchema>;

const route = createRoute({
  method: "delete",
  path: "/v1/me/devices",
  operationId: "meDevicesDelete",
  tags: ["notifications", "me"],
  summary: "Stop pushes to this device (on sign-out); unknown tokens are fine",
  security: [{ bearer: [] }],
  middleware: [requireAuth()] as const,
  request: { body: { content: { "application/json": { schema: DeviceDeleteSchema } }, required: true } },
  responses: {
    204: { description: "Not registered (any more)" },
    ...errorResponses(400, ...AUTH_ERRORS),
  },
});

export function registerV1MeDevicesDelete(app: App) {
  app.openapi(route, async (c) => {
    await unregisterDevice(c.get("services"), c.get("user").id, c.req.valid("json").token);
    return c.body(null, 204);
  });
}
