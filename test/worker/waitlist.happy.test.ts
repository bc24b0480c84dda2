import { describe, expect, it } from "vitest";
import { createAdminUser, createFestival, createUsers, type SeededUser } from "./fixtures";
import { type ApiError, api } from "./helpers";
import { type ReservationBody, reserve } from "./reservations-helpers";
import {
  entryStatus,
  expectWithinCapacity,
  expireOfferOf,
  inboxTypes,
  joinWaitlist,
  runWaitlistJob,
  salesView,
} from "./sales-helpers";

const cancel = (u: SeededUser, id: number) =>
  api<ReservationBody>("POST", `/v1/reservations/${id}/cancel`, { token: u.token });
const code = (res: { body: unknown }) => (res.body as ApiError).error?.code;

/** A day of `capacity` places sold to as many users, one place each. */
async function soldOutDay(capacity: number, extra: Parameters<typeof createFestival>[0] = {}) {
  const f = await createFestival({ capacity, dayCount: 1, ...extra });
  const day = f.days[0] as string;
  const buyers = await createUsers(capacity);
  const reservations: number[] = [];
  for (const b of buyers) {
    const res = await reserve(b, f.id, { day, quantity: 1 });
    expect(res.status).toBe(201);
    reservations.push(res.body.id);
  }
  return { f, day, buyers, reservations };
}

