import { createRoute, z } from "@hono/zod-openapi";
import { errorResponses } from "../../lib/errors";
import { AUTH_ERRORS, requireAuth } from "../middleware/auth";
import type { App } from "../router";
import { listDevices } from "./devices";
import { DeviceSchema } from "./schemas";

export const DeviceListSchema = z.object({ items: z.array(DeviceSchema) }).openapi("DeviceList");
export type V1MeDevicesGetResponse = z.infer<typeof DeviceListSchema>;

const route = createRoute({
  method: "get",
  path: "/v1/me/devices",
  operationId: "meDevicesGet",
  tags: ["notifications", "me"],
  summary: "Devices that receive my pushes (tokens FCM reported dead are already gone)",
  security: [{ bearer: [] }],
  middleware: [requireAuth()] as const,
  responses: {
    200: { description: "My devices", content: { "application/json": { schema: DeviceListSchema } } },
    ...errorResponses(...AUTH_ERRORS),
  },
});

export function registerV1MeDevicesGet(app: App) {
  app.openapi(route, async (c) => {
    c.header("Cache-Control", "private, no-store");
    return c.json({ items: await listDevices(c.get("services"), c.get("user").id) }, 200);
  });
}
