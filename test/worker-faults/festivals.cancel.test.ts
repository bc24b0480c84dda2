import { and, eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import type { V1FestivalsGetResponse } from "../../workers/api/festivals/v1_festivals_get";
import { festivalDays, festivals } from "../../workers/db/schema/festivals";
import { reservations, reservationUserTotals } from "../../workers/db/schema/reservations";
import { runCron as tick } from "../worker/cron";
import { createAdminUser, createFestival, createUsers, db } from "../worker/fixtures";
import { type ApiError, api } from "../worker/helpers";
import { inbox, ofType } from "../worker/notifications-helpers";
import { dbState, type ReservationBody, reserve } from "../worker/reservations-helpers";

/**
 * Cancelling a festival is a durable background job (issue 15): the admin's request marks it
 * cancelled and queues the job in one transaction, does a bounded first part, and the cron finishes
 * the rest in set-based chunks, resuming where the last step stopped.
 */

/** `count` confirmed reservations of one place each, spread over `holders`, as the engine leaves them. */
async function seedHolders(festivalId: number, day: string, holders: { id: number }[], count: number) {
  const now = new Date();
  const rows = Array.from({ length: count }, (_, i) => ({
    festivalId,
    userId: (holders[i % holders.length] as { id: number }).id,
    day,
    quantity: 1,
    status: "confirmed" as const,
    confirmedAt: now,
    createdAt: now,
    updatedAt: now,
  }));
  for (let i = 0; i < rows.length; i += 500)
    await db()
      .insert(reservations)
      .values(rows.slice(i, i + 500));
  await db()
    .insert(reservationUserTotals)
    .values(
      holders.map((h, k) => ({
        festivalId,
        userId: h.id,
        quantity: rows.filter((_, i) => i % holders.length === k).length,
      })),
    );
  await db()
    .update(festivalDays)
    .set({ reserved: count })
    .where(and(eq(festivalDays.festivalId, festivalId), eq(festivalDays.day, day)));
  await db().update(festivals).set({ reservedCount: count }).where(eq(festivals.id, festivalId));
}

const confirmedCount = async (festivalId: number) =>
  (await dbState(festivalId)).rows.filter((r) => r.status === "confirmed").length;

describe("festival cancellation as a background job", () => {
  it("cancels a large festival in chunks: the request does a bounded part, the cron the rest", async () => {
    const holders = await createUsers(3);
    const f = await createFestival({ capacity: 5000, dayCount: 1 });
    const day = f.days[0] as string;
    await seedHolders(f.id, day, holders, 1600);
    const admin = await createAdminUser();

    const res = await api<V1FestivalsGetResponse>("POST", `/v1/festivals/${f.id}/cancel`, {
      token: admin.token,
      body: { reason: "태풍" },
    });
    expect(res.status).toBe(200);
    expect(res.body.cancelled).toBe(true);
    // Not everything inside the admin's request: some reservations are left for the job.
    const left = await confirmedCount(f.id);
    expect(left).toBeGreaterThan(0);
    expect(left).toBeLessThan(1600);
    // A new reservation is refused at once: the flag committed with the job.
    const late = await reserve(holders[0] as { token: string }, f.id, { day, quantity: 1 });
    expect((late.body as unknown as ApiError).error.code).toBe("reservation.not_on_sale");

    await tick();
    const state = await dbState(f.id);
    expect(state.rows.filter((r) => r.status === "confirmed")).toEqual([]);
    expect(state.rows.every((r) => r.cancelReason === "festival_cancelled")).toBe(true);
    expect(state.days[day]).toMatchObject({ reserved: 0, held: 0 });
    expect(state.reservedCount).toBe(0);
    const totals = await db()
      .select({ quantity: reservationUserTotals.quantity })
      .from(reservationUserTotals)
      .where(eq(reservationUserTotals.festivalId, f.id));
    expect(totals.map((t) => t.quantity)).toEqual([0, 0, 0]);
    // Every holder is told once, with the reason.
    for (const h of holders) {
      const told = ofType(await inbox(h), "festival.cancelled");
      expect(told).toHaveLength(1);
      expect(told[0]?.body).toContain("태풍");
    }
    // The job is finished: another tick changes nothing and tells nobody twice.
    await tick();
    for (const h of holders) expect(ofType(await inbox(h), "festival.cancelled")).toHaveLength(1);
  });

  it("finishes a small festival before answering, and a repeated cancel is a no-op", async () => {
    const f = await createFestival({ capacity: 10, dayCount: 1 });
    const [a] = await createUsers(1);
    const admin = await createAdminUser();
    const r = await reserve(a as { token: string }, f.id, { day: f.days[0], quantity: 2 });
    expect(r.status).toBe(201);
    for (let i = 0; i < 2; i++) {
      expect((await api("POST", `/v1/festivals/${f.id}/cancel`, { token: admin.token })).status).toBe(200);
      const read = await api<ReservationBody>("GET", `/v1/reservations/${r.body.id}`, {
        token: (a as { token: string }).token,
      });
      expect(read.body).toMatchObject({ status: "cancelled", cancelReason: "festival_cancelled" });
      expect(ofType(await inbox(a as { token: string }), "festival.cancelled")).toHaveLength(1);
    }
    const [{ n } = { n: -1 }] = await db()
      .select({ n: sql<number>`count(*)`.mapWith(Number) })
      .from(reservations)
      .where(and(eq(reservations.festivalId, f.id), eq(reservations.status, "confirmed")));
    expect(n).toBe(0);
  });
});