describe("waitlist: freed places go to the people who waited, in order", () => {
  it("3 cancellations make 3 offers to the first 3; an expired offer passes to the 4th; never over capacity", async () => {
    const { f, day, buyers, reservations } = await soldOutDay(3);
    const [a, b, c] = buyers as [SeededUser, SeededUser, SeededUser];
    const [public1] = (await createUsers(1)) as [SeededUser];
    expect((await reserve(public1, f.id, { day, quantity: 1 })).status).toBe(409);

    const waiters = await createUsers(5);
    const [w1, w2, w3, w4, w5] = waiters as [SeededUser, SeededUser, SeededUser, SeededUser, SeededUser];
    for (const [i, w] of waiters.entries()) {
      const res = await joinWaitlist(w, f.id, { day, quantity: 1 });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ status: "waiting", position: i + 1, offer: null, day, quantity: 1 });
    }
    await expectWithinCapacity(f.id);

    // Each cancellation offers its place to the next waiter, in the cancelling transaction.
    for (const [i, [buyer, id]] of [
      [a, reservations[0]],
      [b, reservations[1]],
      [c, reservations[2]],
    ].entries()) {
      expect((await cancel(buyer as SeededUser, id as number)).status).toBe(200);
      const state = await expectWithinCapacity(f.id);
      expect(state.days[day]).toMatchObject({ capacity: 3, reserved: 2 - i, held: i + 1 });
      // The freed place is never up for grabs.
      const grab = await reserve(public1, f.id, { day, quantity: 1 });
      expect(grab.status).toBe(409);
      expect(code(grab)).toBe("reservation.sold_out");
    }
    for (const w of [w1, w2, w3]) {
      const e = await entryStatus(w, f.id, day);
      expect(e?.status).toBe("offered");
      expect(Date.parse(e?.offer?.expiresAt ?? "")).toBeGreaterThan(Date.now() + 25 * 60_000);
    }
    expect((await entryStatus(w4, f.id, day))?.position).toBe(1);
    expect((await entryStatus(w5, f.id, day))?.position).toBe(2);

    // w2 lets its offer run out: the job expires it and the place goes to w4.
    await expireOfferOf(w2, f.id, day);
    await runWaitlistJob();
    expect((await entryStatus(w2, f.id, day))?.status).toBe("expired");
    expect((await entryStatus(w4, f.id, day))?.status).toBe("offered");
    expect((await entryStatus(w5, f.id, day))?.position).toBe(1);
    let state = await expectWithinCapacity(f.id);
    expect(state.days[day]).toMatchObject({ reserved: 0, held: 3 });

    // Offers are claimed through the normal reservation call.
    for (const [i, w] of [w1, w3, w4].entries()) {
      const claim = await reserve(w, f.id, { day, quantity: 1 });
      expect(claim.status).toBe(201);
      expect(claim.body).toMatchObject({ userId: w.id, day, quantity: 1, status: "confirmed" });
      state = await expectWithinCapacity(f.id);
      expect(state.days[day]).toMatchObject({ reserved: i + 1, held: 2 - i });
      const e = await entryStatus(w, f.id, day);
      expect(e).toMatchObject({ status: "claimed", reservationId: claim.body.id });
    }
    // w2's offer is gone: for it the day is simply sold out.
    expect((await reserve(w2, f.id, { day, quantity: 1 })).status).toBe(409);
    expect(state.days[day]).toMatchObject({ reserved: 3, held: 0 });

    // Told through the inbox.
    expect(await inboxTypes(w1)).toContain("waitlist.offer");
    expect(await inboxTypes(w2)).toEqual(
      expect.arrayContaining(["waitlist.offer", "waitlist.offer_expired"]),
    );
    expect(await inboxTypes(w5)).not.toContain("waitlist.offer");

    const admin = await createAdminUser();
    const view = await salesView(admin, f.id);
    expect(view.body.waitlist).toMatchObject({
      offerMinutes: 30,
      waiting: 1,
      offersOut: 0,
      days: [{ day, capacity: 3, reserved: 3, held: 0, waiting: 1, offersOut: 0 }],
    });
  });

  it("expires due offers when the waitlist is read, without waiting for the job", async () => {
    const { f, day, buyers, reservations } = await soldOutDay(1);
    const [w1, w2] = (await createUsers(2)) as [SeededUser, SeededUser];
    await joinWaitlist(w1, f.id, { day, quantity: 1 });
    await joinWaitlist(w2, f.id, { day, quantity: 1 });
    await cancel(buyers[0] as SeededUser, reservations[0] as number);
    await expireOfferOf(w1, f.id, day);
    // Claiming an expired offer is refused, and changes nothing.
    const late = await reserve(w1, f.id, { day, quantity: 1 });
    expect(late.status).toBe(409);
    expect(code(late)).toBe("waitlist.offer_expired");
    await expectWithinCapacity(f.id);
    expect((await entryStatus(w2, f.id, day))?.status).toBe("offered");
    expect((await entryStatus(w1, f.id, day))?.status).toBe("expired");
    expect((await reserve(w2, f.id, { day, quantity: 1 })).status).toBe(201);
    await expectWithinCapacity(f.id);
  });

  it("does not top up (and so renew) an offer that is past its expiry: the freed place goes to the next in line", async () => {
    const { f, day, buyers, reservations } = await soldOutDay(2, { perUserLimit: 4 });
    const [big, w2] = (await createUsers(2)) as [SeededUser, SeededUser];
    await joinWaitlist(big, f.id, { day, quantity: 2 });
    await joinWaitlist(w2, f.id, { day, quantity: 1 });
    await cancel(buyers[0] as SeededUser, reservations[0] as number);
    await expireOfferOf(big, f.id, day);
    // Before any job or read expires it, another place frees up.
    await cancel(buyers[1] as SeededUser, reservations[1] as number);
    expect(await entryStatus(w2, f.id, day)).toMatchObject({ status: "offered", offer: { quantity: 1 } });
    expect((await entryStatus(big, f.id, day))?.status).toBe("expired");
    expect((await expectWithinCapacity(f.id)).days[day]).toMatchObject({ reserved: 0, held: 1 });
  });

  it("serves the line in strict order: a group collects freed places before anyone behind it", async () => {
    const { f, day, buyers, reservations } = await soldOutDay(3, { perUserLimit: 4 });
    const [big, w2, w3] = (await createUsers(3)) as [SeededUser, SeededUser, SeededUser];
    await joinWaitlist(big, f.id, { day, quantity: 2 });
    await joinWaitlist(w2, f.id, { day, quantity: 1 });
    await joinWaitlist(w3, f.id, { day, quantity: 1 });

    // One place free: it is held for `big` (offered 1 of 2), not given to the single behind it.
    await cancel(buyers[0] as SeededUser, reservations[0] as number);
    expect(await entryStatus(big, f.id, day)).toMatchObject({ status: "offered", offer: { quantity: 1 } });
    expect(await entryStatus(w2, f.id, day)).toMatchObject({ status: "waiting", position: 1 });
    // The next place tops `big` up; only the third goes on to w2.
    await cancel(buyers[1] as SeededUser, reservations[1] as number);
    expect(await entryStatus(big, f.id, day)).toMatchObject({ status: "offered", offer: { quantity: 2 } });
    expect((await entryStatus(w2, f.id, day))?.status).toBe("waiting");
    await cancel(buyers[2] as SeededUser, reservations[2] as number);
    expect(await entryStatus(w2, f.id, day)).toMatchObject({ status: "offered", offer: { quantity: 1 } });
    expect((await expectWithinCapacity(f.id)).days[day]).toMatchObject({ reserved: 0, held: 3 });
    expect((await inboxTypes(big)).filter((t) => t === "waitlist.offer")).toHaveLength(2);
  });

  it("declining an offer passes it on; claiming fewer places than held passes on the rest", async () => {
    const { f, day, buyers, reservations } = await soldOutDay(3, { perUserLimit: 4 });
    const [w2, big, w3] = (await createUsers(3)) as [SeededUser, SeededUser, SeededUser];
    await joinWaitlist(w2, f.id, { day, quantity: 1 });
    await joinWaitlist(big, f.id, { day, quantity: 2 });
    await joinWaitlist(w3, f.id, { day, quantity: 1 });
    for (const [i, b] of buyers.entries()) await cancel(b, reservations[i] as number);
    expect((await entryStatus(w2, f.id, day))?.status).toBe("offered");
    expect(await entryStatus(big, f.id, day)).toMatchObject({ status: "offered", offer: { quantity: 2 } });
    expect((await entryStatus(w3, f.id, day))?.status).toBe("waiting");

    // w2 declines: w3 gets the place.
    expect(
      (await api("DELETE", `/v1/festivals/${f.id}/waitlist/me/${day}`, { token: w2.token })).status,
    ).toBe(204);
    expect((await entryStatus(w2, f.id, day))?.status).toBe("left");
    expect((await entryStatus(w3, f.id, day))?.status).toBe("offered");
    await expectWithinCapacity(f.id);

    // `big` takes one of its two: nobody waits any more, so the other becomes public.
    const claim = await reserve(big, f.id, { day, quantity: 1 });
    expect(claim.status).toBe(201);
    expect((await expectWithinCapacity(f.id)).days[day]).toMatchObject({ reserved: 1, held: 1 });
    const [buyer] = (await createUsers(1)) as [SeededUser];
    expect((await reserve(buyer, f.id, { day, quantity: 1 })).status).toBe(201);
    expect((await reserve(w3, f.id, { day, quantity: 1 })).status).toBe(201);
    expect((await expectWithinCapacity(f.id)).days[day]).toMatchObject({ reserved: 3, held: 0 });
  });

  it("offers places first to the waitlist when an admin raises the capacity", async () => {
    const { f, day } = await soldOutDay(2);
    const [w1, w2, w3] = (await createUsers(3)) as [SeededUser, SeededUser, SeededUser];
    for (const w of [w1, w2, w3]) await joinWaitlist(w, f.id, { day, quantity: 1 });
    const admin = await createAdminUser();
    const res = await api("PATCH", `/v1/festivals/${f.id}`, { token: admin.token, body: { capacity: 4 } });
    expect(res.status).toBe(200);
    expect((await entryStatus(w1, f.id, day))?.status).toBe("offered");
    expect((await entryStatus(w2, f.id, day))?.status).toBe("offered");
    expect((await entryStatus(w3, f.id, day))?.position).toBe(1);
    expect((await expectWithinCapacity(f.id)).days[day]).toMatchObject({ capacity: 4, reserved: 2, held: 2 });
  });

  it("lets an offer holder claim without an admission while the waiting room is on", async () => {
    const { f, day, buyers, reservations } = await soldOutDay(1);
    const admin = await createAdminUser();
    await api("PATCH", `/v1/festivals/${f.id}/sales`, { token: admin.token, body: { queueEnabled: true } });
    const [w] = (await createUsers(1)) as [SeededUser];
    await joinWaitlist(w, f.id, { day, quantity: 1 });
    await cancel(buyers[0] as SeededUser, reservations[0] as number);
    expect((await reserve(w, f.id, { day, quantity: 1 })).status).toBe(201);
    await expectWithinCapacity(f.id);
  });

  it("joining again answers the same entry; a festival cancellation closes the waitlist and frees held places", async () => {
    const { f, day, buyers, reservations } = await soldOutDay(2);
    const [w1, w2] = (await createUsers(2)) as [SeededUser, SeededUser];
    const first = await joinWaitlist(w1, f.id, { day, quantity: 1 });
    const again = await joinWaitlist(w1, f.id, { day, quantity: 1 });
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(first.body.id);
    await joinWaitlist(w2, f.id, { day, quantity: 1 });
    await cancel(buyers[0] as SeededUser, reservations[0] as number);
    expect((await expectWithinCapacity(f.id)).days[day]).toMatchObject({ reserved: 1, held: 1 });

    const admin = await createAdminUser();
    expect((await api("POST", `/v1/festivals/${f.id}/cancel`, { token: admin.token, body: {} })).status).toBe(
      200,
    );
    expect((await expectWithinCapacity(f.id)).days[day]).toMatchObject({ reserved: 0, held: 0 });
    expect((await entryStatus(w1, f.id, day))?.status).toBe("cancelled");
    expect((await entryStatus(w2, f.id, day))?.status).toBe("cancelled");
  });
});

