import { env } from "cloudflare:workers";
import { and, eq, isNull, sql } from "drizzle-orm";
import type { ChatRoom } from "../../../durable-objects/chat-room";
import { roomName, shardName } from "../../../durable-objects/chat-room/contract/identity";
import { chatMembers, chatRooms } from "../../db/schema/chat";
import { festivals } from "../../db/schema/festivals";
import { users } from "../../db/schema/users";
import { AppError } from "../../lib/errors";
import type { Logger } from "../../lib/logger";
import { withRetries } from "../../lib/retry";
import type { Services } from "../../lib/services";
import { DELETED_NICKNAME } from "../me/service";

/**
 * Room lifecycle, called by other areas: one room per festival (room id = festival id). MySQL holds
 * rooms and memberships; the ChatRoom object holds the live state and is created on first use.
 * These take Services only (their callers' signature), so the object namespace comes from the
 * Worker's module-level env.
 */

export const roomIdOf = (festivalId: number) => String(festivalId);

export function roomStub(festivalId: number, ns: Env["CHAT_ROOM"] = env.CHAT_ROOM) {
  // wrangler types cannot name the class across folders, so the namespace is typed here, once.
  const rooms = ns as DurableObjectNamespace<ChatRoom>;
  return rooms.get(rooms.idFromName(roomName(festivalId)));
}

export function shardStub(festivalId: number, shard: number, ns: Env["CHAT_SHARD"] = env.CHAT_SHARD) {
  return ns.get(ns.idFromName(shardName(festivalId, shard)));
}

const roomNotFound = () => new AppError(404, "chat.room_not_found", "This festival has no chat room");

/** Called when a festival is created. Idempotent. */
export async function createChatRoom(s: Services, festival: { id: number; title: string }): Promise<void> {
  await s.db.insert(chatRooms).ignore().values({ festivalId: festival.id });
}

/** The room's last seq; creates the room if the festival exists but has none (it predates chat). */
async function roomLastSeq(s: Services, festivalId: number): Promise<number> {
  const read = () =>
    s.db.select({ lastSeq: chatRooms.lastSeq }).from(chatRooms).where(eq(chatRooms.festivalId, festivalId));
  let [room] = await read();
  if (!room) {
    await s.db.execute(
      sql`INSERT IGNORE INTO ${chatRooms} (festival_id, created_at, updated_at)
          SELECT ${festivals.id}, NOW(3), NOW(3) FROM ${festivals} WHERE ${festivals.id} = ${festivalId}`,
    );
    [room] = await read();
  }
  if (!room) throw roomNotFound();
  return room.lastSeq;
}

/**
 * Makes the user a member (idempotent). A new member starts with everything sent so far marked
 * read, so joining a busy room does not show hundreds of unread messages.
 *
 * A festival going on sale brings many joins to one room at once (every reservation joins), so the
 * room row's count is raised by its own autocommit statement after the member row is in: its lock
 * lasts one statement, never a COMMIT round trip (in a transaction every joiner of the room queued
 * behind that round trip: ~50 joins/s at 20 ms to the database). A Worker dying between the two
 * leaves the count one low; memberships themselves are exact.
 */
export async function joinChatRoom(s: Services, festivalId: number, userId: number): Promise<void> {
  const readSeq = await roomLastSeq(s, festivalId);
  const added = await s.db.insert(chatMembers).ignore().values({ festivalId, userId, readSeq });
  if (added.rowsAffected !== 1) return;
  await s.db
    .update(chatRooms)
    .set({ memberCount: sql`${chatRooms.memberCount} + 1` })
    .where(eq(chatRooms.festivalId, festivalId));
}

/**
 * joinChatRoom for many users of one room at once (the sale's follow-ups, batched): the same rows
 * and the same autocommit count update, in three statements however many join. The count rises by
 * the rows the INSERT IGNORE really added, so members already there are not counted twice; each
 * step is retried on its own under contention (retrying the insert after the count update failed
 * would find the rows in and leave the count short by all of them).
 */
export async function joinChatRoomMany(
  s: Services,
  log: Logger,
  festivalId: number,
  userIds: number[],
): Promise<void> {
  // Sorted: concurrent batches insert into the room's primary key in one order.
  const ids = [...new Set(userIds)].sort((a, b) => a - b);
  if (!ids.length) return;
  const added = await withRetries(log, "join chat room", async () => {
    const readSeq = await roomLastSeq(s, festivalId);
    return s.db
      .insert(chatMembers)
      .ignore()
      .values(ids.map((userId) => ({ festivalId, userId, readSeq })));
  });
  if (added.rowsAffected < 1) return;
  await withRetries(log, "count chat members", () =>
    s.db
      .update(chatRooms)
      .set({ memberCount: sql`${chatRooms.memberCount} + ${added.rowsAffected}` })
      .where(eq(chatRooms.festivalId, festivalId)),
  );
}

