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

/** What other areas do when an account goes away (cancel reservations, leave rooms...). */
export type AccountDeletionHook = (s: Services, userId: number) => Promise<void>;
const deletionHooks: AccountDeletionHook[] = [];
export const onAccountDeleted = (hook: AccountDeletionHook) => deletionHooks.push(hook);

/**
 * Deleting keeps the row (chat history and reservations refer to it) but erases what identifies the
 * person: email, nickname and password hash. Tokens die at once through the revoked-before mark.
 */
export async function deleteAccount(s: Services, userId: number): Promise<void> {
  await requireActiveUser(s, userId);
  for (const hook of deletionHooks) await hook(s, userId);
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
