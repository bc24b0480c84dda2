import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import {
  type ChatUnreadEvent,
  publishUnreadEvent,
} from "../../durable-objects/chat-room/contract/unread-events";
import {
  CHAT_PUSH_WINDOW_S,
  chatWindowKey,
  runChatPushes,
} from "../../workers/api/notifications/chat-pushes";
import { drainNotificationEvents, enqueueNotification } from "../../workers/api/notifications/event-queue";
import { retryPendingPushes } from "../../workers/api/notifications/notify";
import type { V1MeDevicesGetResponse } from "../../workers/api/notifications/v1_me_devices_get";
import { createLogger } from "../../workers/lib/logger";
import { getServices, type Services } from "../../workers/lib/services";
import { createFestival, createUser } from "./fixtures";
import { api } from "./helpers";
import {
  failNextSends,
  inbox,
  ofType,
  pushesTo,
  registerDevice,
  unregisterAtFcm,
} from "./notifications-helpers";
import { reserve } from "./reservations-helpers";

const log = createLogger({ test: "notifications.push" });

/**
 * The chat's unread list and the notification queue are shared by every test of the run (chat tests
 * read theirs): these tests drain private copies, the same code under a key prefix of their own.
 */
function privateServices(): Services {
  const base = getServices(env);
  const prefix = `push-test:${crypto.randomUUID()}:`;
  return { ...base, key: (...parts) => prefix + parts.join(":") };
}

describe("push delivery", () => {
  it("retries a send FCM answered 503/429 and delivers it once", async () => {
    const festival = await createFestival({ dayCount: 1 });
    const user = await createUser();
    const device = await registerDevice(user);
    await failNextSends(device, 1, 503);
    await failNextSends(device, 1, 429);
    expect((await reserve(user, festival.id, { day: festival.days[0], quantity: 1 })).status).toBe(201);
    expect(await pushesTo(device)).toHaveLength(1);
  });

  it("keeps the reservation and the inbox entry when every push attempt fails; the job pushes it later", async () => {
    const festival = await createFestival({ dayCount: 1 });
    const user = await createUser();
    const device = await registerDevice(user);
    await failNextSends(device, 3, 503);
    const res = await reserve(user, festival.id, { day: festival.days[0], quantity: 1 });
    expect(res.status).toBe(201);
    expect((await api("GET", `/v1/reservations/${res.body.id}`, { token: user.token })).status).toBe(200);
    expect(ofType(await inbox(user), "reservation.confirmed")).toHaveLength(1);
    expect(await pushesTo(device)).toEqual([]);

    await retryPendingPushes(getServices(env), log);
    await retryPendingPushes(getServices(env), log);
    expect((await pushesTo(device)).map((p) => p.message.data.type)).toEqual(["reservation.confirmed"]);
  });

  it("forgets a token FCM reports as unregistered and keeps pushing to the others", async () => {
    const festival = await createFestival({ dayCount: 1 });
    const user = await createUser();
    const dead = await registerDevice(user);
    const alive = await registerDevice(user);
    await unregisterAtFcm(dead);
    expect((await reserve(user, festival.id, { day: festival.days[0], quantity: 1 })).status).toBe(201);
    expect(await pushesTo(alive)).toHaveLength(1);
    const devices = await api<V1MeDevicesGetResponse>("GET", "/v1/me/devices", { token: user.token });
    expect(devices.body.items.map((d) => d.token)).toEqual([alive]);
  });

  it("drains queued notification events (events:notifications) into the inbox, once per dedupe key", async () => {
    const s = privateServices();
    const user = await createUser();
    const device = await registerDevice(user);
    const event = {
      userId: user.id,
      type: "waitlist.offer",
      title: "자리가 났어요",
      body: "10분 안에 예약하세요",
      data: { festivalId: 1 },
      dedupeKey: "waitlist.offer:test",
    };
    await enqueueNotification(s, event);
    await enqueueNotification(s, event);
    await s.redis.rpush(s.key("events", "notifications"), "not json");
    expect(await drainNotificationEvents(s, log)).toBe(2);
    expect(ofType(await inbox(user), "waitlist.offer")).toHaveLength(1);
    expect(await pushesTo(device)).toHaveLength(1);
    expect(await s.redis.llen(s.key("events", "notifications"))).toBe(0);
  });
});

