import { and, eq, inArray, isNull } from "drizzle-orm";
import {
  type ChatUnreadEvent,
  takeUnreadEvents,
  unreadEventsKey,
} from "../../../durable-objects/chat-room/contract/unread-events";
import { festivals } from "../../db/schema/festivals";
import { pushDevices } from "../../db/schema/notifications";
import { users } from "../../db/schema/users";
import type { Logger } from "../../lib/logger";
import type { Services } from "../../lib/services";
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

/** One push per (room, user) of this batch: the newest event wins (counts grow, never shrink). */
function latestPerMember(events: ChatUnreadEvent[]) {
  const latest = new Map<string, { event: ChatUnreadEvent; userId: number; unreadCount: number }>();
  for (const event of events) {
    for (const m of event.offline) {
      const key = `${event.roomId}:${m.userId}`;
      const seen = latest.get(key);
      if (!seen || seen.event.toSeq <= event.toSeq)
        latest.set(key, { event, userId: m.userId, unreadCount: m.unreadCount });
    }
  }
  return [...latest.values()];
}

export async function pushUnreadEvents(s: Services, log: Logger, events: ChatUnreadEvent[]): Promise<number> {
  const members = latestPerMember(events).filter((m) => m.userId !== m.event.lastMessage.userId);
  if (!members.length) return 0;
  const userIds = [...new Set(members.map((m) => m.userId))];
  const festivalIds = [...new Set(members.map((m) => m.event.festivalId))];
  const [devices, titles] = await Promise.all([
    s.db
      .select({ userId: pushDevices.userId, token: pushDevices.token })
      .from(pushDevices)
      .innerJoin(users, eq(users.id, pushDevices.userId))
      .where(and(inArray(pushDevices.userId, userIds), eq(users.notifyChat, true), isNull(users.deletedAt))),
    s.db
      .select({ id: festivals.id, title: festivals.title })
      .from(festivals)
      .where(inArray(festivals.id, festivalIds)),
  ]);
  const tokens = new Map<number, string[]>();
  for (const d of devices) tokens.set(d.userId, [...(tokens.get(d.userId) ?? []), d.token]);
  const title = new Map(titles.map((t) => [t.id, t.title]));

  let pushed = 0;
  const reachable = members.filter((m) => tokens.has(m.userId));
  for (let i = 0; i < reachable.length; i += CONCURRENCY) {
    await Promise.all(
      reachable.slice(i, i + CONCURRENCY).map(async (m) => {
        const open = await s.redis.set(chatWindowKey(s, m.event.roomId, m.userId), String(m.event.toSeq), {
          nx: true,
          ex: CHAT_PUSH_WINDOW_S,
        });
        if (open !== "OK") return;
        const { lastMessage: msg, roomId, festivalId } = m.event;
        const more = m.unreadCount > 1 ? ` (안 읽은 메시지 ${m.unreadCount}개)` : "";
        const result = await pushToTokens(s, log, tokens.get(m.userId) ?? [], {
          title: title.get(festivalId) ?? "채팅",
          body: clip(`${msg.nickname}: ${msg.text}`, 120) + more,
          data: {
            type: "chat.unread",
            roomId,
            festivalId: String(festivalId),
            toSeq: String(m.event.toSeq),
            unreadCount: String(m.unreadCount),
          },
          collapseKey: `chat:${roomId}`,
        });
        if (result.sent) pushed++;
      }),
    );
  }
  return pushed;
}

/** Drains the chat's unread-event list; events of a batch that failed go back to the front. */
export async function runChatPushes(s: Services, log: Logger, maxBatches = 10): Promise<number> {
  let pushed = 0;
  for (let i = 0; i < maxBatches; i++) {
    const events = await takeUnreadEvents(s, BATCH);
    if (!events.length) break;
    try {
      pushed += await pushUnreadEvents(s, log, events);
    } catch (err) {
      await s.redis.lpush(unreadEventsKey(s), ...events.reverse().map((e) => JSON.stringify(e)));
      throw err;
    }
    if (events.length < BATCH) break;
  }
  return pushed;
}
