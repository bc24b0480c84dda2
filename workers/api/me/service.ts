import { eq } from "drizzle-orm";
import { users } from "../../db/schema/users";
import { AppError } from "../../lib/errors";
import type { Services } from "../../lib/services";
import { revokeAllFamilies } from "../auth/refresh-tokens";
import { findActiveUser } from "../auth/service";
import { revokedBeforeKey } from "../middleware/auth";

export const DELETED_NICKNAME = "(탈퇴한 사용자)";

export async function requireActiveUser(s: Services, id: number) {
  const user = await findActiveUser(s, id);
  if (!user) throw new AppError(404, "user.not_found", "This account no longer exists");
  return user;
}

/**
 * Deleting keeps the row (chat history and reservations refer to it) but erases what identifies the
 * person: email, nickname and password hash. Tokens die at once through the revoked-before mark.
 * `cleanUp` is what other areas do first (runAccountDeletedHooks in workers/api/hooks.ts, passed in
 * by the route: that list imports this module); a failure there leaves the account to retry.
 */
export async function deleteAccount(
  s: Services,
  userId: number,
  cleanUp: (s: Services, userId: number) => Promise<void>,
): Promise<void> {
  await requireActiveUser(s, userId);
  await cleanUp(s, userId);
  await s.db
    .update(users)
    .set({
      email: `deleted-${userId}-${crypto.randomUUID()}@deleted.invalid`,
      nickname: DELETED_NICKNAME,
      passwordHash: "!",
      deletedAt: new Date(),
    })
    .where(eq(users.id, userId));
  await s.redis.set(revokedBeforeKey(s, userId), String(Math.floor(Date.now() / 1000)), {
    ex: 24 * 3600,
  });
  await revokeAllFamilies(s, userId);
}
