import { and, eq, isNull } from "drizzle-orm";
import { type User, users } from "../../db/schema/users";
import { AppError } from "../../lib/errors";
import { hit, reset } from "../../lib/rate-limit";
import type { Services } from "../../lib/services";
import { DUMMY_HASH, hashPassword, verifyPassword } from "./password";
import { rotate, startFamily } from "./refresh-tokens";
import type { Profile, TokenPair } from "./schemas";
import { issueAccessToken } from "./tokens";

export const DEFAULT_REMINDER_OFFSETS_HOURS = [24, 1];

/** Brute-force bounds: failed passwords per account, and all attempts per client IP. */
export const LOGIN_LIMITS = {
  accountFailures: 10,
  ipAttempts: 100,
  windowMs: 15 * 60 * 1000,
};

const badCredentials = () => new AppError(401, "auth.invalid_credentials", "Email or password is wrong");

export async function tokensFor(s: Services, env: Env, user: Pick<User, "id" | "role">): Promise<TokenPair> {
  const access = await issueAccessToken({ id: user.id, role: user.role }, env.JWT_SECRET);
  return {
    accessToken: access.token,
    accessTokenExpiresAt: access.expiresAt.toISOString(),
    refreshToken: await startFamily(s, user.id),
    tokenType: "Bearer",
  };
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

export async function login(
  s: Services,
  env: Env,
  input: { email: string; password: string; ip: string },
): Promise<TokenPair> {
  const accountKey = s.key("rl", "login", "account", input.email);
  // Counted before the check, reset on success: parallel guesses cannot all pass a read-then-count.
  const account = await hit(s, accountKey, LOGIN_LIMITS.windowMs);
  if (account.count > LOGIN_LIMITS.accountFailures) throw throttled(account.retryAfterSeconds);
  const ip = await hit(s, s.key("rl", "login", "ip", input.ip), LOGIN_LIMITS.windowMs);
  if (ip.count > LOGIN_LIMITS.ipAttempts) throw throttled(ip.retryAfterSeconds);

  const [user] = await s.db
    .select()
    .from(users)
    .where(and(eq(users.email, input.email), isNull(users.deletedAt)))
    .limit(1);
  // Unknown emails cost one PBKDF2 run too, so timing does not tell which emails exist.
  const ok = await verifyPassword(input.password, user?.passwordHash ?? DUMMY_HASH);
  if (!user || !ok) throw badCredentials();
  await reset(s, accountKey);
  return tokensFor(s, env, user);
}

function throttled(retryAfterSeconds: number) {
  return new AppError(429, "auth.too_many_attempts", "Too many login attempts; try again later", {
    details: { retryAfterSeconds },
    headers: { "Retry-After": String(retryAfterSeconds) },
  });
}

export async function refresh(s: Services, env: Env, refreshToken: string): Promise<TokenPair> {
  const result = await rotate(s, refreshToken);
  if (result.outcome === "reuse") {
    throw new AppError(401, "auth.refresh_reused", "This refresh token was already used; sign in again");
  }
  if (result.outcome !== "ok")
    throw new AppError(401, "auth.invalid_refresh_token", "The refresh token is not valid");
  const user = await findActiveUser(s, result.userId);
  if (!user) throw new AppError(401, "auth.invalid_refresh_token", "The refresh token is not valid");
  const access = await issueAccessToken({ id: user.id, role: user.role }, env.JWT_SECRET);
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
