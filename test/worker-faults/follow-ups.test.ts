import { env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import type { V1MeChatRoomsGetResponse } from "../../workers/api/chat/v1_me_chat_rooms_get";
import { notificationEventsKey } from "../../workers/api/notifications/event-queue";
import type { V1MeDevicesGetResponse } from "../../workers/api/notifications/v1_me_devices_get";
import { notifications } from "../../workers/db/schema/notifications";
import { reservations } from "../../workers/db/schema/reservations";
import { getServices } from "../../workers/lib/services";
import { runCron as tick } from "../worker/cron";
import { createAdminUser, createFestival, createUser, db } from "../worker/fixtures";
import { type ApiError, api } from "../worker/helpers";
import { inbox, newDeviceToken, ofType, registerDevice, settled } from "../worker/notifications-helpers";
import { dbState, type ReservationBody, reserve } from "../worker/reservations-helpers";

const myRooms = (token: string) => api<V1MeChatRoomsGetResponse>("GET", "/v1/me/chat-rooms", { token });

describe("after a reservation", () => {
  it("joins the chat room and fills the inbox after the 201", async () => {
    const f = await createFestival({ dayCount: 1 });
    const user = await createUser();
    const r = await reserve(user, f.id, { day: f.days[0], quantity: 1 });
    expect(r.status).toBe(201);
    await settled(async () => {
      expect((await myRooms(user.token)).body.items.map((i) => i.festivalId)).toEqual([f.id]);
      expect(ofType(await inbox(user), "reservation.confirmed")).toHaveLength(1);
    });
  });
});

describe("admins cancel a user's reservation", () => {
  it("cancels it with reason admin, frees the places and tells the holder", async () => {
    const f = await createFestival({ dayCount: 1, capacity: 3 });
    const [user, admin] = [await createUser(), await createAdminUser()];
    const r = await reserve(user, f.id, { day: f.days[0], quantity: 3 });
    const path = `/v1/admin/reservations/${r.body.id}/cancel`;
    const res = await api<ReservationBody>("POST", path, { token: admin.token });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      id: r.body.id,
      status: "cancelled",
      cancelReason: "admin",
      checkInCode: null,
    });
    expect((await dbState(f.id)).days[f.days[0] as string]?.reserved).toBe(0);
    expect(ofType(await inbox(user), "reservation.cancelled")).toHaveLength(1);
    expect((await reserve(await createUser(), f.id, { day: f.days[0], quantity: 3 })).status).toBe(201);

    const again = await api<ApiError>("POST", path, { token: admin.token });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe("reservation.not_cancellable");
  });

  it("is for admins only, and an unknown reservation is a 404", async () => {
    const f = await createFestival({ dayCount: 1 });
    const [user, other, admin] = [await createUser(), await createUser(), await createAdminUser()];
    const r = await reserve(user, f.id, { day: f.days[0], quantity: 1 });
    const path = `/v1/admin/reservations/${r.body.id}/cancel`;
    expect((await api("POST", path)).status).toBe(401);
    for (const u of [user, other]) expect((await api("POST", path, { token: u.token })).status).toBe(403);
    const read = await api<ReservationBody>("GET", `/v1/reservations/${r.body.id}`, { token: user.token });
    expect(read.body.status).toBe("confirmed");
    const missing = await api<ApiError>("POST", "/v1/admin/reservations/999999999/cancel", {
      token: admin.token,
    });
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe("reservation.not_found");
  });
});

describe("what would grow forever", () => {
  it("keeps at most 10 devices per user, dropping the least recently seen", async () => {
    const user = await createUser();
    const tokens: string[] = [];
    for (let i = 0; i < 12; i++) tokens.push(await registerDevice(user, newDeviceToken()));
    const list = await api<V1MeDevicesGetResponse>("GET", "/v1/me/devices", { token: user.token });
    expect(list.body.items.map((d) => d.token).sort()).toEqual(tokens.slice(2).sort());
  });

  it("the retention job deletes inbox entries past 180 days and keeps newer ones", async () => {
    const user = await createUser();
    const old = new Date(Date.now() - 181 * 86_400_000);
    await db()
      .insert(notifications)
      .values([
        { userId: user.id, type: "test.old", title: "old", body: "b", createdAt: old, pushedAt: old },
        { userId: user.id, type: "test.new", title: "new", body: "b", pushedAt: new Date() },
      ]);
    await settled(async () => {
      await tick();
      expect((await inbox(user)).items.map((n) => n.type)).toEqual(["test.new"]);
    });
  });

  it("forgets a reservation's Idempotency-Key after its 24 h window", async () => {
    const f = await createFestival({ dayCount: 1, capacity: 10 });
    const user = await createUser();
    const body = { day: f.days[0], quantity: 1 };
    const first = await reserve(user, f.id, body, "retention-key");
    expect((await reserve(user, f.id, body, "retention-key")).body.id).toBe(first.body.id);
    await db()
      .update(reservations)
      .set({ createdAt: new Date(Date.now() - 26 * 3_600_000) })
      .where(eq(reservations.id, first.body.id));
    await settled(async () => {
      await tick();
      const [row] = await db().select().from(reservations).where(eq(reservations.id, first.body.id));
      expect(row?.idempotencyKey).toBeNull();
    });
    const later = await reserve(user, f.id, body, "retention-key");
    expect(later.status).toBe(201);
    expect(later.body.id).not.toBe(first.body.id);
  });
});

describe("queued notices", () => {
  it("a notice a dead drainer left in its processing list is delivered by the next tick", async () => {
    const s = getServices(env);
    const user = await createUser();
    // What a drainer that died mid-item leaves: the item moved to processing, never handled.
    await s.redis.rpush(
      `${notificationEventsKey(s)}:processing`,
      JSON.stringify({ userId: user.id, type: "test.queued", title: "t", body: "b", dedupeKey: "queued:1" }),
    );
    await settled(async () => {
      await tick();
      expect(ofType(await inbox(user), "test.queued")).toHaveLength(1);
    });
  });
});
