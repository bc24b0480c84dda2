import { describe, expect, it } from "vitest";
import type { V1MeReservationsGetResponse } from "../../workers/api/reservations/v1_me_reservations_get";
import { createAdminUser, createFestival, createUser, PASSWORD, signup } from "./fixtures";
import { type ApiError, api } from "./helpers";
import { dbState, type ReservationBody, reserve } from "./reservations-helpers";

const CODE = /^SP-\d+-[A-Z2-7]{24}$/;

describe("reservations: the user's flow", () => {
  it("confirms a reservation at once, with a check-in code, and shows it to its owner", async () => {
    const f = await createFestival({ capacity: 10, perUserLimit: 4 });
    const user = await createUser();
    const res = await reserve(user, f.id, { day: f.days[1], quantity: 3 });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      festivalId: f.id,
      userId: user.id,
      day: f.days[1],
      quantity: 3,
      status: "confirmed",
      cancelledAt: null,
      cancelReason: null,
      checkedInAt: null,
    });
    expect(res.body.checkInCode).toMatch(CODE);
    expect(Date.parse(res.body.confirmedAt)).toBeGreaterThan(Date.now() - 60_000);

    const read = await api<ReservationBody>("GET", `/v1/reservations/${res.body.id}`, { token: user.token });
    expect(read.status).toBe(200);
    expect(read.body).toEqual(res.body);

    const state = await dbState(f.id);
    expect(state.days[f.days[1] as string]).toMatchObject({ reserved: 3, capacity: 10 });
    expect(state.days[f.days[0] as string]).toMatchObject({ reserved: 0 });
    expect(state.reservedCount).toBe(3);
  });

  it("frees places at once on cancel: the next person gets them", async () => {
    const f = await createFestival({ capacity: 2, dayCount: 1, perUserLimit: 2 });
    const day = f.days[0] as string;
    const [a, b] = [await createUser(), await createUser()];
    const first = await reserve(a, f.id, { day, quantity: 2 });
    expect(first.status).toBe(201);
    const full = await reserve(b, f.id, { day, quantity: 1 });
    expect(full.status).toBe(409);
    expect((full.body as unknown as ApiError).error).toMatchObject({
      code: "reservation.sold_out",
      details: { day, remaining: 0 },
    });

    const cancelled = await api<ReservationBody>("POST", `/v1/reservations/${first.body.id}/cancel`, {
      token: a.token,
    });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ status: "cancelled", cancelReason: "user", checkInCode: null });
    expect(cancelled.body.cancelledAt).not.toBeNull();
    expect((await dbState(f.id)).days[day]?.reserved).toBe(0);

    // The sold-out shortcut must not outlive the cancellation.
    const second = await reserve(b, f.id, { day, quantity: 2 });
    expect(second.status).toBe(201);
    const again = await api<ApiError>("POST", `/v1/reservations/${first.body.id}/cancel`, { token: a.token });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe("reservation.not_cancellable");
  });

  it("lists my reservations newest first in cursor pages, filtered by status", async () => {
    const user = await createUser();
    const made: number[] = [];
    for (let i = 0; i < 3; i++) {
      const f = await createFestival({ capacity: 5, perUserLimit: 2 });
      for (const day of f.days) made.push((await reserve(user, f.id, { day, quantity: 1 })).body.id);
    }
    const other = await createUser();
    const foreign = await createFestival();
    await reserve(other, foreign.id, { day: foreign.days[0], quantity: 1 });
    await api("POST", `/v1/reservations/${made[0]}/cancel`, { token: user.token });

    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor ? `?limit=4&cursor=${cursor}` : "?limit=4";
      const page = await api<V1MeReservationsGetResponse>("GET", `/v1/me/reservations${query}`, {
        token: user.token,
      });
      expect(page.status).toBe(200);
      expect(page.body.items.length).toBeLessThanOrEqual(4);
      seen.push(...page.body.items.map((r) => r.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual([...made].sort((x, y) => y - x));

    const cancelled = await api<V1MeReservationsGetResponse>("GET", "/v1/me/reservations?status=cancelled", {
      token: user.token,
    });
    expect(cancelled.body.items.map((r) => r.id)).toEqual([made[0]]);
    const confirmed = await api<V1MeReservationsGetResponse>("GET", "/v1/me/reservations?status=confirmed", {
      token: user.token,
    });
    expect(confirmed.body.items).toHaveLength(5);
    expect(confirmed.body.nextCursor).toBeNull();
  });

  it("counts every active reservation of the user against the per-user limit", async () => {
    const f = await createFestival({ capacity: 50, perUserLimit: 4 });
    const user = await createUser();
    expect((await reserve(user, f.id, { day: f.days[0], quantity: 2 })).status).toBe(201);
    expect((await reserve(user, f.id, { day: f.days[1], quantity: 1 })).status).toBe(201);
    const over = await reserve(user, f.id, { day: f.days[1], quantity: 2 });
    expect(over.status).toBe(422);
    expect((over.body as unknown as ApiError).error).toMatchObject({
      code: "reservation.limit_exceeded",
      details: { limit: 4, alreadyReserved: 3, requested: 2 },
    });
    expect((await reserve(user, f.id, { day: f.days[1], quantity: 1 })).status).toBe(201);
    expect((await dbState(f.id)).reservedCount).toBe(4);
  });
});

