import { and, eq } from "drizzle-orm";
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { festivalStaff } from "../../db/schema/users";
import { AppError } from "../../lib/errors";
import type { Services } from "../../lib/services";
import { securityEvent } from "../auth/security-events";
import { sessionVersionKey } from "../auth/sessions";
import { type AccessClaims, verifyAccessToken } from "../auth/tokens";
import type { AuthUser, HonoEnv } from "../hono-env";

export const revokedJtiKey = (s: Services, jti: string) => s.key("revoked", "jti", jti);

/**
 * The one token check: signature and expiry, then in one MGET the jti deny list (logout) and the
 * user's session version (raised by logout everywhere, a password or role change and deletion, so
 * a demoted admin's or a deleted user's token stops at the next request, not 15 minutes later). The chat
 * WebSocket upgrade calls this too, with the token from the header or Sec-WebSocket-Protocol.
 */
export async function authenticate(
  token: string,
  env: Env,
  s: Services,
): Promise<AuthUser & { claims: AccessClaims }> {
  const claims = await verifyAccessToken(token, env.JWT_SECRET);
  const userId = Number(claims.sub);
  const [jtiRevoked, sessionVersion] = await s.redis.mget<(string | null)[]>(
    revokedJtiKey(s, claims.jti),
    sessionVersionKey(s, userId),
  );
  if (jtiRevoked || (sessionVersion && claims.sv < Number(sessionVersion))) {
    throw new AppError(401, "auth.invalid_token", "The access token is missing, expired or invalid");
  }
  return { id: userId, role: claims.role, sv: claims.sv, claims };
}

export function bearerToken(header: string | undefined): string | undefined {
  const m = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
  return m?.[1];
}

/** The request's bearer token, or the 401 that both token middlewares answer without one. */
function requireBearer(c: Context<HonoEnv>): string {
  const token = bearerToken(c.req.header("authorization"));
  if (!token)
    throw new AppError(401, "auth.missing_token", "Send an access token: Authorization: Bearer <token>");
  return token;
}

/** What `requireAuth` answers, for the OpenAPI responses of the routes that use it: `errorResponses(...AUTH_ERRORS)`. */
export const AUTH_ERRORS = [[401, "auth.missing_token", "auth.invalid_token"]] as const;

export const requireAuth = () =>
  createMiddleware<HonoEnv>(async (c, next) => {
    const token = requireBearer(c);
    const user = await authenticate(token, c.env, c.get("services"));
    c.set("user", { id: user.id, role: user.role, sv: user.sv });
    c.set("claims", user.claims);
    await next();
  });

/**
 * The token's signature and expiry only (no I/O), for a sale-day route whose own Redis script runs
 * `authenticate`'s Redis half (middleware/script-guard.ts). Sets `claims`; the route sets `user`
 * once its script passed.
 */
export const requireSignedToken = () =>
  createMiddleware<HonoEnv>(async (c, next) => {
    const token = requireBearer(c);
    c.set("claims", await verifyAccessToken(token, c.env.JWT_SECRET));
    await next();
  });

/** What `requireAdmin` answers on top of `AUTH_ERRORS`. */
export const ADMIN_ERRORS = [[403, "auth.forbidden"]] as const;

/** Every admin action and every refused admin request is a security event (actor, address, request line, status). */
export const requireAdmin = () =>
  createMiddleware<HonoEnv>(async (c, next) => {
    const event = {
      actorId: c.get("user")?.id,
      ip: c.req.header("cf-connecting-ip"),
      method: c.req.method,
      path: new URL(c.req.url).pathname,
    };
    if (c.get("user")?.role !== "admin") {
      securityEvent(c.get("logger"), "admin.denied", event);
      throw new AppError(403, "auth.forbidden", "Only admins may do this");
    }
    await next();
    // Actions only: the sale-day dashboard polls admin reads every few seconds.
    // Hono answers a handler's error (app.onError) before control returns here: c.res is the answer.
    if (c.req.method !== "GET" && c.req.method !== "HEAD")
      securityEvent(c.get("logger"), "admin.action", { ...event, status: c.res.status });
  });

/** What `requireFestivalStaff` answers on top of `AUTH_ERRORS`. */
export const STAFF_ERRORS = [[403, "auth.forbidden"]] as const;

/**
 * Admins, or staff of the festival in the `festivalId` path parameter (a festival-scoped grant, see
 * workers/api/auth/staff.ts). The grant is read from MySQL on each request, so a revoked one stops
 * at once; the gate's check-in does a MySQL write anyway, so one indexed read more is cheap.
 */
export const requireFestivalStaff = () =>
  createMiddleware<HonoEnv>(async (c, next) => {
    const user = c.get("user");
    if (user?.role !== "admin") {
      const festivalId = Number(c.req.param("festivalId"));
      const [grant] =
        user && Number.isSafeInteger(festivalId) && festivalId > 0
          ? await c
              .get("services")
              .db.select({ userId: festivalStaff.userId })
              .from(festivalStaff)
              .where(and(eq(festivalStaff.festivalId, festivalId), eq(festivalStaff.userId, user.id)))
              .limit(1)
          : [];
      if (!grant)
        throw new AppError(403, "auth.forbidden", "Only admins and this festival's staff may do this");
    }
    await next();
  });
