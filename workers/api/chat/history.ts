import { and, inArray, isNotNull } from "drizzle-orm";
import { type ChatMessage, itemToMessage } from "../../../durable-objects/chat-room/contract/protocol";
import { users } from "../../db/schema/users";
import { isDynamoError } from "../../lib/dynamo.ts";
import { AppError } from "../../lib/errors";
import type { Services } from "../../lib/services";
import { DELETED_NICKNAME } from "../me/service";
import { roomIdOf, roomStub } from "./rooms";
import type { ChatMessagePage } from "./schemas";

/**
 * Chat history = DynamoDB + the room's not-yet-persisted tail. The room object holds every seq from
 * `heldFrom` to its last seq (the recent buffer, plus the outbox rows DynamoDB may not have yet), and
 * everything below `heldFrom` is in DynamoDB. A page takes what it can from the object and the rest
 * from DynamoDB strictly below it: seqs are dense, so the two parts neither overlap nor leave a gap.
 * The object's half is durable-objects/chat-room/tail.ts.
 */

export async function readHistory(
  s: Services,
  env: Env,
  festivalId: number,
  q: { before?: number | undefined; limit: number },
): Promise<ChatMessagePage> {
  const before = q.before ?? Number.MAX_SAFE_INTEGER;
  const room = roomStub(festivalId, env.CHAT_ROOM);
  const tail = await room.history(before, q.limit);
  const items = tail.items;
  let reachedStart = false;
  const below = Math.min(before, tail.heldFrom);
  if (items.length < q.limit && below > 1) {
    try {
      const page = await s.dynamo.queryPage({
        table: env.DYNAMO_TABLE,
        roomId: roomIdOf(festivalId),
        beforeSeq: below,
        limit: q.limit - items.length,
        // The room drops its copy right after the consumer's write; the page must see that write.
        consistentRead: true,
      });
      items.push(...(await withTombstones(room, page.items.map(itemToMessage))));
      reachedStart = page.nextBeforeSeq === undefined;
    } catch (error) {
      if (!isDynamoError(error)) throw error;
      throw new AppError(
        503,
        "chat.history_unavailable",
        "Older messages cannot be loaded right now; retry shortly",
        { headers: { "Retry-After": "5" } },
      );
    }
  }
  const oldest = items.at(-1)?.seq;
  return {
    items: await withCurrentNames(s, items),
    nextCursor: oldest !== undefined && oldest > 1 && !reachedStart ? String(oldest) : null,
  };
}

/**
 * DynamoDB keeps a deleted message's original (audit); the room knows which seqs staff deleted, and
 * the page shows those as tombstones. A room of the previous version has no deletedIn (and so no
 * deletions): its pages are shown as they are.
 */
async function withTombstones(
  room: ReturnType<typeof roomStub>,
  items: ChatMessage[],
): Promise<ChatMessage[]> {
  if (!items.length) return items;
  const seqs = items.map((m) => m.seq);
  const deleted = new Set(
    await room.deletedIn(Math.min(...seqs), Math.max(...seqs)).catch((error: unknown) => {
      if (String(error).includes("does not implement")) return [] as number[];
      throw error;
    }),
  );
  return items.map((m) => (deleted.has(m.seq) ? { ...m, text: "", deleted: true } : m));
}

/**
 * Items keep the nickname they were sent under; an account deleted since then shows the anonymous
 * name wherever the copy lives (DynamoDB, Kafka, or a room that was not told). One primary-key lookup.
 */
async function withCurrentNames(s: Services, items: ChatMessage[]): Promise<ChatMessage[]> {
  const ids = [...new Set(items.map((m) => m.userId))];
  if (!ids.length) return items;
  const deleted = await s.db
    .select({ id: users.id })
    .from(users)
    .where(and(inArray(users.id, ids), isNotNull(users.deletedAt)));
  if (!deleted.length) return items;
  const gone = new Set(deleted.map((u) => u.id));
  return items.map((m) => (gone.has(m.userId) ? { ...m, nickname: DELETED_NICKNAME } : m));
}