describe("reservations: admins and the gate", () => {
  it("checks a code in once; the second scan is refused", async () => {
    // Today: a code is only good on its own day.
    const f = await createFestival({ firstDay: 0 });
    const [user, admin] = [await createUser(), await createAdminUser()];
    const r = await reserve(user, f.id, { day: f.days[0], quantity: 2 });
    const path = `/v1/festivals/${f.id}/check-ins`;
    const first = await api<ReservationBody>("POST", path, {
      token: admin.token,
      body: { code: r.body.checkInCode },
    });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ id: r.body.id, status: "checked_in" });
    expect(first.body.checkedInAt).not.toBeNull();

    const second = await api<ApiError>("POST", path, {
      token: admin.token,
      body: { code: r.body.checkInCode },
    });
    expect(second.status).toBe(409);
    expect(second.body.error.code).toBe("checkin.already_used");
    const cancel = await api<ApiError>("POST", `/v1/reservations/${r.body.id}/cancel`, { token: user.token });
    expect(cancel.status).toBe(409);
    // A checked-in reservation still holds its places.
    expect((await dbState(f.id)).days[f.days[0] as string]?.reserved).toBe(2);
  });

  it("lists a festival's reservations for admins, in cursor pages", async () => {
    const f = await createFestival({ capacity: 20, perUserLimit: 1, dayCount: 1 });
    const admin = await createAdminUser();
    const ids: number[] = [];
    for (let i = 0; i < 5; i++)
      ids.push((await reserve(await createUser(), f.id, { day: f.days[0], quantity: 1 })).body.id);
    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor ? `?limit=2&cursor=${cursor}` : "?limit=2";
      const page = await api<V1MeReservationsGetResponse>(
        "GET",
        `/v1/festivals/${f.id}/reservations${query}`,
        {
          token: admin.token,
        },
      );
      expect(page.status).toBe(200);
      seen.push(...page.body.items.map((r) => r.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(ids.reverse());
  });

  it("cancels every reservation of a cancelled festival and frees the places", async () => {
    const f = await createFestival({ capacity: 10, perUserLimit: 3 });
    const [a, b, admin] = [await createUser(), await createUser(), await createAdminUser()];
    const ra = await reserve(a, f.id, { day: f.days[0], quantity: 3 });
    const rb = await reserve(b, f.id, { day: f.days[1], quantity: 1 });
    const cancel = await api("POST", `/v1/festivals/${f.id}/cancel`, {
      token: admin.token,
      body: { reason: "태풍" },
    });
    expect(cancel.status).toBe(200);

    for (const [r, owner] of [
      [ra, a],
      [rb, b],
    ] as const) {
      const read = await api<ReservationBody>("GET", `/v1/reservations/${r.body.id}`, { token: owner.token });
      expect(read.body).toMatchObject({ status: "cancelled", cancelReason: "festival_cancelled" });
    }
    const state = await dbState(f.id);
    expect(Object.values(state.days).map((d) => d.reserved)).toEqual([0, 0]);
    expect(state.reservedCount).toBe(0);
    const late = await reserve(await createUser(), f.id, { day: f.days[0], quantity: 1 });
    expect(late.status).toBe(422);
    expect((late.body as unknown as ApiError).error).toMatchObject({
      code: "reservation.not_on_sale",
      details: { reason: "cancelled" },
    });
    const gate = await api<ApiError>("POST", `/v1/festivals/${f.id}/check-ins`, {
      token: admin.token,
      body: { code: ra.body.checkInCode ?? "" },
    });
    expect(gate.status).toBe(422);
  });

  it("gives back the places of future reservations when the account is deleted", async () => {
    const f = await createFestival({ capacity: 5, dayCount: 1 });
    const user = await signup();
    const admin = await createAdminUser();
    const r = await reserve(user, f.id, { day: f.days[0], quantity: 2 });
    expect(r.status).toBe(201);
    expect((await api("DELETE", "/v1/me", { token: user.token, body: { password: PASSWORD } })).status).toBe(
      204,
    );
    const read = await api<ReservationBody>("GET", `/v1/reservations/${r.body.id}`, { token: admin.token });
    expect(read.body).toMatchObject({ status: "cancelled", cancelReason: "account_deleted" });
    expect((await dbState(f.id)).days[f.days[0] as string]?.reserved).toBe(0);
  });
});

describe("reservations: documentation", () => {
  it("lists every reservation route in the OpenAPI document", async () => {
    const doc = await api<{ paths: Record<string, Record<string, unknown>> }>("GET", "/v1/openapi.json");
    expect(doc.status).toBe(200);
    expect(Object.keys(doc.body.paths["/v1/festivals/{festivalId}/reservations"] ?? {}).sort()).toEqual([
      "get",
      "post",
    ]);
    for (const path of [
      "/v1/festivals/{festivalId}/check-ins",
      "/v1/me/reservations",
      "/v1/reservations/{id}",
      "/v1/reservations/{id}/cancel",
    ]) {
      expect(doc.body.paths[path], path).toBeDefined();
    }
  });
});
