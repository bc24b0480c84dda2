import { describe, expect, it } from "vitest";
import type { V1FestivalsGetResponse } from "../../workers/api/festivals/v1_festivals_get";
import { createAdmin, createFestival, createUser, createUsers, day, postFestival } from "./fixtures";
import { type ApiError, api } from "./helpers";
import { expectReplay, type RawAnswer, rawApi } from "./idempotency-helpers";
import { dbState, type ReservationBody, reserve } from "./reservations-helpers";

// Hundreds of requests each: on a machine shared with other test runs they take their time, and a
// time limit is not what these tests are about.
const HEAVY = { timeout: 120_000 };

/**
 * Sends until the answer is definite, as a client does: a 503 with Retry-After (the machine was too
 * busy for the 10 s retry budget, or a dependency timed out) is sent again with the same
 * Idempotency-Key, so a retry can never reserve twice. Bounded by time, not by a count.
 */
async function untilDefinite<T extends { status: number; headers: Headers }>(
  send: (key: string) => Promise<T>,
  budgetMs = 60_000,
): Promise<T> {
  const key = `c-${crypto.randomUUID()}`;
  const deadline = Date.now() + budgetMs;
  for (;;) {
    const res = await send(key);
    if (res.status !== 503 || !res.headers.get("retry-after") || Date.now() > deadline) return res;
    await new Promise((resolve) => setTimeout(resolve, 1_000 * Number(res.headers.get("retry-after"))));
  }
}

