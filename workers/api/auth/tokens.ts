import { sign, verify } from "hono/jwt";
import { AppError } from "../../lib/errors.ts";
import { hmacKey } from "../../lib/hmac.ts";

/** The authenticated caller: the subject of an access token, set on the context by the auth middleware. */
export interface AuthUser {
  id: number;
  role: "user" | "admin";
  /** The user's session version when the token was issued (users.session_version). */
  sv?: number;
}

/** Access tokens are short-lived JWTs; refresh tokens are opaque and live in Redis (refresh-tokens.ts). */
export const ACCESS_TOKEN_TTL_SECONDS = 15 * 60;
const ISSUER = "somsom-party";

export interface AccessClaims {
  sub: string;
  role: AuthUser["role"];
  /** Session version: refused once the user's version moved past it (role, password, logout-all). */
  sv: number;
  jti: string;
  iat: number;
  exp: number;
}

export async function issueAccessToken(user: AuthUser, secret: string, now = Date.now()) {
  const iat = Math.floor(now / 1000);
  const claims: AccessClaims & { iss: string; typ: string } = {
    sub: String(user.id),
    role: user.role,
    sv: user.sv ?? 0,
    jti: crypto.randomUUID(),
    iat,
    exp: iat + ACCESS_TOKEN_TTL_SECONDS,
    iss: ISSUER,
    typ: "access",
  };
  return {
    token: await sign({ ...claims }, await hmacKey(secret), "HS256"),
    expiresAt: new Date(claims.exp * 1000),
  };
}

const invalid = () =>
  new AppError(401, "auth.invalid_token", "The access token is missing, expired or invalid");

/** Verifies signature, expiry, issuer and type; every failure is the same 401. */
export async function verifyAccessToken(token: string, secret: string): Promise<AccessClaims> {
  let payload: Record<string, unknown>;
  try {
    payload = await verify(token, await hmacKey(secret), { alg: "HS256", iss: ISSUER });
  } catch {
    throw invalid();
  }
  const { sub, role, jti, iat, exp, typ, sv = 0 } = payload;
  if (
    typ !== "access" ||
    typeof sub !== "string" ||
    (role !== "user" && role !== "admin") ||
    typeof jti !== "string" ||
    typeof iat !== "number" ||
    typeof exp !== "number" ||
    typeof sv !== "number"
  ) {
    throw invalid();
  }
  return { sub, role, sv, jti, iat, exp };
}
