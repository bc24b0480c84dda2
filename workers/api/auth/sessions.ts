import { eq, sql } from "drizzle-orm";
import { type NewUser, users } from "../../db/schema/users";
import { scriptOf } from "../../lib/redis-scripts";
import type { Services } from "../../lib/services";
import { revokeAllFamilies } from "./refresh-tokens";
import { RAISE_SESSION_VERSION, SESSION_VERSION_TTL_MS, sessionVersionKeyParts } from "./session-version";

export const sessionVersionKey = (s: Services, userId: number) => s.key(...sessionVersionKeyParts(userId));

/**
 * Ends every session of a user at once: the version goes up in MySQL (refresh checks it there, so a
 * family issued before cannot be rotated even if the Redis revocation below were lost), then its
 * copy in Redis (every authenticated request checks that one), then the families are marked
 * revoked. `change` is written in the same UPDATE (a new password hash): no moment exists where the
 * new password is in force and an old session is not yet dead. Callers run the sessions-revoked
 * hooks (workers/api/hooks.ts) afterwards.
 */
export async function revokeAllSessions(
  s: Services,
  userId: number,
  change: Partial<Pick<NewUser, "passwordHash">> = {},
): Promise<number> {
  await s.db
    .update(users)
    .set({ ...change, sessionVersion: sql`${users.sessionVersion} + 1` })
    .where(eq(users.id, userId));
  const [row] = await s.db
    .select({ version: users.sessionVersion })
    .from(users)
    .where(eq(users.id, userId))
    .limit(1);
  const version = row?.version ?? 0;
  await scriptOf(s.redis, RAISE_SESSION_VERSION).exec(
    [sessionVersionKey(s, userId)],
    [String(version), String(SESSION_VERSION_TTL_MS)],
  );
  await revokeAllFamilies(s, userId);
  return version;
}
