import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { notify } from "../../workers/api/notifications/notify";
import type { NotificationView } from "../../workers/api/notifications/schemas";
import type { V1MeDevicesGetResponse } from "../../workers/api/notifications/v1_me_devices_get";
import type { V1MeNotificationsReadAllPostResponse } from "../../workers/api/notifications/v1_me_notifications_read_all_post";
import type { V1MeNotificationsUnreadCountGetResponse } from "../../workers/api/notifications/v1_me_notifications_unread_count_get";
import { getServices } from "../../workers/lib/services";
import { createAdminUser, createFestival, createUser } from "./fixtures";
import { api } from "./helpers";
import { inbox, newDeviceToken, ofType, pushesTo, registerDevice, settled } from "./notifications-helpers";
import { reserve } from "./reservations-helpers";

const s = () => getServices(env);

async function seedInbox(userId: number, count: number) {
  for (let i = 1; i <= count; i++) {
    await notify(s(), { userId, type: "test.note", title: `알림 ${i}`, body: `본문 ${i}`, data: { i } });
  }
}

describe("inbox", () => {
  it("pages newest first with a stable cursor and counts unread", async () => {
    const user = await createUser();
    await seedInbox(user.id, 5);
    const first = await inbox(user, "?limit=2");
    expect(first.items.map((i) => i.title)).toEqual(["알림 5", "알림 4"]);
    expect(first.unreadCount).toBe(5);
    expect(first.items[0]).toMatchObject({
      type: "test.note",
      body: "본문 5",
      data: { i: "5" },
      readAt: null,
    });
    // A notification arriving between pages does not shift the next page.
    await seedInbox(user.id, 1);
    const second = await inbox(user, `?limit=2&cursor=${first.nextCursor}`);
    expect(second.items.map((i) => i.title)).toEqual(["알림 3", "알림 2"]);
    const third = await inbox(user, `?limit=2&cursor=${second.nextCursor}`);
    expect(third.items.map((i) => i.title)).toEqual(["알림 1"]);
    expect(third.nextCursor).toBeNull();
  });

  it("marks one read (idempotently), then all read, and the counts follow", async () => {
    const user = await createUser();
    await seedInbox(user.id, 3);
    const [newest] = (await inbox(user)).items as [NotificationView];
    const read = await api<NotificationView>("POST", `/v1/me/notifications/${newest.id}/read`, {
      token: user.token,
    });
    expect(read.status).toBe(200);
    expect(read.body.readAt).not.toBeNull();
    const again = await api<NotificationView>("POST", `/v1/me/notifications/${newest.id}/read`, {
      token: user.token,
    });
    expect(again.body.readAt).toBe(read.body.readAt);

    const count = await api<V1MeNotificationsUnreadCountGetResponse>(
      "GET",
      "/v1/me/notifications/unread-count",
      {
        token: user.token,
      },
    );
    expect(count.body).toEqual({ unreadCount: 2 });
    expect((await inbox(user, "?unread=true")).items).toHaveLength(2);

    const all = await api<V1MeNotificationsReadAllPostResponse>("POST", "/v1/me/notifications/read-all", {
      token: user.token,
    });
    expect(all.status).toBe(200);
    expect(all.body).toEqual({ marked: 2, unreadCount: 0 });
    expect((await inbox(user)).unreadCount).toBe(0);
  });

  it("read-all up to an id leaves newer notifications unread", async () => {
    const user = await createUser();
    await seedInbox(user.id, 2);
    const shown = (await inbox(user)).items[0] as NotificationView;
    await seedInbox(user.id, 1);
    const res = await api<V1MeNotificationsReadAllPostResponse>("POST", "/v1/me/notifications/read-all", {
      token: user.token,
      body: { before: shown.id },
    });
    expect(res.body).toEqual({ marked: 2, unreadCount: 1 });
  });

  it("stores an event once per dedupe key", async () => {
    const user = await createUser();
    const input = {
      userId: user.id,
      type: "waitlist.offer",
      title: "자리 있음",
      body: "b",
      dedupeKey: "offer:1",
    };
    const [a, b] = await Promise.all([notify(s(), input), notify(s(), input)]);
    expect(a.id).toBe(b.id);
    expect([a.created, b.created].sort()).toEqual([false, true]);
    expect((await inbox(user)).items).toHaveLength(1);
  });
});

