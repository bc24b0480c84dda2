import { describe, expect, it } from "vitest";
import { failStatements, stopFailing } from "./db-faults";
import { createAdmin, createFestival, createUsers } from "./fixtures";
import { type ApiError, api } from "./helpers";
import { sha256Hex } from "./idempotency-helpers";
import { type ReservationBody, reserve } from "./reservations-helpers";

/**
 * The reservation's sale-day gate (workers/api/reservations/gate.ts) answers from one Redis script
 * what it can: once a day is full, a request whose Idempotency-Key never reached the database gets
 * its 409 without any database statement, while a retry of a key that did reach it is still looked
 * up and gets the reservation it made.
 */
const code = (res: { body: unknown }) => (res.body as ApiError).error?.code;

describe("reservation gate once a day is sold out", () => {
  it("answers a new key's 409 without touching MySQL, and a made reservation's retry with that reservation", {
    timeout: 60_000,
  }, async () => {
    const f = await createFestival({ capacity: 1, dayCount: 1, perUserLimit: 2 });
    const day = f.days[0] as string;
    const [winner, late, fresh] = await createUsers(3);
    if (!winner || !late || !fresh) throw new Error("users");
    const won = await reserve(winner, f.id, { day, quantity: 1 }, "gate-winner");
    expect(won.status).toBe(201);
    // The first refusal is decided by MySQL and sets the day's sold-out flag.
    const refused = await reserve(late, f.id, { day, quantity: 1 }, "gate-late");
    expect(refused.status).toBe(409);
    expect(code(refused)).toBe("reservation.sold_out");

    // Any statement that names the fresh key (its lookup, its insert) would fail as a deadlock: the
    // gate must not send one. The fault counts what it failed.
    const freshKey = await sha256Hex("gate-fresh");
    await failStatements(freshKey, { times: 1000 });
    try {
      const res = await reserve(fresh, f.id, { day, quantity: 1 }, "gate-fresh");
      expect(res.status).toBe(409);
      expect(code(res)).toBe("reservation.sold_out");
    } finally {
      expect(await stopFailing(freshKey)).toBe(0);
    }

    // The winner's key reached the database: its retry is looked up there (a failing lookup is a 503,
    // never a wrong 409) and, once the database answers, replays the reservation it made.
    const winnerKey = await sha256Hex("gate-winner");
    await failStatements(winnerKey, { times: 1000 });
    try {
      const res = await reserve(winner, f.id, { day, quantity: 1 }, "gate-winner");
      expect(res.status).toBe(503);
    } finally {
      expect(await stopFailing(winnerKey)).toBeGreaterThan(0);
    }
    const again = await reserve(winner, f.id, { day, quantity: 1 }, "gate-winner");
    expect(again.status).toBe(201);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect((again.body as ReservationBody).id).toBe((won.body as ReservationBody).id);
  });

  it("lets buyers in again once an admin adds places: one caller rechecks, and its success opens the day to all", {
    timeout: 60_000,
  }, async () => {
    const admin = await createAdmin();
    const f = await createFestival({ capacity: 1, dayCount: 1, perUserLimit: 2 });
    const day = f.days[0] as string;
    const [first, late, x, y] = await createUsers(4);
    if (!first || !late || !x || !y) throw new Error("users");
    expect((await reserve(first, f.id, { day, quantity: 1 }, "g2-first")).status).toBe(201);
    expect((await reserve(late, f.id, { day, quantity: 1 }, "g2-late")).status).toBe(409);

    const raised = await api("PATCH", `/v1/festivals/${f.id}`, { token: admin.token, body: { capacity: 3 } });
    expect(raised.status).toBe(200);
    // The flag lapses within seconds (README: sold-out staleness); until then 409s are expected.
    const deadline = Date.now() + 30_000;
    let res = await reserve(x, f.id, { day, quantity: 1 }, "g2-x");
    while (res.status === 409 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      res = await reserve(x, f.id, { day, quantity: 1 }, "g2-x");
    }
    expect(res.status).toBe(201);
    // The caller that found places cleared the "sold out a moment ago" mark: the next buyer goes
    // straight to MySQL instead of waiting behind another recheck.
    const next = await reserve(y, f.id, { day, quantity: 1 }, "g2-y");
    expect(next.status).toBe(201);
  });
});
