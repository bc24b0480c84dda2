import { createMiddleware } from "hono/factory";
import { AppError } from "../../lib/errors";
import type { Services } from "../../lib/services";
import { type AccessClaims, verifyAccessToken } from "../auth/tokens";
import type { AuthUser, HonoEnv } from "../hono-env";

export const revokedJtiKey = (s: Services, jti: string) => s.key("revoked", "jti", jti);
/** Tokens of this user issued at or before this epoch second are dead (account deleted, logout everywhere). */
export const revokedBeforeKey = (s: Services, userId: number) => s.key("revoked", "user", userId);

/**
 * The one token check: signature and expiry, then the revocation lists in Redis. The chat
 * WebSocket upgrade calls this too, with the token from the header or Sec-WebSocket-Protocol.
 */
export async function authenticate(
  token: string,
  env: Env,
  s: Services,
): Promise<AuthUser & { claims: AccessClaims }> {
  const claims = await verifyAccessToken(token, env.JWT_SECRET);
  const userId = Number(claims.sub);
  const [jtiRevoked, revokedBefore] = await s.redis.mget<(string | null)[]>(
    revokedJtiKey(s, claims.jti),
    revokedBeforeKey(s, userId),
  );
  if (jtiRevoked || (revokedBefore && claims.iat <= Number(revokedBefore))) {
    throw new AppError(401, "auth.invalid_token", "The access token is missing, expired or invalid");
  }
  return { id: userId, role: claims.role, claims };
}

export function bearerToken(header: string | undefined): string | undefined {
  const m = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
  return m?.[1];
}

/** What `requireAuth` answers, for the OpenAPI responses of the routes that use it: `errorResponses(...AUTH_ERRORS)`. */
export const AUTH_ERRORS = [[401, "auth.missing_token", "auth.invalid_token"]] as const;

export const requireAuth = () =>
  createMiddleware<HonoEnv>(async (c, next) => {
    const token = bearerToken(c.req.header("authorization"));
    if (!token)
      throw new AppError(401, "auth.missing_token", "Send an access token: Authorization: Bearer <token>");
    const user = await authenticate(token, c.env, c.get("services"));
    c.set("user", { id: user.id, role: user.role });
    c.set("claims", user.claims);
    await next();
  });

/** What `requireAdmin` answers on top of `AUTH_ERRORS`. */
export const ADMIN_ERRORS = [[403, "auth.forbidden"]] as const;

export const requireAdmin = () =>
  createMiddleware<HonoEnv>(async (c, next) => {
    if (c.get("user")?.role !== "admin") throw new AppError(403, "auth.forbidden", "Only admins may do this");
    await next();
  });