describe("waitlist: under concurrency", () => {
  it("20 simultaneous cancellations offer exactly 20 places to the first 20 of 25, and the claims fit", async () => {
    const { f, day, buyers, reservations } = await soldOutDay(20);
    const waiters = await createUsers(25);
    for (const w of waiters) expect((await joinWaitlist(w, f.id, { day, quantity: 1 })).status).toBe(201);

    const cancels = await Promise.all(buyers.map((b, i) => cancel(b, reservations[i] as number)));
    expect(cancels.map((r) => r.status)).toEqual(buyers.map(() => 200));
    expect((await expectWithinCapacity(f.id)).days[day]).toMatchObject({ reserved: 0, held: 20 });
    const statuses = await Promise.all(waiters.map(async (w) => (await entryStatus(w, f.id, day))?.status));
    expect(statuses).toEqual([...Array(20).fill("offered"), ...Array(5).fill("waiting")]);

    // The 20 claim while 10 others try to grab places: only the offer holders get in.
    const grabbers = await createUsers(10);
    const results = await Promise.all([
      ...waiters.slice(0, 20).map((w) => reserve(w, f.id, { day, quantity: 1 })),
      ...grabbers.map((g) => reserve(g, f.id, { day, quantity: 1 })),
    ]);
    expect(results.slice(0, 20).map((r) => r.status)).toEqual(Array(20).fill(201));
    expect(results.slice(20).every((r) => r.status === 409 || r.status === 503)).toBe(true);
    expect((await expectWithinCapacity(f.id)).days[day]).toMatchObject({ reserved: 20, held: 0 });
  });
});
