import { eq } from "drizzle-orm";
import { users } from "../../db/schema/users";
import { AppError } from "../../lib/errors";
import type { Logger } from "../../lib/logger";
import type { Services } from "../../lib/services";
import { hashPassword } from "../auth/password";
import { checkPassword, findActiveUser } from "../auth/service";
import { revokeAllSessions } from "../auth/sessions";

export const DELETED_NICKNAME = "(탈퇴한 사용자)";

export async function requireActiveUser(s: Services, id: number) {
  const user = await findActiveUser(s, id);
  if (!user) throw new AppError(404, "user.not_found", "This account no longer exists");
  return user;
}

/**
 * A stolen 15-minute access token must not be enough to delete an account: the password is asked
 * again, under the same guessing limits as login. A wrong one is 403, not 401, so a client does not
 * take it for an expired token and refresh in a loop.
 */
export async function confirmPassword(
  s: Services,
  log: Logger,
  userId: number,
  password: string,
  ip: string | undefined,
): Promise<void> {
  const user = await requireActiveUser(s, userId);
  try {
    await checkPassword(s, log, { email: user.email, password, ip, actorId: userId });
  } catch (err) {
    if (err instanceof AppError && err.code === "auth.invalid_credentials")
      throw new AppError(403, "auth.wrong_password", "The password is wrong");
    throw err;
  }
}

/**
 * Deleting keeps the row (chat history and reservations refer to it) but erases what identifies the
 * person: email, nickname and password hash. Every session ends before anything else happens, so the
 * deleted user can do nothing more (reserve, chat) while the clean-up runs; a login racing the
 * deletion is ended by the second revocation after the row is anonymised. `cleanUp` is what other
 * areas do first (runAccountDeletedHooks in workers/api/hooks.ts, passed in by the route: that list
 * imports this module); a failure there leaves the account to retry (after signing in again).
 */
export async function deleteAccount(
  s: Services,
  userId: number,
  hooks: {
    sessionsRevoked: (s: Services, userId: number) => Promise<void>;
    cleanUp: (s: Services, userId: number) => Promise<void>;
  },
): Promise<void> {
  await requireActiveUser(s, userId);
  await revokeAllSessions(s, userId);
  await hooks.sessionsRevoked(s, userId);
  await hooks.cleanUp(s, userId);
  await s.db
    .update(users)
    .set({
      email: `deleted-${userId}-${crypto.randomUUID()}@deleted.invalid`,
      nickname: DELETED_NICKNAME,
      passwordHash: "!",
      deletedAt: new Date(),
    })
    .where(eq(users.id, userId));
  await revokeAllSessions(s, userId);
}

/**
 * A new password ends every session (a thief who had one loses it with the old password), in the
 * same UPDATE that stores the new hash; the caller gets a fresh session (the route issues it).
 */
export async function changePassword(
  s: Services,
  log: Logger,
  userId: number,
  input: { currentPassword: string; newPassword: string; ip: string | undefined },
) {
  await confirmPassword(s, log, userId, input.currentPassword, input.ip);
  await revokeAllSessions(s, userId, { passwordHash: await hashPassword(input.newPassword) });
  return requireActiveUser(s, userId);
}
