import { and, desc, eq, lt } from "drizzle-orm";
import { chatMembers, chatRooms } from "../../db/schema/chat";
import { festivals } from "../../db/schema/festivals";
import { encodeCursor } from "../../lib/schemas";
import type { Services } from "../../lib/services";

import { roomIdOf } from "./rooms";
import type { ChatRoomList } from "./schemas";

/**
 * The user's rooms in one query over MySQL only: the summary columns are kept by the room objects,
 * so an app start costs no object calls however many rooms the user is in. Keyset on festival id.
 */
export async function listMyRooms(
  s: Services,
  userId: number,
  q: { cursor?: number; limit: number },
): Promise<ChatRoomList> {
  const rows = await s.db
    .select({
      festivalId: chatMembers.festivalId,
      readSeq: chatMembers.readSeq,
      name: festivals.title,
      memberCount: chatRooms.memberCount,
      lastSeq: chatRooms.lastSeq,
      lastMessage: chatRooms.lastMessage,
    })
    .from(chatMembers)
    .innerJoin(chatRooms, eq(chatRooms.festivalId, chatMembers.festivalId))
    .innerJoin(festivals, eq(festivals.id, chatMembers.festivalId))
    .where(and(eq(chatMembers.userId, userId), q.cursor ? lt(chatMembers.festivalId, q.cursor) : undefined))
    .orderBy(desc(chatMembers.festivalId))
    .limit(q.limit + 1);
  const page = rows.slice(0, q.limit);
  const last = page.at(-1);
  return {
    items: page.map((r) => ({
      roomId: roomIdOf(r.festivalId),
      festivalId: r.festivalId,
      name: r.name,
      memberCount: r.memberCount,
      lastSeq: r.lastSeq,
      lastMessage: r.lastMessage ?? null,
      readSeq: r.readSeq,
      // The summary is written a moment after the cursor can be, so never below zero.
      unreadCount: Math.max(0, r.lastSeq - r.readSeq),
    })),
    nextCursor: rows.length > q.limit && last ? encodeCursor(last.festivalId) : null,
  };
}
