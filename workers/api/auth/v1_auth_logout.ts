import { createRoute, z } from "@hono/zod-openapi";
import { errorResponses } from "../../lib/errors";
import { closeChatSocketsOf } from "../chat/rooms";
import { runSessionsRevokedHooks } from "../hooks";
import { AUTH_ERRORS, requireAuth, revokedJtiKey } from "../middleware/auth";
import type { App } from "../router";
import { revokeFamilyOf } from "./refresh-tokens";
import { securityEvent } from "./security-events";
import { revokeAllSessions } from "./sessions";

const LogoutRequestSchema = z
  .object({
    refreshToken: z.string().min(1).max(200).optional(),
    /** Ends every session of the account: all refresh families and every access token at once. */
    everywhere: z.boolean().optional(),
  })
  .strict();

export type V1AuthLogoutRequest = z.input<typeof LogoutRequestSchema>;

const route = createRoute({
  method: "post",
  path: "/v1/auth/logout",
  operationId: "authLogout",
  tags: ["auth"],
  summary:
    "Revoke the access token and, when given, the refresh token's family; `everywhere` ends every session",
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
    const userId = c.get("user").id;
    if (body?.refreshToken) await revokeFamilyOf(s, body.refreshToken, userId);
    if (body?.everywhere) {
      await revokeAllSessions(s, userId);
      securityEvent(c.get("logger"), "sessions.revoked", {
        actorId: userId,
        targetId: userId,
        ip: c.req.header("cf-connecting-ip"),
        reason: "logout_everywhere",
      });
      await runSessionsRevokedHooks(s, userId, c.get("logger"));
    } else {
      // The chat sockets opened with this token close now, not when it expires.
      await closeChatSocketsOf(s, userId, jti).catch((error: unknown) =>
        c.get("logger").error("closing chat sockets after logout failed", { userId, error }),
      );
    }
    return c.body(null, 204);
  });
}