describe("unread chat pushes", () => {
  function event(festivalId: number, toSeq: number, offline: { userId: number; unreadCount: number }[]) {
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
      offline,
      at: new Date().toISOString(),
    } satisfies ChatUnreadEvent;
  }

  it("pushes at most once per room per user per window, only to members who want chat pushes", async () => {
    const s = privateServices();
    const [roomA, roomB] = [await createFestival({ dayCount: 1 }), await createFestival({ dayCount: 1 })];
    const [fan, muted, noDevice] = [await createUser(), await createUser(), await createUser()];
    const device = await registerDevice(fan);
    const mutedDevice = await registerDevice(muted);
    await api("PATCH", "/v1/me", { token: muted.token, body: { notifications: { chat: false } } });
    const everyone = (n: number) => [
      { userId: fan.id, unreadCount: n },
      { userId: muted.id, unreadCount: n },
      { userId: noDevice.id, unreadCount: n },
    ];

    // Two flushes of room A in one batch become one push, with the newest message and count.
    await publishUnreadEvent(s, event(roomA.id, 1, everyone(1)));
    await publishUnreadEvent(s, event(roomA.id, 2, everyone(2)));
    expect(await runChatPushes(s, log)).toBe(1);
    let pushes = await pushesTo(device);
    expect(pushes).toHaveLength(1);
    expect(pushes[0]?.message.notification.body).toBe("불꽃러버: 메시지 2 (안 읽은 메시지 2개)");
    expect(pushes[0]?.message.data).toMatchObject({
      type: "chat.unread",
      roomId: String(roomA.id),
      toSeq: "2",
    });
    expect(pushes[0]?.message.android?.collapse_key).toBe(`chat:${roomA.id}`);

    // More messages inside the window: quiet. Another room: its own window.
    await publishUnreadEvent(s, event(roomA.id, 3, everyone(3)));
    await publishUnreadEvent(s, event(roomB.id, 1, everyone(1)));
    expect(await runChatPushes(s, log)).toBe(1);
    pushes = await pushesTo(device);
    expect(pushes.map((p) => p.message.data.roomId)).toEqual([String(roomA.id), String(roomB.id)]);
    const ttl = await s.redis.ttl(chatWindowKey(s, String(roomA.id), fan.id));
    expect(ttl).toBeGreaterThan(CHAT_PUSH_WINDOW_S - 30);
    expect(ttl).toBeLessThanOrEqual(CHAT_PUSH_WINDOW_S);

    // Once the window is over (the key expired), the next message pushes again.
    await s.redis.del(chatWindowKey(s, String(roomA.id), fan.id));
    await publishUnreadEvent(s, event(roomA.id, 4, everyone(4)));
    expect(await runChatPushes(s, log)).toBe(1);
    expect(await pushesTo(device)).toHaveLength(3);
    expect(await pushesTo(mutedDevice)).toEqual([]);
    // Chat pushes stay out of the inbox: the room list shows unread counts.
    expect((await inbox(fan)).items).toEqual([]);
  });

  it("never pushes a member about their own message", async () => {
    const s = privateServices();
    const room = await createFestival({ dayCount: 1 });
    const author = await createUser();
    const device = await registerDevice(author);
    const e = event(room.id, 1, [{ userId: author.id, unreadCount: 1 }]);
    await publishUnreadEvent(s, { ...e, lastMessage: { ...e.lastMessage, userId: author.id } });
    expect(await runChatPushes(s, log)).toBe(0);
    expect(await pushesTo(device)).toEqual([]);
  });
});
