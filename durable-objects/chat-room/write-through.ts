import { and, eq, inArray, lt, type SQL, sql } from "drizzle-orm";
import { chatMembers, chatRooms } from "../../workers/db/schema/chat";
import type { Services } from "../../workers/lib/services";
import type { ChatMessage } from "./contract/protocol";
import { publishUnreadEvent } from "./contract/unread-events";
import type { RoomModeration } from "./moderation";
import type { RoomStore } from "./store";

/**
 * What a ChatRoom object writes back to MySQL and Redis, from its alarm, debounced: the room list
 * (GET /v1/me/chat-rooms) then never needs to ask the objects, and the unread pushes only ask which
 * of the members they page through are online.
 */

/** A burst of messages costs one write per room per this interval, not one per message. */
export const FLUSH_DELAY_MS = 1000;
export const FLUSH_RETRY_MS = 10_000;
const CURSOR_CHUNK = 500;

export async function flushRoom(s: Services, store: RoomStore, moderation?: RoomModeration): Promise<void> {
  const room = store.state();
  if (!room) return;
  const cursors = store.unflushedCursors();
  const newest = store.lastMessage();
  // Summaries and pushes show what readers see: a deleted message's text never leaves the room.
  const last = newest && moderation ? moderation.present([newest])[0] : newest;
  const summaryDue = last !== undefined && room.lastSeq > room.summarySeq;
  await Promise.all([
    writeCursors(s, room.festivalId, cursors),
    summaryDue ? writeSummary(s, room.festivalId, last) : undefined,
  ]);
  store.markCursorsFlushed(cursors);
  if (summaryDue) store.markSummaryFlushed(last.seq);

  if (last && room.lastSeq > room.notifiedSeq) {
    const announcement = moderation?.announcementIn(room.notifiedSeq + 1, last.seq);
    await publishUnreadEvent(s, {
      ...(announcement ? { announcement } : {}),
      roomId: String(room.festivalId),
      festivalId: room.festivalId,
      fromSeq: room.notifiedSeq + 1,
      toSeq: last.seq,
      lastMessage: last,
      at: new Date().toISOString(),
    });
    store.markNotified(last.seq);
  }
}

/** One UPDATE per chunk; GREATEST keeps a cursor from moving back, and left members match nothing. */
async function writeCursors(s: Services, festivalId: number, cursors: { userId: number; readSeq: number }[]) {
  for (let i = 0; i < cursors.length; i += CURSOR_CHUNK) {
    const chunk = cursors.slice(i, i + CURSOR_CHUNK);
    const cases: SQL[] = chunk.map((c) => sql`WHEN ${c.userId} THEN ${c.readSeq}`);
    await s.db
      .update(chatMembers)
      .set({
        readSeq: sql`GREATEST(${chatMembers.readSeq}, CASE ${chatMembers.userId} ${sql.join(cases, sql` `)} END)`,
      })
      .where(
        and(
          eq(chatMembers.festivalId, festivalId),
          inArray(
            chatMembers.userId,
            chunk.map((c) => c.userId),
          ),
        ),
      );
  }
}

async function writeSummary(s: Services, festivalId: number, last: ChatMessage) {
  await s.db
    .update(chatRooms)
    .set({ lastSeq: last.seq, lastMessage: last })
    .where(and(eq(chatRooms.festivalId, festivalId), lt(chatRooms.lastSeq, last.seq)));
}
