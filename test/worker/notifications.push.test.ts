import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
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
  settled,
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
    await settled(async () => expect(await pushesTo(device)).toHaveLength(1));
  });

  it("keeps the reservation and the inbox entry when every push attempt fails; the job pushes it later", async () => {
    const festival = await createFestival({ dayCount: 1 });
    const user = await createUser();
    const device = await registerDevice(user);
    await failNextSends(device, 3, 503);
    const res = await reserve(user, festival.id, { day: festival.days[0], quantity: 1 });
    expect(res.status).toBe(201);
    expect((await api("GET", `/v1/reservations/${res.body.id}`, { token: user.token })).status).toBe(200);
    await settled(async () => expect(ofType(await inbox(user), "reservation.confirmed")).toHaveLength(1));
    expect(await pushesTo(device)).toEqual([]);

    // The first attempt runs after the answer and holds its claim until every device failed.
    await settled(async () => {
      await retryPendingPushes(getServices(env), log);
      expect((await pushesTo(device)).map((p) => p.message.data.type)).toEqual(["reservation.confirmed"]);
    });
  });

  it("forgets a token FCM reports as unregistered and keeps pushing to the others", async () => {
    const festival = await createFestival({ dayCount: 1 });
    const user = await createUser();
    const dead = await registerDevice(user);
    const alive = await registerDevice(user);
    await unregisterAtFcm(dead);
    expect((await reserve(user, festival.id, { day: festival.days[0], quantity: 1 })).status).toBe(201);
    await settled(async () => expect(await pushesTo(alive)).toHaveLength(1));
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
