import { and, asc, eq, gt, inArray, isNull, lt, ne, sql } from "drizzle-orm";
import {
  type ChatUnreadEvent,
  takeUnreadEvents,
  unreadEventsKey,
} from "../../../durable-objects/chat-room/contract/unread-events";
import { chatMembers } from "../../db/schema/chat";
import { festivals } from "../../db/schema/festivals";
import { pushDevices } from "../../db/schema/notifications";
import { users } from "../../db/schema/users";
import type { Logger } from "../../lib/logger";
import type { Services } from "../../lib/services";
import { roomStub } from "../chat/rooms";
import { pushToTokens } from "./push";

/**
 * Unread chat messages become pushes, batched: at most one push per room per user per window. The
 * window is a Redis key per (room, user) set with NX EX: the first event in a window pushes (the
 * newest message of the batch, with the unread count), the rest of the window is quiet, so a busy
 * room costs a member one notification every few minutes, not one per line. Chat pushes are not
 * kept in the inbox: the room list already shows unread counts.
 */
export const CHAT_PUSH_WINDOW_S = 300;
const BATCH = 200;
const CONCURRENCY = 8;

export const chatWindowKey = (s: Services, roomId: string, userId: number) =>
  s.key("notifications", "chat-window", roomId, userId);

const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

/** Members read per page of a room's recipients, and pages per room per run (the rest waits a tick). */
const PAGE = 500;
const PAGES_PER_RUN = 20;

/**
 * One event per room of this batch: the newest (counts grow, never shrink), or the one further along.
 * It keeps the newest announcement any of them carried, so a later plain event cannot swallow it.
 */
function latestPerRoom(events: ChatUnreadEvent[]) {
  const latest = new Map<string, ChatUnreadEvent>();
  const announced = new Map<string, ChatUnreadEvent["announcement"]>();
  for (const event of events) {
    const seen = latest.get(event.roomId);
    if (
      !seen ||
      seen.toSeq < event.toSeq ||
      (seen.toSeq === event.toSeq && (seen.afterUserId ?? 0) < (event.afterUserId ?? 0))
    )
      latest.set(event.roomId, event);
    const a = event.announcement;
    if (a && (announced.get(event.roomId)?.seq ?? 0) < a.seq) announced.set(event.roomId, a);
  }
  return [...latest.values()].map((e) => {
    const announcement = announced.get(e.roomId);
    return announcement ? { ...e, announcement } : e;
  });
}

/**
 * A page of the room's members who are behind `toSeq`, want chat pushes and have a device, in user
 * id order (the primary key's range, so a 50,000-member room costs 100 index range reads, not one
 * list in memory). The author is never told about their own message.
 */
function recipients(s: Services, event: ChatUnreadEvent, after: number) {
  return s.db
    .select({ userId: chatMembers.userId, readSeq: chatMembers.readSeq })
    .from(chatMembers)
    .innerJoin(users, eq(users.id, chatMembers.userId))
    .where(
      and(
        eq(chatMembers.festivalId, event.festivalId),
        gt(chatMembers.userId, after),
        lt(chatMembers.readSeq, event.toSeq),
        ne(chatMembers.userId, (event.announcement ?? event.lastMessage).userId),
        eq(users.notifyChat, true),
        isNull(users.deletedAt),
        sql`EXISTS (SELECT 1 FROM ${pushDevices} WHERE ${pushDevices.userId} = ${chatMembers.userId})`,
      ),
    )
    .orderBy(asc(chatMembers.userId))
    .limit(PAGE);
}

/** Pushes one room's event; returns the member id to continue after when pages are left. */
async function pushRoom(s: Services, log: Logger, event: ChatUnreadEvent, title: string) {
  let after = event.afterUserId ?? 0;
  let pushed = 0;
  for (let page = 0; page < PAGES_PER_RUN; page++) {
    const rows = await recipients(s, event, after);
    if (!rows.length) return { pushed };
    after = rows.at(-1)?.userId ?? after;
    // Members with the room open see the messages live: no push. A room that cannot answer (an
    // older version without onlineAmong) counts as everyone offline.
    const online = new Set(
      await roomStub(event.festivalId)
        .onlineAmong(rows.map((r) => r.userId))
        .catch(() => [] as number[]),
    );
    const members = rows.filter((r) => !online.has(r.userId));
    const devices = members.length
      ? await s.db
          .select({ userId: pushDevices.userId, token: pushDevices.token })
          .from(pushDevices)
          .where(
            inArray(
              pushDevices.userId,
              members.map((m) => m.userId),
            ),
          )
      : [];
    const tokens = new Map<number, string[]>();
    for (const d of devices) tokens.set(d.userId, [...(tokens.get(d.userId) ?? []), d.token]);
    for (let i = 0; i < members.length; i += CONCURRENCY) {
      const sent = await Promise.all(
        members
          .slice(i, i + CONCURRENCY)
          .map((m) =>
            pushMember(s, log, event, title, m.userId, event.toSeq - m.readSeq, tokens.get(m.userId) ?? []),
          ),
      );
      pushed += sent.filter(Boolean).length;
    }
    if (rows.length < PAGE) return { pushed };
  }
  return { pushed, after };
}

