import { and, eq, inArray, isNull } from "drizzle-orm";
import { chatMembers } from "../../workers/db/schema/chat";
import { users } from "../../workers/db/schema/users";
import type { Services } from "../../workers/lib/services";

/**
 * The room's own look at MySQL for the users behind its open sockets: the Worker tells the room when
 * someone leaves or is demoted, but a Worker that dies between its database change and that call
 * would leave the socket open. So every socket is re-checked this often while it is open; it closes
 * when its user is neither a member nor an admin, or the account is gone.
 */
export const RECHECK_MS = 5 * 60_000;
const CHUNK = 500;

/** The users among `userIds` who may still hold a socket in the festival's room. */
export async function stillAllowed(s: Services, festivalId: number, userIds: number[]): Promise<Set<number>> {
  const allowed = new Set<number>();
  for (let i = 0; i < userIds.length; i += CHUNK) {
    const rows = await s.db
      .select({ id: users.id, role: users.role, member: chatMembers.userId })
      .from(users)
      .leftJoin(chatMembers, and(eq(chatMembers.festivalId, festivalId), eq(chatMembers.userId, users.id)))
      .where(and(inArray(users.id, userIds.slice(i, i + CHUNK)), isNull(users.deletedAt)));
    for (const r of rows) if (r.member !== null || r.role === "admin") allowed.add(r.id);
  }
  return allowed;
}