describe("devices", () => {
  it("registers, refreshes, lists and removes a device", async () => {
    const user = await createUser();
    const token = newDeviceToken();
    const first = await api("POST", "/v1/me/devices", {
      token: user.token,
      body: { token, platform: "ios" },
    });
    expect(first.status).toBe(201);
    const again = await api("POST", "/v1/me/devices", { token: user.token, body: { token } });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ token, platform: "ios" });
    const list = await api<V1MeDevicesGetResponse>("GET", "/v1/me/devices", { token: user.token });
    expect(list.body.items.map((d) => d.token)).toEqual([token]);
    const del = await api("DELETE", "/v1/me/devices", { token: user.token, body: { token } });
    expect(del.status).toBe(204);
    expect(
      (await api<V1MeDevicesGetResponse>("GET", "/v1/me/devices", { token: user.token })).body.items,
    ).toEqual([]);
  });

  it("moves a token to the account that registers it last", async () => {
    const [a, b] = [await createUser(), await createUser()];
    const token = await registerDevice(a);
    expect((await api("POST", "/v1/me/devices", { token: b.token, body: { token } })).status).toBe(200);
    expect(
      (await api<V1MeDevicesGetResponse>("GET", "/v1/me/devices", { token: a.token })).body.items,
    ).toEqual([]);
    await notify(s(), { userId: a.id, type: "test.note", title: "for a", body: "b" });
    await notify(s(), { userId: b.id, type: "test.note", title: "for b", body: "b" });
    expect((await pushesTo(token)).map((p) => p.message.notification.title)).toEqual(["for b"]);
  });
});

describe("reservation events reach the inbox and the phone", () => {
  it("pushes a confirmed and a cancelled reservation through FCM with a verified service-account token", async () => {
    const festival = await createFestival({ dayCount: 1 });
    const user = await createUser();
    const device = await registerDevice(user);
    const res = await reserve(user, festival.id, { day: festival.days[0], quantity: 2 });
    expect(res.status).toBe(201);

    const confirmed = await settled(async () => {
      const found = ofType(await inbox(user), "reservation.confirmed");
      expect(found).toHaveLength(1);
      expect(await pushesTo(device)).toHaveLength(1);
      return found;
    });
    expect(confirmed[0]).toMatchObject({
      title: "예약 확정: 솜솜 불꽃축제",
      data: { reservationId: String(res.body.id), festivalId: String(festival.id) },
    });
    const [push] = await pushesTo(device);
    expect(push?.message).toMatchObject({
      token: device,
      notification: { title: "예약 확정: 솜솜 불꽃축제" },
      data: { type: "reservation.confirmed", notificationId: String(confirmed[0]?.id) },
      android: { collapse_key: `reservation.confirmed:${res.body.id}` },
    });
    // The stand-in accepts only access tokens it issued for an assertion that verified with the key.
    expect(push?.accessToken).toMatch(/^ya29\.local-/);

    const cancel = await api("POST", `/v1/reservations/${res.body.id}/cancel`, { token: user.token });
    expect(cancel.status).toBe(200);
    expect(ofType(await inbox(user), "reservation.cancelled")).toHaveLength(1);
    expect((await pushesTo(device)).map((p) => p.message.data.type)).toEqual([
      "reservation.confirmed",
      "reservation.cancelled",
    ]);
  });

  it("tells active holders about a festival change and a cancellation, as their preferences allow", async () => {
    const festival = await createFestival({ dayCount: 1, capacity: 20 });
    const admin = await createAdminUser();
    const [fan, quiet, gone] = [await createUser(), await createUser(), await createUser()];
    const devices = { fan: await registerDevice(fan), quiet: await registerDevice(quiet) };
    for (const u of [fan, quiet, gone]) {
      expect((await reserve(u, festival.id, { day: festival.days[0], quantity: 1 })).status).toBe(201);
    }
    const quietRes = await api("PATCH", "/v1/me", {
      token: quiet.token,
      body: { notifications: { festivalUpdates: false } },
    });
    expect(quietRes.status).toBe(200);
    const mine = await api<{ items: { id: number }[] }>("GET", "/v1/me/reservations", { token: gone.token });
    await api("POST", `/v1/reservations/${mine.body.items[0]?.id}/cancel`, { token: gone.token });

    const patched = await api("PATCH", `/v1/festivals/${festival.id}`, {
      token: admin.token,
      body: { title: "솜솜 불꽃축제 (장소 변경)" },
    });
    expect(patched.status).toBe(200);
    // A description-only change is not worth a push.
    await api("PATCH", `/v1/festivals/${festival.id}`, {
      token: admin.token,
      body: { description: "새 설명" },
    });

    const changed = ofType(await inbox(fan), "festival.changed");
    expect(changed).toHaveLength(1);
    expect(changed[0]?.title).toBe("축제 정보 변경: 솜솜 불꽃축제 (장소 변경)");
    expect(ofType(await inbox(quiet), "festival.changed")).toEqual([]);
    expect(ofType(await inbox(gone), "festival.changed")).toEqual([]);

    const cancelled = await api("POST", `/v1/festivals/${festival.id}/cancel`, {
      token: admin.token,
      body: { reason: "기상 악화" },
    });
    expect(cancelled.status).toBe(200);
    const told = ofType(await inbox(fan), "festival.cancelled");
    expect(told).toHaveLength(1);
    expect(told[0]?.body).toContain("기상 악화");
    expect(ofType(await inbox(quiet), "festival.cancelled")).toEqual([]);
    expect(ofType(await inbox(gone), "festival.cancelled")).toEqual([]);
    expect((await pushesTo(devices.fan)).map((p) => p.message.data.type)).toContain("festival.cancelled");
    expect((await pushesTo(devices.quiet)).map((p) => p.message.data.type)).not.toContain(
      "festival.cancelled",
    );
  });
});
