import { describe, expect, it } from "vitest";
import { createFestival, createUser, createUsers } from "./fixtures";
import { type ApiError, api } from "./helpers";
import { dbState, type ReservationBody, reserve } from "./reservations-helpers";

describe("reservations under sale-day concurrency", () => {
  it("sells exactly the capacity to 300 users racing for 50 places", async () => {
    const f = await createFestival({ capacity: 50, dayCount: 1, perUserLimit: 2 });
    const day = f.days[0] as string;
    const users = await createUsers(300);
    const results = await Promise.all(users.map((u) => reserve(u, f.id, { day, quantity: 1 })));

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

  it("turns 20 simultaneous repeats with one Idempotency-Key into one reservation and 20 identical answers", async () => {
    const f = await createFestival({ capacity: 10, dayCount: 1, perUserLimit: 4 });
    const day = f.days[0] as string;
    const user = await createUser();
    const key = `retry-${crypto.randomUUID()}`;
    const results = await Promise.all(
      Array.from({ length: 20 }, () => reserve(user, f.id, { day, quantity: 2 }, key)),
    );

    for (const r of results) {
      expect(r.status).toBe(201);
      expect(r.body).toEqual(results[0]?.body);
    }
    expect(results.filter((r) => r.headers.get("idempotent-replayed") === "true")).toHaveLength(19);
    const state = await dbState(f.id);
    expect(state.rows).toHaveLength(1);
    expect(state.days[day]?.reserved).toBe(2);

    // Later repeats within the window still get the first answer.
    const later = await reserve(user, f.id, { day, quantity: 2 }, key);
    expect(later.status).toBe(201);
    expect(later.body).toEqual(results[0]?.body);
  });

  it("holds one user's per-user limit when that user fires requests in parallel", async () => {
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

  it("keeps counts exact when cancellations and new reservations race on a full day", async () => {
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
});