describe("reservations under sale-day concurrency", () => {
  it("sells exactly the capacity to 300 users racing for 50 places", HEAVY, async () => {
    const f = await createFestival({ capacity: 50, dayCount: 1, perUserLimit: 2 });
    const day = f.days[0] as string;
    const users = await createUsers(300);
    const results = await Promise.all(
      users.map((u) => untilDefinite((key) => reserve(u, f.id, { day, quantity: 1 }, key))),
    );

    const won = results.filter((r) => r.status === 201);
    const lost = results.filter((r) => r.status !== 201);
    expect(won).toHaveLength(50);
    expect(lost).toHaveLength(250);
    for (const r of lost) {
      expect(r.status).toBe(409);
      expect((r.body as unknown as ApiError).error.code).toBe("reservation.sold_out");
    }
    expect(new Set(won.map((r) => r.body.userId)).size).toBe(50);

    const state = await dbState(f.id);
    expect(state.days[day]).toMatchObject({ capacity: 50, reserved: 50 });
    expect(state.active[day]).toBe(50);
    expect(state.reservedCount).toBe(50);
    expect(state.rows).toHaveLength(50);
  });

  it("keeps every day exact when a crowd asks for two days and 1 to 3 places at once", HEAVY, async () => {
    // Batches of the sale desk mix days, quantities and users: each day's counter, the festival's
    // and each user's total must be the sums of the rows, and no day may pass its capacity.
    const f = await createFestival({ capacity: 20, dayCount: 2, perUserLimit: 6 });
    const users = await createUsers(40);
    const asks = users.flatMap((u, i) => [
      { u, day: f.days[i % 2] as string, quantity: 1 + (i % 3) },
      { u, day: f.days[(i + 1) % 2] as string, quantity: 1 + ((i + 1) % 3) },
    ]);
    const results = await Promise.all(
      asks.map((a) => untilDefinite((key) => reserve(a.u, f.id, { day: a.day, quantity: a.quantity }, key))),
    );
    for (const r of results.filter((r) => r.status !== 201)) {
      expect(r.status).toBe(409);
      expect((r.body as unknown as ApiError).error.code).toBe("reservation.sold_out");
    }
    const state = await dbState(f.id);
    let total = 0;
    for (const d of f.days) {
      const sum = results
        .filter((r) => r.status === 201 && r.body.day === d)
        .reduce((n, r) => n + r.body.quantity, 0);
      total += sum;
      expect(state.days[d]).toMatchObject({ capacity: 20, reserved: sum, held: 0 });
      expect(state.active[d] ?? 0).toBe(sum);
      // A crowd this size fills the day: within 2 places (the smallest refused ask was bigger than what was left).
      expect(sum).toBeGreaterThanOrEqual(18);
    }
    expect(state.reservedCount).toBe(total);
    expect(state.rows).toHaveLength(results.filter((r) => r.status === 201).length);
  });

  it(
    "turns 20 simultaneous repeats with one Idempotency-Key into one reservation and 20 identical answers",
    HEAVY,
    async () => {
      const f = await createFestival({ capacity: 10, dayCount: 1, perUserLimit: 4 });
      const day = f.days[0] as string;
      const user = await createUser();
      const key = `retry-${crypto.randomUUID()}`;
      const send = () =>
        rawApi("POST", `/v1/festivals/${f.id}/reservations`, {
          token: user.token,
          headers: { "idempotency-key": key },
          body: { day, quantity: 2 },
        });
      const results = await Promise.all(Array.from({ length: 20 }, send));

      // Identical as bytes, not only as parsed JSON; exactly one ran, the others replay it.
      const ran = results.filter((r) => r.headers.get("idempotent-replayed") === null);
      expect(ran).toHaveLength(1);
      const first = ran[0] as RawAnswer;
      expect(first.status).toBe(201);
      for (const r of results) if (r !== first) expectReplay(r, first);
      const state = await dbState(f.id);
      expect(state.rows).toHaveLength(1);
      expect(state.days[day]?.reserved).toBe(2);

      // Later repeats within the window still get the first answer.
      expectReplay(await send(), first);
    },
  );

  it("holds one user's per-user limit when that user fires requests in parallel", HEAVY, async () => {
    const f = await createFestival({ capacity: 100, dayCount: 2, perUserLimit: 3 });
    const user = await createUser();
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => reserve(user, f.id, { day: f.days[i % 2], quantity: 1 })),
    );
    expect(results.filter((r) => r.status === 201)).toHaveLength(3);
    for (const r of results.filter((r) => r.status !== 201)) {
      expect(r.status).toBe(422);
      expect((r.body as unknown as ApiError).error.code).toBe("reservation.limit_exceeded");
    }
    const state = await dbState(f.id);
    expect(Object.values(state.active).reduce((a, b) => a + b, 0)).toBe(3);
    expect(state.reservedCount).toBe(3);
  });

  it("keeps counts exact when cancellations and new reservations race on a full day", HEAVY, async () => {
    const capacity = 20;
    const k = 6;
    const f = await createFestival({ capacity, dayCount: 1, perUserLimit: 1 });
    const day = f.days[0] as string;
    const holders = await createUsers(capacity);
    const held = await Promise.all(holders.map((u) => reserve(u, f.id, { day, quantity: 1 })));
    expect(held.every((r) => r.status === 201)).toBe(true);
    expect((await reserve(await createUser(), f.id, { day, quantity: 1 })).status).toBe(409);

    const newcomers = await createUsers(k + 5);
    const cancels = holders
      .slice(0, k)
      .map((u, i) =>
        api<ReservationBody>("POST", `/v1/reservations/${held[i]?.body.id}/cancel`, { token: u.token }),
      );
    const reserves = newcomers.map((u) => reserve(u, f.id, { day, quantity: 1 }));
    const [cancelled, raced] = await Promise.all([Promise.all(cancels), Promise.all(reserves)]);
    expect(cancelled.every((r) => r.status === 200)).toBe(true);

    // Those that lost the race to a cancellation try again once it is all settled, as a client would.
    const retried = await Promise.all(
      raced.map((r, i) =>
        r.status === 201 ? r : reserve(newcomers[i] as { token: string }, f.id, { day, quantity: 1 }),
      ),
    );
    expect(retried.filter((r) => r.status === 201)).toHaveLength(k);
    for (const r of retried.filter((r) => r.status !== 201)) {
      expect((r.body as unknown as ApiError).error.code).toBe("reservation.sold_out");
    }
    const state = await dbState(f.id);
    expect(state.days[day]?.reserved).toBe(capacity);
    expect(state.active[day]).toBe(capacity);
    expect(state.reservedCount).toBe(capacity);
  });

  it("never loses reservations made while capacity changes", HEAVY, async () => {
    const admin = await createAdmin();
    const f = await postFestival(admin, {
      capacity: 1000,
      startDate: day(30),
      endDate: day(30),
      perUserLimit: 1,
    });
    const date = day(30);
    const buyers = await createUsers(40);
    // Every capacity an admin sets here fits all 40 buyers exactly (40…49), whatever order the
    // database sees them in; the admin's writes and the buyers' go through the API side by side.
    const patches = Array.from({ length: 10 }, (_, i) =>
      untilDefinite(() =>
        api("PATCH", `/v1/festivals/${f.id}`, { token: admin.token, body: { capacity: 40 + i } }),
      ),
    );
    const reservations = buyers.map((u) =>
      untilDefinite((key) => reserve(u, f.id, { day: date, quantity: 1 }, key)),
    );
    const [patched, reserved] = await Promise.all([Promise.all(patches), Promise.all(reservations)]);
    expect(patched.map((r) => r.status)).toEqual(patched.map(() => 200));
    expect(reserved.map((r) => r.status)).toEqual(reserved.map(() => 201));

    const state = await dbState(f.id);
    expect(state.days[date]?.reserved).toBe(40);
    expect(state.days[date]?.capacity).toBeGreaterThanOrEqual(40);
    expect(state.days[date]?.capacity).toBeLessThanOrEqual(49);
    expect(state.active[date]).toBe(40);
    expect(state.reservedCount).toBe(40);
    expect(state.rows.filter((r) => r.status === "confirmed")).toHaveLength(40);
    // What the public sees agrees once the caches have passed (at most 2 s for remaining places).
    await expect
      .poll(
        async () => {
          const detail = await api<V1FestivalsGetResponse>("GET", `/v1/festivals/${f.id}`);
          return detail.body.days?.[0];
        },
        { timeout: 10_000, interval: 250 },
      )
      .toEqual({
        date,
        capacity: state.days[date]?.capacity,
        remaining: (state.days[date]?.capacity ?? 0) - 40,
      });
  });
});
