import { createRoute, type z } from "@hono/zod-openapi";
import { errorResponses } from "../../lib/errors";
import { AUTH_ERRORS, requireAuth } from "../middleware/auth";
import type { App } from "../router";
import { registerDevice } from "./devices";
import { DeviceRegisterSchema, DeviceSchema } from "./schemas";

export type V1MeDevicesPostBody = z.input<typeof DeviceRegisterSchema>;
export type V1MeDevicesPostResponse = z.infer<typeof DeviceSchema>;

const route = createRoute({
  method: "post",
  path: "/v1/me/devices",
  operationId: "meDevicesPost",
  tags: ["notifications", "me"],
  summary: "Register this device's FCM registration token for push (repeat on every app start)",
  security: [{ bearer: [] }],
  middleware: [requireAuth()] as const,
  request: { body: { content: { "application/json": { schema: DeviceRegisterSchema } }, required: true } },
  responses: {
    200: {
      description: "Already registered: refreshed",
      content: { "application/json": { schema: DeviceSchema } },
    },
    201: { description: "Registered", content: { "application/json": { schema: DeviceSchema } } },
    ...errorResponses(400, ...AUTH_ERRORS),
  },
});

export function registerV1MeDevicesPost(app: App) {
  app.openapi(route, async (c) => {
    const { token, platform } = c.req.valid("json");
    const { device, created } = await registerDevice(c.get("services"), c.get("user").id, token, platform);
    return created ? c.json(device, 201) : c.json(device, 200);
  });
}
