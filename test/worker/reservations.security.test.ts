import { describe, expect, it } from "vitest";
import { createAdminUser, createFestival, createUser } from "./fixtures";
import { type ApiError, api } from "./helpers";
import { dbState, type ReservationBody, reserve } from "./reservations-helpers";

describe("reservations: who sees and changes what", () => {
  it("hides another user's reservation (404, like a missing one) and does not let them cancel it", async () => {
    const f = await createFestival();
    const [owner, stranger, admin] = [await createUser(), await createUser(), await createAdminUser()];
    const r = await reserve(owner, f.id, { day: f.days[0], quantity: 2 });

    const peek = await api<ApiError>("GET", `/v1/reservations/${r.body.id}`, { token: stranger.token });
    const missing = await api<ApiError>("GET", "/v1/reservations/999999999", { token: stranger.token });
    expect(peek.status).toBe(404);
    expect(missing.status).toBe(404);
    expect(peek.body.error.code).toBe(missing.body.error.code);
    expect(peek.body.error.message).toBe(missing.body.error.message);

    const cancel = await api<ApiError>("POST", `/v1/reservations/${r.body.id}/cancel`, {
      token: stranger.token,
    });
    expect(cancel.status).toBe(404);
    const mine = await api<{ items: unknown[] }>("GET", "/v1/me/reservations", { token: stranger.token });
    expect(mine.body.items).toHaveLength(0);

    const asAdmin = await api<ReservationBody>("GET", `/v1/reservations/${r.body.id}`, {
      token: admin.token,
    });
    expect(asAdmin.status).toBe(200);
    expect(asAdmin.body.status).toBe("confirmed");
    expect((await dbState(f.id)).days[f.days[0] as string]?.reserved).toBe(2);
  });

  it("keeps the admin routes for admins (403) and every route behind a token (401)", async () => {
    const f = await createFestival();
    const user = await createUser();
    const r = await reserve(user, f.id, { day: f.days[0], quantity: 1 });
    const list = await api<ApiError>("GET", `/v1/festivals/${f.id}/reservations`, { token: user.token });
    expect(list.status).toBe(403);
    const gate = await api<ApiError>("POST", `/v1/festivals/${f.id}/check-ins`, {
      token: user.token,
      body: { code: r.body.checkInCode },
    });
    expect(gate.status).toBe(403);
    expect(
      (await api<ReservationBody>("GET", `/v1/reservations/${r.body.id}`, { token: user.token })).body.status,
    ).toBe("confirmed");

    const routes: [string, string][] = [
      ["POST", `/v1/festivals/${f.id}/reservations`],
      ["GET", "/v1/me/reservations"],
      ["GET", `/v1/reservations/${r.body.id}`],
      ["POST", `/v1/reservations/${r.body.id}/cancel`],
      ["GET", `/v1/festivals/${f.id}/reservations`],
      ["POST", `/v1/festivals/${f.id}/check-ins`],
    ];
    for (const [method, path] of routes) {
      const body = method === "POST" ? {} : undefined;
      expect((await api(method, path, { body })).status, path).toBe(401);
      expect((await api(method, path, { token: "forged.token.value", body })).status, path).toBe(401);
    }
  });

  it("scopes Idempotency-Keys per user: the same key from two users makes two reservations", async () => {
    const f = await createFestival();
    const [a, b] = [await createUser(), await createUser()];
    const key = "shared-key-1";
    const ra = await reserve(a, f.id, { day: f.days[0], quantity: 1 }, key);
    const rb = await reserve(b, f.id, { day: f.days[0], quantity: 1 }, key);
    expect(ra.status).toBe(201);
    expect(rb.status).toBe(201);
    expect(rb.body.userId).toBe(b.id);
    expect(rb.body.id).not.toBe(ra.body.id);
  });
});

describe("check-in codes", () => {
  it("refuses forged codes without changing anything", async () => {
    const f = await createFestival();
    const [user, admin] = [await createUser(), await createAdminUser()];
    const r = await reserve(user, f.id, { day: f.days[0], quantity: 1 });
    const other = await reserve(await createUser(), f.id, { day: f.days[0], quantity: 1 });
    const code = r.body.checkInCode as string;
    const sig = code.split("-")[2] as string;
    const flipped = `${sig.slice(0, -1)}${sig.endsWith("A") ? "B" : "A"}`;
    const forged = [
      `SP-${r.body.id}-${flipped}`,
      `SP-${other.body.id}-${sig}`, // a real signature on another reservation's id
      `SP-${r.body.id}-${"A".repeat(24)}`,
      `SP-${r.body.id}`,
      "hello",
      `${code}X`,
    ];
    for (const attempt of forged) {
      const res = await api<ApiError>("POST", `/v1/festivals/${f.id}/check-ins`, {
        token: admin.token,
        body: { code: attempt },
      });
      expect(res.status, attempt).toBe(422);
      expect(res.body.error.code).toBe("checkin.invalid");
    }
    const read = await api<ReservationBody>("GET", `/v1/reservations/${r.body.id}`, { token: user.token });
    expect(read.body.status).toBe("confirmed");
    expect(
      (await api("POST", `/v1/festivals/${f.id}/check-ins`, { token: admin.token, body: { code: 42 } }))
        .status,
    ).toBe(400);
  });

  it("refuses a code at another festival's gate, and a cancelled reservation's code", async () => {
    const [f, g] = [await createFestival(), await createFestival()];
    const [user, admin] = [await createUser(), await createAdminUser()];
    const r = await reserve(user, f.id, { day: f.days[0], quantity: 1 });
    const wrongGate = await api<ApiError>("POST", `/v1/festivals/${g.id}/check-ins`, {
      token: admin.token,
      body: { code: r.body.checkInCode },
    });
    expect(wrongGate.status).toBe(422);
    expect(wrongGate.body.error.code).toBe("checkin.wrong_festival");

    await api("POST", `/v1/reservations/${r.body.id}/cancel`, { token: user.token });
    const cancelled = await api<ApiError>("POST", `/v1/festivals/${f.id}/check-ins`, {
      token: admin.token,
      body: { code: r.body.checkInCode },
    });
    expect(cancelled.status).toBe(422);
    expect(cancelled.body.error.code).toBe("checkin.reservation_cancelled");
  });

  it("lets only one of two gates scanning the same code at once through", async () => {
    const f = await createFestival({ firstDay: 0 });
    const [user, admin] = [await createUser(), await createAdminUser()];
    const r = await reserve(user, f.id, { day: f.days[0], quantity: 1 });
    const scans = await Promise.all(
      Array.from({ length: 5 }, () =>
        api<ApiError>("POST", `/v1/festivals/${f.id}/check-ins`, {
          token: admin.token,
          body: { code: r.body.checkInCode },
        }),
      ),
    );
    expect(scans.filter((s) => s.status === 200)).toHaveLength(1);
    expect(
      scans.filter((s) => s.status === 409 && s.body.error.code === "checkin.already_used"),
    ).toHaveLength(4);
  });
});
