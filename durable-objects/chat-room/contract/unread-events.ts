import type { Services } from "../../../workers/lib/services";
import type { ChatMessage } from "./protocol";

/**
 * The contract with the notifications area: after new messages, each room appends one event to a
 * Redis list saying which messages are new. Events come at most once per room per flush (about a
 * second), not once per message, so a busy room does not turn into one push per line per member;
 * `fromSeq..toSeq` says which messages an event covers. The event names no recipient: its size does
 * not grow with the room (a list of 50,000 offline members was ~1.5 MB per flush); the push job pages
 * through the room's members in MySQL instead (workers/api/notifications/chat-pushes.ts).
 */
export interface ChatUnreadEvent {
  roomId: string;
  festivalId: number;
  fromSeq: number;
  toSeq: number;
  /** The newest message of the range, for the push text. */
  lastMessage: ChatMessage;
  at: string;
  /**
   * An organiser's announcement among these messages: pushed to every offline member at once, past
   * the chat's batching window (absent from older rooms' events).
   */
  announcement?: ChatMessage;
  /** Set by the push job on an event it put back unfinished: the members up to this id are done. */
  afterUserId?: number;
  /** Written by rooms of the previous version (every offline member); ignored, the job pages instead. */
  offline?: unknown;
}

/** Bounded, so the list cannot grow without end while nobody consumes it. */
export const UNREAD_EVENTS_MAX = 10_000;

export const unreadEventsKey = (s: Services) => s.key("events", "chat-unread");

export async function publishUnreadEvent(s: Services, event: ChatUnreadEvent): Promise<void> {
  const p = s.redis.pipeline();
  p.rpush(unreadEventsKey(s), JSON.stringify(event));
  p.ltrim(unreadEventsKey(s), -UNREAD_EVENTS_MAX, -1);
  await p.exec();
}

/** For the consumer (notifications): takes up to `max` events, oldest first. */
export async function takeUnreadEvents(s: Services, max: number): Promise<ChatUnreadEvent[]> {
  const raw = await s.redis.lpop<string[]>(unreadEventsKey(s), max);
  return (raw ?? []).map((line) => JSON.parse(line) as ChatUnreadEvent);
}
