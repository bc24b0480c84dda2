import { eq } from "drizzle-orm";
import { describe, expect, it, vi } from "vitest";
import type { V1MeChatRoomsGetResponse } from "../../workers/api/chat/v1_me_chat_rooms_get";
import { followUps } from "../../workers/db/schema/follow-ups";
import { runCron } from "../worker/cron";
import { failStatements, stopFailing } from "../worker/db-faults";
import { createAdminUser, createFestival, createUser, db, type SeededUser } from "../worker/fixtures";
import { type ApiError, api } from "../worker/helpers";
import { inbox, ofType } from "../worker/notifications-helpers";
import { dbState, type ReservationBody, reserve } from "../worker/reservations-helpers";
import { entryStatus, joinWaitlist } from "../worker/sales-helpers";

/**
 * Work after a COMMIT survives the Worker that should have done it (issue 15): it is an outbox row
 * written with the change, run right after the answer, and finished by the cron when that run
 * failed or never happened. The best-effort run is made to fail with statement faults on the
 * database stand-in (only this test's own statements match).
 */

const myRooms = (token: string) => api<V1MeChatRoomsGetResponse>("GET", "/v1/me/chat-rooms", { token });

/** The outbox row of `kind` whose payload names `key` = `value`, as the database holds it. */
async function outboxRow(kind: string, key: string, value: number) {
  const rows = await db().select().from(followUps).where(eq(followUps.kind, kind));
  return rows.find((r) => r.payload[key] === value);
}

/** Waits until the best-effort run has given up on the row (its failure is counted). */
const waitForFailedRun = (kind: string, key: string, value: number) =>
  vi.waitFor(
    async () => {
      const row = await outboxRow(kind, key, value);
      expect(row?.attempts).toBeGreaterThanOrEqual(1);
    },
    { timeout: 40_000, interval: 200 },
  );

/** A tick five minutes ahead: past the failed row's backoff. */
const laterTick = () => runCron({ scheduledTime: Date.now() + 5 * 60_000 });

describe("outbox: the cron finishes what the request could not", () => {
  it("chat join after commit: the membership and inbox entry appear after the best-effort run failed", async () => {
    const f = await createFestival({ dayCount: 1 });
    const user = await createUser();
    // Every statement of joining this festival's room fails as a lock wait timeout does.
    const match = `\`chat_rooms\`.\`festival_id\` = ${f.id}`;
    await failStatements(match, { errno: 1205 });
    try {
      const r = await reserve(user, f.id, { day: f.days[0], quantity: 1 });
      expect(r.status).toBe(201);
      await waitForFailedRun("reservation.confirmed", "reservationId", r.body.id);
    } finally {
      expect(await stopFailing(match)).toBeGreaterThan(0);
    }
    expect((await myRooms(user.token)).body.items).toEqual([]);
    expect(ofType(await inbox(user), "reservation.confirmed")).toEqual([]);

    await laterTick();
    expect((await myRooms(user.token)).body.items.map((i) => i.festivalId)).toEqual([f.id]);
    expect(ofType(await inbox(user), "reservation.confirmed")).toHaveLength(1);
  });

  it("a festival cancellation whose request-time part failed is completed by the cron", async () => {
    const f = await createFestival({ dayCount: 1, capacity: 10, firstDay: 0 });
    const [a, b, admin] = [await createUser(), await createUser(), await createAdminUser()];
    const ra = await reserve(a, f.id, { day: f.days[0], quantity: 2 });
    const rb = await reserve(b, f.id, { day: f.days[0], quantity: 1 });
    const match = `festival_id = ${f.id} AND status = 'confirmed' ORDER BY id`;
    await failStatements(match, { errno: 1205 });
    try {
      const res = await api("POST", `/v1/festivals/${f.id}/cancel`, {
        token: admin.token,
        body: { reason: "정전" },
      });
      // The cancellation itself committed (flag + job in one transaction): the admin is told so.
      expect(res.status).toBe(200);
      await waitForFailedRun("festival.cancelled", "festivalId", f.id);
    } finally {
      expect(await stopFailing(match)).toBeGreaterThan(0);
    }
    // Meanwhile: still confirmed, but nothing new gets in and the gate refuses them.
    expect((await dbState(f.id)).rows.filter((r) => r.status === "confirmed")).toHaveLength(2);
    const gate = await api<ApiError>("POST", `/v1/festivals/${f.id}/check-ins`, {
      token: admin.token,
      body: { code: ra.body.checkInCode },
    });
    expect(gate.body.error.code).toBe("checkin.festival_cancelled");

    await laterTick();
    for (const [r, owner] of [
      [ra, a],
      [rb, b],
    ] as const) {
      const read = await api<ReservationBody>("GET", `/v1/reservations/${r.body.id}`, { token: owner.token });
      expect(read.body).toMatchObject({ status: "cancelled", cancelReason: "festival_cancelled" });
      const told = ofType(await inbox(owner), "festival.cancelled");
      expect(told).toHaveLength(1);
      expect(told[0]?.body).toContain("정전");
    }
    const state = await dbState(f.id);
    expect(state.days[f.days[0] as string]).toMatchObject({ reserved: 0, held: 0 });
    expect(state.reservedCount).toBe(0);
    expect(await outboxRow("festival.cancelled", "festivalId", f.id)).toBeUndefined();
  });

  it("a waitlist offer whose announcement was lost is announced by the cron", async () => {
    const f = await createFestival({ dayCount: 1, capacity: 1 });
    const day = f.days[0] as string;
    const [holder, waiter] = [await createUser(), await createUser()] as [SeededUser, SeededUser];
    const held = await reserve(holder, f.id, { day, quantity: 1 });
    expect((await joinWaitlist(waiter, f.id, { day, quantity: 1 })).status).toBe(201);
    // The notice's insert fails, as if the Worker had died between the offer's commit and its notice.
    const match = `values (default, ${waiter.id}, 'waitlist.offer'`;
    await failStatements(match, { errno: 1205 });
    try {
      const cancel = await api("POST", `/v1/reservations/${held.body.id}/cancel`, { token: holder.token });
      expect(cancel.status).toBe(200);
    } finally {
      expect(await stopFailing(match)).toBeGreaterThan(0);
    }
    expect((await entryStatus(waiter, f.id, day))?.status).toBe("offered");
    expect(ofType(await inbox(waiter), "waitlist.offer")).toEqual([]);

    await laterTick();
    expect(ofType(await inbox(waiter), "waitlist.offer")).toHaveLength(1);
    await laterTick();
    expect(ofType(await inbox(waiter), "waitlist.offer")).toHaveLength(1);
  });
});
