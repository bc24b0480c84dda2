import { createRoute, z } from "@hono/zod-openapi";
import { errorResponses } from "../../lib/errors";
import { AUTH_ERRORS, requireAuth, revokedJtiKey } from "../middleware/auth";
import type { App } from "../router";
import { revokeFamilyOf } from "./refresh-tokens";

const LogoutRequestSchema = z.object({ refreshToken: z.string().min(1).max(200).optional() }).strict();

export type V1AuthLogoutRequest = z.input<typeof LogoutRequestSchema>;

const route = createRoute({
  method: "post",
  path: "/v1/auth/logout",
  operationId: "authLogout",
  tags: ["auth"],
  summary: "Revoke the access token and, when given, the refresh token's family",
  security: [{ bearer: [] }],
  middleware: [requireAuth()] as const,
  request: { body: { required: false, content: { "application/json": { schema: LogoutRequestSchema } } } },
  responses: {
    204: { description: "Logged out" },
    ...errorResponses(400, ...AUTH_ERRORS),
  },
});

export function registerV1AuthLogout(app: App) {
  app.openapi(route, async (c) => {
    const s = c.get("services");
    const { jti, exp } = c.get("claims");
    const ttl = Math.max(1, exp - Math.floor(Date.now() / 1000));
    await s.redis.set(revokedJtiKey(s, jti), "1", { ex: ttl });
    const body = c.req.valid("json");
    if (body?.refreshToken) await revokeFamilyOf(s, body.refreshToken, c.get("user").id);
    return c.body(null, 204);
  });
}