async function pushMember(
  s: Services,
  log: Logger,
  event: ChatUnreadEvent,
  title: string,
  userId: number,
  unreadCount: number,
  tokens: string[],
): Promise<boolean> {
  if (!tokens.length) return false;
  const { lastMessage: msg, roomId, festivalId, announcement } = event;
  // An announcement (a gate change on the day) cannot wait for the window: it opens a new one.
  const key = chatWindowKey(s, event.roomId, userId);
  const open = announcement
    ? await s.redis.set(key, String(event.toSeq), { ex: CHAT_PUSH_WINDOW_S })
    : await s.redis.set(key, String(event.toSeq), { nx: true, ex: CHAT_PUSH_WINDOW_S });
  if (open !== "OK") return false;
  if (announcement) {
    const result = await pushToTokens(s, log, tokens, {
      title,
      body: clip(`📢 ${announcement.text}`, 120),
      data: {
        type: "chat.announcement",
        roomId,
        festivalId: String(festivalId),
        seq: String(announcement.seq),
      },
      collapseKey: `chat:${roomId}`,
    });
    return result.sent > 0;
  }
  const more = unreadCount > 1 ? ` (안 읽은 메시지 ${unreadCount}개)` : "";
  const result = await pushToTokens(s, log, tokens, {
    title,
    body: clip(`${msg.nickname}: ${msg.text}`, 120) + more,
    data: {
      type: "chat.unread",
      roomId,
      festivalId: String(festivalId),
      toSeq: String(event.toSeq),
      unreadCount: String(unreadCount),
    },
    collapseKey: `chat:${roomId}`,
  });
  return result.sent > 0;
}

/** Pushes a batch; the events of rooms with members left over come back with where to continue. */
export async function pushUnreadEvents(
  s: Services,
  log: Logger,
  events: ChatUnreadEvent[],
): Promise<{ pushed: number; unfinished: ChatUnreadEvent[] }> {
  const rooms = latestPerRoom(events);
  if (!rooms.length) return { pushed: 0, unfinished: [] };
  const titles = await s.db
    .select({ id: festivals.id, title: festivals.title })
    .from(festivals)
    .where(
      inArray(
        festivals.id,
        rooms.map((e) => e.festivalId),
      ),
    );
  const title = new Map(titles.map((t) => [t.id, t.title]));
  let pushed = 0;
  const unfinished: ChatUnreadEvent[] = [];
  for (const event of rooms) {
    const done = await pushRoom(s, log, event, title.get(event.festivalId) ?? "채팅");
    pushed += done.pushed;
    if (done.after !== undefined) unfinished.push({ ...event, afterUserId: done.after });
  }
  return { pushed, unfinished };
}

/**
 * Drains the chat's unread-event list; events of a batch that failed go back to the front, and so
 * do rooms whose members did not fit in this run (with where to continue).
 */
export async function runChatPushes(s: Services, log: Logger, maxBatches = 10): Promise<number> {
  let pushed = 0;
  for (let i = 0; i < maxBatches; i++) {
    const events = await takeUnreadEvents(s, BATCH);
    if (!events.length) break;
    let unfinished: ChatUnreadEvent[];
    try {
      const done = await pushUnreadEvents(s, log, events);
      pushed += done.pushed;
      unfinished = done.unfinished;
    } catch (err) {
      await s.redis.lpush(unreadEventsKey(s), ...events.reverse().map((e) => JSON.stringify(e)));
      throw err;
    }
    if (unfinished.length) {
      await s.redis.lpush(unreadEventsKey(s), ...unfinished.map((e) => JSON.stringify(e)));
      break;
    }
    if (events.length < BATCH) break;
  }
  return pushed;
}
