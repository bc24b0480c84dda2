import { describe, expect, it } from "vitest";
import { createFestival, createUsers, PASSWORD, type SeededUser, seoulDay } from "./fixtures";
import { type ApiError, api } from "./helpers";
import { dbState, type ReservationBody, reserve } from "./reservations-helpers";
import { entryStatus, expectWithinCapacity, joinWaitlist, myEntries } from "./sales-helpers";

const code = (res: { body: unknown }) => (res.body as ApiError).error?.code;
const cancel = (u: SeededUser, id: number) =>
  api<ReservationBody>("POST", `/v1/reservations/${id}/cancel`, { token: u.token });

async function soldOut(capacity = 1, extra: Parameters<typeof createFestival>[0] = {}) {
  const f = await createFestival({ capacity, dayCount: 2, ...extra });
  const day = f.days[0] as string;
  const [buyer] = (await createUsers(1)) as [SeededUser];
  const r = await reserve(buyer, f.id, { day, quantity: capacity });
  expect(r.status).toBe(201);
  return { f, day, buyer, reservationId: r.body.id };
}

describe("waitlist: refusals that change nothing", () => {
  it("sends people to the reservation call when the day has the places (409)", async () => {
    const f = await createFestival({ capacity: 5 });
    const [u] = (await createUsers(1)) as [SeededUser];
    const res = await joinWaitlist(u, f.id, { day: f.days[0], quantity: 2 });
    expect(res.status).toBe(409);
    expect(code(res)).toBe("waitlist.places_available");
    expect(await myEntries(u, f.id)).toEqual([]);
  });

  it("validates the body (400) and the day (422)", async () => {
    const { f } = await soldOut();
    const [u] = (await createUsers(1)) as [SeededUser];
    for (const body of [
      {},
      { day: "2026-02-30", quantity: 1 },
      { day: f.days[0], quantity: 0 },
      { day: f.days[0], quantity: 1, x: 1 },
    ]) {
      const res = await joinWaitlist(u, f.id, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
    }
    for (const day of [seoulDay(-1), seoulDay(30)]) {
      const res = await joinWaitlist(u, f.id, { day, quantity: 1 });
      expect(res.status).toBe(422);
      expect(code(res)).toBe("waitlist.invalid_day");
    }
    expect(await myEntries(u, f.id)).toEqual([]);
  });

  it("keeps to the per-user limit (422), counting places already reserved", async () => {
    const f = await createFestival({ capacity: 3, dayCount: 2, perUserLimit: 2 });
    const [u, other] = (await createUsers(2)) as [SeededUser, SeededUser];
    expect((await reserve(u, f.id, { day: f.days[1], quantity: 1 })).status).toBe(201);
    expect((await reserve(other, f.id, { day: f.days[0], quantity: 2 })).status).toBe(201);
    const [third] = (await createUsers(1)) as [SeededUser];
    expect((await reserve(third, f.id, { day: f.days[0], quantity: 1 })).status).toBe(201);
    const res = await joinWaitlist(u, f.id, { day: f.days[0], quantity: 2 });
    expect(res.status).toBe(422);
    expect(code(res)).toBe("waitlist.limit_exceeded");
  });

  it("refuses a festival that is not on sale (422) or does not exist (404)", async () => {
    const closed = await createFestival({ capacity: 0, saleClosesAt: new Date(Date.now() - 1000) });
    const future = await createFestival({ capacity: 0, saleOpensAt: new Date(Date.now() + 3600_000) });
    const cancelled = await createFestival({ capacity: 0, cancelledAt: new Date() });
    const [u] = (await createUsers(1)) as [SeededUser];
    for (const f of [closed, future, cancelled]) {
      const res = await joinWaitlist(u, f.id, { day: f.days[0], quantity: 1 });
      expect(res.status).toBe(422);
      expect(code(res)).toBe("waitlist.not_on_sale");
    }
    const missing = await joinWaitlist(u, 99999999, { day: seoulDay(1), quantity: 1 });
    expect(missing.status).toBe(404);
  });

  it("answers 404 when leaving a waitlist one is not on", async () => {
    const { f, day } = await soldOut();
    const [u] = (await createUsers(1)) as [SeededUser];
    const res = await api("DELETE", `/v1/festivals/${f.id}/waitlist/me/${day}`, { token: u.token });
    expect(res.status).toBe(404);
    expect(code(res)).toBe("waitlist.not_found");
  });

  it("a claim past the per-user limit is refused (422) and the offer stays held", async () => {
    const { f, day, buyer, reservationId } = await soldOut(2, { perUserLimit: 2 });
    const [w] = (await createUsers(1)) as [SeededUser];
    await joinWaitlist(w, f.id, { day, quantity: 1 });
    // Meanwhile w takes its whole allowance on the other day.
    expect((await reserve(w, f.id, { day: f.days[1], quantity: 2 })).status).toBe(201);
    await cancel(buyer, reservationId);
    expect((await entryStatus(w, f.id, day))?.status).toBe("offered");
    const claim = await reserve(w, f.id, { day, quantity: 1 });
    expect(claim.status).toBe(422);
    expect(code(claim)).toBe("reservation.limit_exceeded");
    expect((await entryStatus(w, f.id, day))?.status).toBe("offered");
    expect((await expectWithinCapacity(f.id)).days[day]).toMatchObject({ reserved: 0, held: 1 });
  });

  it("a claim for more places than held, with none free, is sold out (409) and changes nothing", async () => {
    const { f, day, buyer, reservationId } = await soldOut(1);
    const [w] = (await createUsers(1)) as [SeededUser];
    await joinWaitlist(w, f.id, { day, quantity: 1 });
    await cancel(buyer, reservationId);
    const greedy = await reserve(w, f.id, { day, quantity: 2 });
    expect(greedy.status).toBe(409);
    expect(code(greedy)).toBe("reservation.sold_out");
    expect((await expectWithinCapacity(f.id)).days[day]).toMatchObject({ reserved: 0, held: 1 });
    expect((await reserve(w, f.id, { day, quantity: 1 })).status).toBe(201);
  });
});

describe("waitlist: people and accounts", () => {
  it("shows each user only their own entries; 401 without a token", async () => {
    const { f, day } = await soldOut();
    const [a, b] = (await createUsers(2)) as [SeededUser, SeededUser];
    await joinWaitlist(a, f.id, { day, quantity: 1 });
    expect(await myEntries(b, f.id)).toEqual([]);
    expect((await api("GET", `/v1/festivals/${f.id}/waitlist/me`)).status).toBe(401);
    expect((await api("POST", `/v1/festivals/${f.id}/waitlist`, { body: { day, quantity: 1 } })).status).toBe(
      401,
    );
    expect((await api("DELETE", `/v1/festivals/${f.id}/waitlist/me/${day}`)).status).toBe(401);
  });

  it("a deleted account leaves its waitlists, and its held places pass to the next in line", async () => {
    const { f, day, buyer, reservationId } = await soldOut();
    const [gone, next] = (await createUsers(2)) as [SeededUser, SeededUser];
    await joinWaitlist(gone, f.id, { day, quantity: 1 });
    await joinWaitlist(next, f.id, { day, quantity: 1 });
    await cancel(buyer, reservationId);
    expect((await entryStatus(gone, f.id, day))?.status).toBe("offered");
    expect((await api("DELETE", "/v1/me", { token: gone.token, body: { password: PASSWORD } })).status).toBe(
      204,
    );
    expect((await entryStatus(next, f.id, day))?.status).toBe("offered");
    const state = await expectWithinCapacity(f.id);
    expect(state.days[day]).toMatchObject({ reserved: 0, held: 1 });
    expect((await dbState(f.id)).days[day]?.held).toBe(1);
  });
});