/**
 * Ends the membership (idempotent) and closes the user's open sockets in the room, so a member who
 * left stops receiving messages at once. Same lock order as joining. A Worker that dies between the
 * two leaves the socket open only until the room's own re-check (RECHECK_MS) or the client's retry
 * of this idempotent leave, which tells the room again.
 */
export async function leaveChatRoom(s: Services, festivalId: number, userId: number): Promise<void> {
  await removeMember(s, festivalId, userId);
  await roomStub(festivalId).memberLeft(userId);
}

async function removeMember(s: Services, festivalId: number, userId: number): Promise<void> {
  const removed = await s.db.transaction(async (tx) => {
    const deleted = await tx
      .delete(chatMembers)
      .where(and(eq(chatMembers.festivalId, festivalId), eq(chatMembers.userId, userId)));
    if (deleted.rowsAffected !== 1) return false;
    await tx
      .update(chatRooms)
      .set({ memberCount: sql`${chatRooms.memberCount} - 1` })
      .where(eq(chatRooms.festivalId, festivalId));
    return true;
  });
  if (!removed) {
    const [room] = await s.db
      .select({ id: chatRooms.festivalId })
      .from(chatRooms)
      .where(eq(chatRooms.festivalId, festivalId));
    if (!room) throw roomNotFound();
  }
}

/**
 * Who may connect, in one query: whether the room exists, membership, the member's read cursor
 * and the nickname to show (undefined user = account deleted meanwhile).
 */
export async function chatAccess(s: Services, festivalId: number, userId: number) {
  const [row] = await s.db
    .select({ member: chatMembers.userId, readSeq: chatMembers.readSeq, nickname: users.nickname })
    .from(chatRooms)
    .leftJoin(
      chatMembers,
      and(eq(chatMembers.festivalId, chatRooms.festivalId), eq(chatMembers.userId, userId)),
    )
    .leftJoin(users, and(eq(users.id, userId), isNull(users.deletedAt)))
    .where(eq(chatRooms.festivalId, festivalId));
  if (!row) throw roomNotFound();
  return { member: row.member !== null, readSeq: row.readSeq ?? 0, nickname: row.nickname ?? undefined };
}

/** A deleted account leaves every room; its messages stay, under the anonymous name. */
export async function leaveRoomsOfDeletedAccount(s: Services, userId: number): Promise<void> {
  const rooms = await s.db
    .select({ festivalId: chatMembers.festivalId })
    .from(chatMembers)
    .where(eq(chatMembers.userId, userId));
  for (const r of rooms) {
    // The room hears first: a retry of a deletion that died in between finds the membership row
    // again and repeats both (a room told after the row went would be forgotten by the retry).
    await roomStub(r.festivalId).memberLeft(userId, DELETED_NICKNAME);
    await removeMember(s, r.festivalId, userId);
  }
}

/**
 * Rooms where an admin holds a socket without being a member, for as long as a token lives: on a
 * demotion or logout the room list (chat_members) would not name them.
 */
const adminVisitsKey = (s: Services, userId: number) => s.key("chat", "admin-visits", userId);
const ADMIN_VISIT_TTL_S = 20 * 60;

export async function noteAdminVisit(s: Services, userId: number, festivalId: number): Promise<void> {
  const key = adminVisitsKey(s, userId);
  await s.redis.pipeline().sadd(key, festivalId).expire(key, ADMIN_VISIT_TTL_S).exec();
}

/** Every room where the user may hold a socket. */
async function roomsOf(s: Services, userId: number): Promise<number[]> {
  const [members, visits] = await Promise.all([
    s.db
      .select({ festivalId: chatMembers.festivalId })
      .from(chatMembers)
      .where(eq(chatMembers.userId, userId)),
    s.redis.smembers(adminVisitsKey(s, userId)),
  ]);
  return [...new Set([...members.map((m) => m.festivalId), ...visits.map(Number)])];
}

/** Calls on several rooms at once, never thousands: a user in many rooms is rare, a flood is not wanted. */
const ROOM_CONCURRENCY = 8;

/**
 * Sessions-revoked hook (workers/api/hooks.ts), and logout with the one `jti` it ended: the user's
 * sockets close in every room at once instead of living on until their token expires.
 */
export async function closeChatSocketsOf(s: Services, userId: number, jti?: string): Promise<void> {
  const rooms = await roomsOf(s, userId);
  for (let i = 0; i < rooms.length; i += ROOM_CONCURRENCY) {
    await Promise.all(rooms.slice(i, i + ROOM_CONCURRENCY).map((id) => roomStub(id).revoke(userId, jti)));
  }
}
