import { and, eq, isNull } from "drizzle-orm";
import { type User, users } from "../../db/schema/users";
import { AppError } from "../../lib/errors";
import type { Logger } from "../../lib/logger";
import { enforce, type LimitPolicy } from "../../lib/rate-limit";
import type { Services } from "../../lib/services";
import { DUMMY_HASH, hashPassword, verifyPassword } from "./password";
import { revokeFamily, rotate, startFamily } from "./refresh-tokens";
import type { Profile, TokenPair } from "./schemas";
import { securityEvent } from "./security-events";
import { startPasswordAttempt } from "./throttle";
import { issueAccessToken } from "./tokens";

export const DEFAULT_REMINDER_OFFSETS_HOURS = [24, 1];

/**
 * Sign-up limits. Per IP: a festival Wi-Fi or carrier NAT shares an address among many people, so
 * 60 per 10 minutes (one every 10 s, sustained) rather than a handful; globally 1,200 a minute, far
 * above a sale-day rush of new accounts but a hard ceiling on mass account creation. Both "open"
 * when Redis is down: they bound abuse, and sign-up stays correct without them.
 */
export const SIGNUP_PER_IP: LimitPolicy = {
  name: "signup-ip",
  limit: 60,
  window: "10 m",
  onRedisDown: "open",
};
export const SIGNUP_GLOBAL: LimitPolicy = {
  name: "signup-all",
  limit: 1200,
  window: "1 m",
  onRedisDown: "open",
};

const badCredentials = () => new AppError(401, "auth.invalid_credentials", "Email or password is wrong");

export async function tokensFor(
  s: Services,
  env: Env,
  user: Pick<User, "id" | "role" | "sessionVersion">,
): Promise<TokenPair> {
  const access = await issueAccessToken(
    { id: user.id, role: user.role, sv: user.sessionVersion },
    env.JWT_SECRET,
  );
  return {
    accessToken: access.token,
    accessTokenExpiresAt: access.expiresAt.toISOString(),
    refreshToken: await startFamily(s, user.id, user.sessionVersion),
    tokenType: "Bearer",
  };
}

/**
 * Sign-up is throttled per IP (when the address is known) and globally, before any work.
 *
 * A taken email still answers 409 `auth.email_taken`. Without an email channel (no verification
 * mail exists in this product) no answer can hide whether an address has an account: sign-up signs
 * the new account in, so a generic "accepted" reply would only move the tell to the login that must
 * follow it (200 for a new account, 401 for a taken one), and would break every client's
 * sign-up-then-signed-in flow. What bounds enumeration is therefore the rate: these limits here, and
 * the per-IP failure limit on login. The existing account is never touched by a sign-up attempt.
 */
export async function signUp(
  s: Services,
  log: Logger,
  input: { email: string; password: string; nickname: string; ip: string | undefined },
): Promise<User> {
  if (input.ip) await enforce(s, log, SIGNUP_PER_IP, `ip:${input.ip}`);
  await enforce(s, log, SIGNUP_GLOBAL, "all");
  // Role is never taken from the request: sign-up makes users only (admins: npm run admin:create).
  return createUser(s, { email: input.email, password: input.password, nickname: input.nickname });
}

export async function createUser(
  s: Services,
  input: { email: string; password: string; nickname: string; role?: User["role"] },
): Promise<User> {
  const passwordHash = await hashPassword(input.password);
  try {
    const [inserted] = await s.db
      .insert(users)
      .values({
        email: input.email,
        nickname: input.nickname,
        passwordHash,
        role: input.role ?? "user",
        reminderOffsetsHours: DEFAULT_REMINDER_OFFSETS_HOURS,
      })
      .$returningId();
    const user = await findActiveUser(s, (inserted as { id: number }).id);
    if (!user) throw new Error("user vanished right after insert");
    return user;
  } catch (err) {
    if (isDuplicateKey(err))
      throw new AppError(409, "auth.email_taken", "An account with this email already exists");
    throw err;
  }
}

export function isDuplicateKey(err: unknown): boolean {
  const text = `${err instanceof Error ? err.message : ""} ${String((err as { cause?: unknown })?.cause ?? "")}`;
  return /Duplicate entry|ER_DUP_ENTRY|\b1062\b/.test(text);
}

export async function findActiveUser(s: Services, id: number): Promise<User | undefined> {
  const [user] = await s.db
    .select()
    .from(users)
    .where(and(eq(users.id, id), isNull(users.deletedAt)))
    .limit(1);
  return user;
}

/**
 * Checks a password under the guessing limits (workers/api/auth/throttle.ts). Unknown emails cost
 * one PBKDF2 run too, so timing does not tell which emails exist. Every refusal is the same 401.
 */
export async function checkPassword(
  s: Services,
  log: Logger,
  input: { email: string; password: string; ip: string | undefined; actorId?: number },
): Promise<User> {
  const attempt = await startPasswordAttempt(s, input.email, input.ip).catch((err: unknown) => {
    securityEvent(log, "login.throttled", { actorId: input.actorId, ip: input.ip });
    throw err;
  });
  const [user] = await s.db
    .select()
    .from(users)
    .where(and(eq(users.email, input.email), isNull(users.deletedAt)))
    .limit(1);
  const ok = await verifyPassword(input.password, user?.passwordHash ?? DUMMY_HASH);
  if (!user || !ok) {
    securityEvent(log, "login.failed", { actorId: input.actorId, ip: input.ip, targetId: user?.id });
    throw badCredentials();
  }
  await attempt.succeeded();
  return user;
}

export async function login(
  s: Services,
  env: Env,
  log: Logger,
  input: { email: string; password: string; ip: string | undefined },
): Promise<TokenPair> {
  return tokensFor(s, env, await checkPassword(s, log, input));
}

const invalidRefresh = () =>
  new AppError(401, "auth.invalid_refresh_token", "The refresh token is not valid");

export async function refresh(
  s: Services,
  env: Env,
  log: Logger,
  input: { refreshToken: string; ip: string | undefined },
): Promise<TokenPair> {
  const result = await rotate(s, env.JWT_SECRET, input.refreshToken);
  if (result.outcome === "reuse") {
    securityEvent(log, "refresh.reused", { ip: input.ip, targetId: result.userId });
    throw new AppError(401, "auth.refresh_reused", "This refresh token was already used; sign in again");
  }
  if (result.outcome !== "ok") throw invalidRefresh();
  const user = await findActiveUser(s, result.userId);
  // MySQL's session version is the authority: a family from before a password or role change (or a
  // logout everywhere) is dead even if its Redis revocation was lost.
  if (!user || user.sessionVersion !== result.sessionVersion) {
    await revokeFamily(s, result.familyId);
    throw invalidRefresh();
  }
  const access = await issueAccessToken(
    { id: user.id, role: user.role, sv: user.sessionVersion },
    env.JWT_SECRET,
  );
  return {
    accessToken: access.token,
    accessTokenExpiresAt: access.expiresAt.toISOString(),
    refreshToken: result.refreshToken,
    tokenType: "Bearer",
  };
}

export function toProfile(user: User): Profile {
  return {
    id: user.id,
    email: user.email,
    nickname: user.nickname,
    role: user.role,
    notifications: {
      reminders: user.notifyReminders,
      reminderOffsetsHours: user.reminderOffsetsHours,
      chat: user.notifyChat,
      festivalUpdates: user.notifyFestivalUpdates,
    },
    createdAt: user.createdAt.toISOString(),
  };
}
