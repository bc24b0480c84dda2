import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import {
  type ChatUnreadEvent,
  publishUnreadEvent,
} from "../../durable-objects/chat-room/contract/unread-events";
import { joinChatRoom } from "../../workers/api/chat/rooms";
import {
  CHAT_PUSH_WINDOW_S,
  chatWindowKey,
  runChatPushes,
} from "../../workers/api/notifications/chat-pushes";
import { chatMembers } from "../../workers/db/schema/chat";
import { pushDevices } from "../../workers/db/schema/notifications";
import { createLogger } from "../../workers/lib/logger";
import { getServices, type Services } from "../../workers/lib/services";
import { chatFestival, join } from "./chat-helpers";
import { createUser, createUsers } from "./fixtures";
import { api } from "./helpers";
import { inbox, newDeviceToken, pushesTo, registerDevice } from "./notifications-helpers";

const log = createLogger({ test: "chat.pushes" });

/**
 * The chat's unread list is shared by every test of the run (chat tests read theirs): these tests
 * drain private copies, the same code under a key prefix of their own.
 */
function privateServices(): Services {
  const base = getServices(env);
  const prefix = `push-test:${crypto.randomUUID()}:`;
  return { ...base, key: (...parts) => prefix + parts.join(":") };
}

/** An event as a room publishes it: the room and the seq range, no recipients. */
function event(festivalId: number, toSeq: number, extra: Partial<ChatUnreadEvent> = {}): ChatUnreadEvent {
  return {
    roomId: String(festivalId),
    festivalId,
    fromSeq: toSeq,
    toSeq,
    lastMessage: {
      seq: toSeq,
      id: `m${toSeq}`,
      userId: 999_999,
      nickname: "불꽃러버",
      text: `메시지 ${toSeq}`,
      sentAt: new Date().toISOString(),
    },
    at: new Date().toISOString(),
    ...extra,
  };
}

describe("unread chat pushes", () => {
  it("pushes at most once per room per user per window, only to members who want chat pushes", async () => {
    const s = privateServices();
    const { festivalId: roomA } = await chatFestival(0);
    const { festivalId: roomB } = await chatFestival(0);
    const [fan, muted, noDevice] = [await createUser(), await createUser(), await createUser()];
    const outsider = await createUser();
    for (const room of [roomA, roomB])
      for (const u of [fan, muted, noDevice]) await joinChatRoom(getServices(env), room, u.id);
    const device = await registerDevice(fan);
    const mutedDevice = await registerDevice(muted);
    const outsiderDevice = await registerDevice(outsider);
    await api("PATCH", "/v1/me", { token: muted.token, body: { notifications: { chat: false } } });

    // Two flushes of room A in one batch become one push, with the newest message and count.
    await publishUnreadEvent(s, event(roomA, 1));
    await publishUnreadEvent(s, event(roomA, 2));
    expect(await runChatPushes(s, log)).toBe(1);
    let pushes = await pushesTo(device);
    expect(pushes).toHaveLength(1);
    expect(pushes[0]?.message.notification.body).toBe("불꽃러버: 메시지 2 (안 읽은 메시지 2개)");
    expect(pushes[0]?.message.data).toMatchObject({ type: "chat.unread", roomId: String(roomA), toSeq: "2" });
    expect(pushes[0]?.message.android?.collapse_key).toBe(`chat:${roomA}`);

    // More messages inside the window: quiet. Another room: its own window.
    await publishUnreadEvent(s, event(roomA, 3));
    await publishUnreadEvent(s, event(roomB, 1));
    expect(await runChatPushes(s, log)).toBe(1);
    pushes = await pushesTo(device);
    expect(pushes.map((p) => p.message.data.roomId)).toEqual([String(roomA), String(roomB)]);
    const ttl = await s.redis.ttl(chatWindowKey(s, String(roomA), fan.id));
    expect(ttl).toBeGreaterThan(CHAT_PUSH_WINDOW_S - 30);
    expect(ttl).toBeLessThanOrEqual(CHAT_PUSH_WINDOW_S);

    // Once the window is over (the key expired), the next message pushes again.
    await s.redis.del(chatWindowKey(s, String(roomA), fan.id));
    await publishUnreadEvent(s, event(roomA, 4));
    expect(await runChatPushes(s, log)).toBe(1);
    expect(await pushesTo(device)).toHaveLength(3);
    expect(await pushesTo(mutedDevice)).toEqual([]);
    expect(await pushesTo(outsiderDevice)).toEqual([]);
    // Chat pushes stay out of the inbox: the room list shows unread counts.
    expect((await inbox(fan)).items).toEqual([]);
  });

  it("never pushes a member about their own message, nor one who has the room open", async () => {
    const s = privateServices();
    const { festivalId, members } = await chatFestival(2);
    const [author, reader] = members as [{ id: number; token: string }, { id: number; token: string }];
    const authorDevice = await registerDevice(author);
    const readerDevice = await registerDevice(reader);
    const { client } = await join(festivalId, reader);
    const e = event(festivalId, 1);
    await publishUnreadEvent(s, { ...e, lastMessage: { ...e.lastMessage, userId: author.id } });
    expect(await runChatPushes(s, log)).toBe(0);
    expect(await pushesTo(authorDevice)).toEqual([]);
    expect(await pushesTo(readerDevice)).toEqual([]);
    await client.close();
  });

  it("pages through a large room's members from MySQL, and continues an event put back unfinished", async () => {
    const s = privateServices();
    const { festivalId } = await chatFestival(0);
    const crowd = await createUsers(620);
    const db = getServices(env).db;
    await db.insert(chatMembers).values(crowd.map((u) => ({ festivalId, userId: u.id, readSeq: 0 })));
    const tokens = new Map(crowd.map((u) => [u.id, newDeviceToken()]));
    await db
      .insert(pushDevices)
      .values(
        crowd.map((u) => ({ userId: u.id, token: tokens.get(u.id) ?? "", platform: "android" as const })),
      );

    // Where a previous run stopped: only the members after that id are left.
    const sorted = crowd.map((u) => u.id).sort((a, b) => a - b);
    const stoppedAt = sorted[99] as number;
    await publishUnreadEvent(s, event(festivalId, 1, { afterUserId: stoppedAt }));
    expect(await runChatPushes(s, log)).toBe(crowd.length - 100);
    expect(await pushesTo(tokens.get(stoppedAt) ?? "")).toEqual([]);
    expect(await pushesTo(tokens.get(sorted.at(-1) ?? 0) ?? "")).toHaveLength(1);

    // An event published by the previous version (with its member list) is read the same way.
    await s.redis.del(...sorted.slice(0, 100).map((id) => chatWindowKey(s, String(festivalId), id)));
    await publishUnreadEvent(s, { ...event(festivalId, 2), offline: [{ userId: 1, unreadCount: 1 }] });
    expect(await runChatPushes(s, log)).toBe(100);
    expect(await pushesTo(tokens.get(sorted[0] as number) ?? "")).toHaveLength(1);
  });
});
