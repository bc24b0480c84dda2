import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { festivalDays } from "../../workers/db/schema/festivals";
import { reservations } from "../../workers/db/schema/reservations";
import { createFestival, createUser, db, seoulDay } from "./fixtures";
import { type ApiError, api } from "./helpers";
import { expectReplay, rawApi } from "./idempotency-helpers";
import { dbState, reserve } from "./reservations-helpers";

const errorOf = (r: { body: unknown }) => (r.body as ApiError).error;

async function expectNothingWritten(festivalId: number) {
  const state = await dbState(festivalId);
  expect(state.rows).toHaveLength(0);
  expect(Object.values(state.days).every((d) => d.reserved === 0)).toBe(true);
  expect(state.reservedCount).toBe(0);
}

describe("reservations: business rules", () => {
  it("refuses outside the sale window with reservation.not_on_sale", async () => {
    const user = await createUser();
    const soon = await createFestival({ saleOpensAt: new Date(Date.now() + 3600_000) });
    const early = await reserve(user, soon.id, { day: soon.days[0], quantity: 1 });
    expect(early.status).toBe(422);
    expect(errorOf(early)).toMatchObject({
      code: "reservation.not_on_sale",
      details: { reason: "not_yet_open" },
    });

    const over = await createFestival({ saleClosesAt: new Date(Date.now() - 1000) });
    const late = await reserve(user, over.id, { day: over.days[0], quantity: 1 });
    expect(late.status).toBe(422);
    expect(errorOf(late)).toMatchObject({ code: "reservation.not_on_sale", details: { reason: "closed" } });
    await expectNothingWritten(soon.id);
    await expectNothingWritten(over.id);
  });

  it("refuses days outside the festival, in the past, or without places with reservation.invalid_day", async () => {
    const user = await createUser();
    const f = await createFestival({ dayCount: 3 });
    await db()
      .delete(festivalDays)
      .where(and(eq(festivalDays.festivalId, f.id), eq(festivalDays.day, f.days[2] as string)));
    for (const day of [seoulDay(0), seoulDay(10), f.days[2]]) {
      const r = await reserve(user, f.id, { day, quantity: 1 });
      expect(r.status).toBe(422);
      expect(errorOf(r).code).toBe("reservation.invalid_day");
    }
    // A festival already running: yesterday is over even though it is within the festival's dates.
    const running = await createFestival({ dayCount: 0, startDate: seoulDay(-1), endDate: seoulDay(1) });
    await db()
      .insert(festivalDays)
      .values([-1, 0, 1].map((n) => ({ festivalId: running.id, day: seoulDay(n), capacity: 5 })));
    const past = await reserve(user, running.id, { day: seoulDay(-1), quantity: 1 });
    expect(errorOf(past).code).toBe("reservation.invalid_day");
    expect((await reserve(user, running.id, { day: seoulDay(0), quantity: 1 })).status).toBe(201);
    await expectNothingWritten(f.id);
  });

  it("refuses more than the per-user limit in one request and an unknown festival", async () => {
    const user = await createUser();
    const f = await createFestival({ perUserLimit: 2 });
    const r = await reserve(user, f.id, { day: f.days[0], quantity: 3 });
    expect(r.status).toBe(422);
    expect(errorOf(r)).toMatchObject({
      code: "reservation.limit_exceeded",
      details: { limit: 2, requested: 3 },
    });
    const missing = await reserve(user, 987_654_321, { day: f.days[0], quantity: 1 });
    expect(missing.status).toBe(404);
    expect(errorOf(missing).code).toBe("festival.not_found");
    await expectNothingWritten(f.id);
  });

  it("reports how many places remain when a request is too big for the day", async () => {
    const f = await createFestival({ capacity: 3, dayCount: 1, perUserLimit: 3 });
    expect((await reserve(await createUser(), f.id, { day: f.days[0], quantity: 2 })).status).toBe(201);
    const r = await reserve(await createUser(), f.id, { day: f.days[0], quantity: 2 });
    expect(r.status).toBe(409);
    expect(errorOf(r)).toMatchObject({ code: "reservation.sold_out", details: { remaining: 1 } });
    expect((await reserve(await createUser(), f.id, { day: f.days[0], quantity: 1 })).status).toBe(201);
  });

  it("does not cancel a reservation for a day that is over", async () => {
    const user = await createUser();
    const f = await createFestival({ dayCount: 0, startDate: seoulDay(-2), endDate: seoulDay(1) });
    const [row] = await db()
      .insert(reservations)
      .values({
        festivalId: f.id,
        userId: user.id,
        day: seoulDay(-1),
        quantity: 1,
        status: "confirmed",
        confirmedAt: new Date(),
      })
      .$returningId();
    const r = await api<ApiError>("POST", `/v1/reservations/${row?.id}/cancel`, { token: user.token });
    expect(r.status).toBe(422);
    expect(r.body.error.code).toBe("reservation.cancel_closed");
  });
});

describe("reservations: bad input", () => {
  it("answers malformed requests with 400 and writes nothing", async () => {
    const user = await createUser();
    const f = await createFestival();
    const day = f.days[0];
    const bodies: unknown[] = [
      undefined,
      "{not json",
      {},
      { day },
      { quantity: 1 },
      { day, quantity: 0 },
      { day, quantity: -1 },
      { day, quantity: 1.5 },
      { day, quantity: "2" },
      { day, quantity: 1000 },
      { day: "2026-02-30", quantity: 1 },
      { day: "26-10-03", quantity: 1 },
      { day: 20261003, quantity: 1 },
      { day, quantity: 1, userId: 1 },
      [{ day, quantity: 1 }],
    ];
    for (const body of bodies) {
      const r = await reserve(user, f.id, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(errorOf(r).code).toMatch(/^(validation\.failed|request\.invalid)$/);
    }
    for (const id of ["abc", "0", "-3", "1.5", "99999999999999999999"]) {
      expect((await reserve(user, id as unknown as number, { day, quantity: 1 })).status).toBe(400);
    }
    await expectNothingWritten(f.id);
  });

  it("rejects bad list queries and ids with 400", async () => {
    const user = await createUser();
    for (const q of [
      "?limit=0",
      "?limit=101",
      "?limit=x",
      "?status=lost",
      "?cursor=%%%",
      "?cursor=eyJpZCI6IngifQ",
    ]) {
      const r = await api<ApiError>("GET", `/v1/me/reservations${q}`, { token: user.token });
      expect(r.status, q).toBe(400);
    }
    expect((await api("GET", "/v1/reservations/abc", { token: user.token })).status).toBe(400);
    expect((await api("POST", "/v1/reservations/abc/cancel", { token: user.token })).status).toBe(400);
  });
});

describe("reservations: Idempotency-Key", () => {
  it("refuses the same key with a different body, and a malformed key", async () => {
    const user = await createUser();
    const f = await createFestival({ perUserLimit: 4 });
    const key = `k-${crypto.randomUUID()}`;
    expect((await reserve(user, f.id, { day: f.days[0], quantity: 1 }, key)).status).toBe(201);
    const reused = await reserve(user, f.id, { day: f.days[0], quantity: 2 }, key);
    expect(reused.status).toBe(422);
    expect(errorOf(reused).code).toBe("idempotency.key_reused");
    const elsewhere = await createFestival();
    const otherPath = await reserve(user, elsewhere.id, { day: elsewhere.days[0], quantity: 1 }, key);
    expect(errorOf(otherPath).code).toBe("idempotency.key_reused");
    const bad = await reserve(user, f.id, { day: f.days[0], quantity: 1 }, "x".repeat(300));
    expect(bad.status).toBe(400);
    expect(errorOf(bad).code).toBe("idempotency.invalid_key");
    expect((await dbState(f.id)).rows).toHaveLength(1);
  });

  it("does not remember a sold-out answer: the same key succeeds once places free up", async () => {
    const f = await createFestival({ capacity: 1, dayCount: 1, perUserLimit: 1 });
    const day = f.days[0];
    const [holder, waiter] = [await createUser(), await createUser()];
    const held = await reserve(holder, f.id, { day, quantity: 1 });
    const key = `k-${crypto.randomUUID()}`;
    expect((await reserve(waiter, f.id, { day, quantity: 1 }, key)).status).toBe(409);
    await api("POST", `/v1/reservations/${held.body.id}/cancel`, { token: holder.token });
    const retry = await reserve(waiter, f.id, { day, quantity: 1 }, key);
    expect(retry.status).toBe(201);
    expect(retry.headers.get("idempotent-replayed")).toBeNull();
  });

  it("replays a remembered rule violation (422) instead of running it again", async () => {
    const f = await createFestival({ perUserLimit: 1 });
    const user = await createUser();
    const key = `k-${crypto.randomUUID()}`;
    const send = () =>
      rawApi("POST", `/v1/festivals/${f.id}/reservations`, {
        token: user.token,
        headers: { "idempotency-key": key },
        body: { day: f.days[0], quantity: 2 },
      });
    const first = await send();
    expect(first.status).toBe(422);
    // Byte for byte: the stored envelope, whose requestId is the first request's.
    expectReplay(await send(), first);
  });

  it("makes a retried cancel answer like the first one, byte for byte", async () => {
    const f = await createFestival();
    const user = await createUser();
    const r = await reserve(user, f.id, { day: f.days[0], quantity: 1 });
    const headers = { "idempotency-key": `c-${crypto.randomUUID()}` };
    const path = `/v1/reservations/${r.body.id}/cancel`;
    const first = await rawApi("POST", path, { token: user.token, headers });
    expect(first.status).toBe(200);
    expectReplay(await rawApi("POST", path, { token: user.token, headers }), first);
  });
});
