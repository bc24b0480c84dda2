import { env, SELF } from "cloudflare:test";
import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { commitBatch } from "../../workers/api/reservations/batch";
import {
  confirmPending,
  insertPending,
  PENDING_GRACE_MS,
  sweepPendings,
} from "../../workers/api/reservations/confirm";
import { reservations, reservationUserTotals } from "../../workers/db/schema/reservations";
import { createLogger } from "../../workers/lib/logger";
import { getServices } from "../../workers/lib/services";
import { createFestival, createUser, createUsers, db } from "../worker/fixtures";
import { api } from "../worker/helpers";
import { dbState, type ReservationBody, reserve } from "../worker/reservations-helpers";

/**
 * Sale day with clients that give up mid-request and Workers that die between the database write
 * and the answer (issue 13). No lock on a shared row outlives one statement, so an abandoned request
 * cannot make the next buyer wait; the key stored with the row makes a retry get what was made.
 */

const sha256 = async (text: string) =>
  [...new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)))]
    .map((b) => b.toString(16).padStart(2, "0"))
    .join("");

/** The hashes the idempotency middleware computes for this request (middleware/idempotency.ts). */
async function hashesOf(festivalId: number, body: unknown, key: string) {
  return {
    keyHash: await sha256(key),
    requestHash: await sha256(`POST /v1/festivals/${festivalId}/reservations\n${JSON.stringify(body)}`),
  };
}

/** A reservation request the client abandons after `afterMs` (0: before it is even sent). */
async function abandoned(token: string, festivalId: number, body: unknown, key: string, afterMs: number) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), afterMs);
  try {
    const res = await SELF.fetch(`http://somsom.test/v1/festivals/${festivalId}/reservations`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${token}`,
        "content-type": "application/json",
        "idempotency-key": key,
      },
      body: JSON.stringify(body),
      signal: controller.signal,
    });
    await res.text();
    return res.status;
  } catch {
    return "aborted" as const;
  } finally {
    clearTimeout(timer);
  }
}

const pendingRows = (festivalId: number) =>
  db()
    .select({ id: reservations.id })
    .from(reservations)
    .where(and(eq(reservations.festivalId, festivalId), eq(reservations.status, "pending")));

describe("reservations when clients abort and Workers die", () => {
  it("aborts at every step leave no lock and no lost or double place; a retry with the key gets what was made", async () => {
    const f = await createFestival({ capacity: 60, dayCount: 1, perUserLimit: 2 });
    const day = f.days[0] as string;
    const body = { day, quantity: 1 };
    const users = await createUsers(40);
    // Spread over the whole request (40 in parallel take ~1-3 s here): some are cut before the pending
    // insert, some between it and the confirming UPDATE (left pending), some after it (confirmed
    // unanswered), the last ones answered. The assertions hold whatever the split.
    const outcomes = await Promise.all(
      users.map((u, i) => abandoned(u.token, f.id, body, `abort-${u.id}`, i * 60)),
    );
    expect(outcomes.every((o) => o === "aborted" || o === 201)).toBe(true);

    // The next buyer is served on the first try: nothing abandoned holds the day.
    const next = await reserve(await createUser(), f.id, body);
    expect(next.status).toBe(201);

    // Every abandoned client retries twice with its key: one reservation each, the same answer twice.
    const first = await Promise.all(users.map((u) => reserve(u, f.id, body, `abort-${u.id}`)));
    const again = await Promise.all(users.map((u) => reserve(u, f.id, body, `abort-${u.id}`)));
    for (const [i, r] of first.entries()) {
      expect(r.status).toBe(201);
      expect(again[i]?.status).toBe(201);
      expect(again[i]?.body).toEqual(r.body);
    }
    const state = await dbState(f.id);
    const confirmed = state.rows.filter((r) => r.status === "confirmed");
    expect(confirmed).toHaveLength(users.length + 1);
    expect(new Set(confirmed.map((r) => r.userId)).size).toBe(users.length + 1);
    expect(state.days[day]).toMatchObject({ reserved: users.length + 1, held: 0 });
    expect(state.reservedCount).toBe(users.length + 1);
    expect(await pendingRows(f.id)).toHaveLength(0);
    const totals = await db()
      .select({ quantity: reservationUserTotals.quantity })
      .from(reservationUserTotals)
      .where(eq(reservationUserTotals.festivalId, f.id));
    expect(totals.reduce((n, t) => n + t.quantity, 0)).toBe(users.length + 1);
  });

  it("a Worker that died after inserting the pending row: the retry confirms that row, once", async () => {
    const f = await createFestival({ capacity: 5, dayCount: 1 });
    const day = f.days[0] as string;
    const user = await createUser();
    const body = { day, quantity: 2 };
    const key = `died-${crypto.randomUUID()}`;
    // Step (a) exactly as the Worker runs it; then the Worker is gone.
    const id = await insertPending(db(), {
      festivalId: f.id,
      userId: user.id,
      day,
      quantity: 2,
      at: new Date(),
      idempotency: await hashesOf(f.id, body, key),
    });
    expect(
      await api<{ items: unknown[] }>("GET", "/v1/me/reservations", { token: user.token }),
    ).toMatchObject({
      status: 200,
      body: { items: [] },
    });
    expect((await api("GET", `/v1/reservations/${id}`, { token: user.token })).status).toBe(404);

    const retry = await reserve(user, f.id, body, key);
    expect(retry.status).toBe(201);
    expect(retry.body.id).toBe(id);
    expect(retry.headers.get("idempotent-replayed")).toBe("true");
    expect((await reserve(user, f.id, body, key)).body).toEqual(retry.body);
    const state = await dbState(f.id);
    expect(state.days[day]?.reserved).toBe(2);
    expect(state.rows.map((r) => r.status)).toEqual(["confirmed"]);
  });

  it("a Worker that died after confirming: the retry returns the same reservation and takes nothing more", async () => {
    const f = await createFestival({ capacity: 5, dayCount: 1 });
    const day = f.days[0] as string;
    const user = await createUser();
    const body = { day, quantity: 1 };
    const key = `lost-answer-${crypto.randomUUID()}`;
    const id = await insertPending(db(), {
      festivalId: f.id,
      userId: user.id,
      day,
      quantity: 1,
      at: new Date(),
      idempotency: await hashesOf(f.id, body, key),
    });
    if (id === undefined) throw new Error("pending row not inserted");
    expect(await confirmPending(db(), { id, festivalId: f.id, userId: user.id, day, quantity: 1 })).toBe(
      true,
    );

    const retry = await reserve(user, f.id, body, key);
    expect(retry.status).toBe(201);
    expect(retry.body).toMatchObject({
      id,
      status: "confirmed",
      quantity: 1,
    } satisfies Partial<ReservationBody>);
    const state = await dbState(f.id);
    expect(state.days[day]?.reserved).toBe(1);
    expect(state.reservedCount).toBe(1);
    expect(state.rows).toHaveLength(1);
  });

  it("a sale batch that committed for a Worker that died: the retry returns that reservation, once", async () => {
    const f = await createFestival({ capacity: 5, dayCount: 1 });
    const day = f.days[0] as string;
    const user = await createUser();
    const body = { day, quantity: 2 };
    const key = `batch-lost-${crypto.randomUUID()}`;
    // The festival's SaleDesk commits the batch exactly as it does for a request; nobody hears back.
    const [made] = await commitBatch(getServices(env), env, createLogger(), f.id, [
      { userId: user.id, day, quantity: 2, idempotency: await hashesOf(f.id, body, key) },
    ]);
    if (made?.kind !== "confirmed") throw new Error(`batch answered ${JSON.stringify(made)}`);

    const retry = await reserve(user, f.id, body, key);
    expect(retry.status).toBe(201);
    expect(retry.body).toMatchObject({ id: made.id, status: "confirmed", quantity: 2 });
    expect(retry.headers.get("idempotent-replayed")).toBe("true");
    expect((await reserve(user, f.id, body, key)).body).toEqual(retry.body);
    const state = await dbState(f.id);
    expect(state.days[day]?.reserved).toBe(2);
    expect(state.reservedCount).toBe(2);
    expect(state.rows.map((r) => r.id)).toEqual([made.id]);
  });

  it("sweeps pendings whose Worker never came back, and only those past their grace", async () => {
    const f = await createFestival({ capacity: 5, dayCount: 1 });
    const day = f.days[0] as string;
    const [a, b] = [await createUser(), await createUser()];
    const old = new Date(Date.now() - PENDING_GRACE_MS - 60_000);
    await insertPending(db(), { festivalId: f.id, userId: a.id, day, quantity: 1, at: old });
    await insertPending(db(), { festivalId: f.id, userId: b.id, day, quantity: 1, at: new Date() });
    expect(await pendingRows(f.id)).toHaveLength(2);
    expect(await sweepPendings(db())).toBeGreaterThanOrEqual(1);
    const left = await db()
      .select({ userId: reservations.userId })
      .from(reservations)
      .where(eq(reservations.festivalId, f.id));
    expect(left.map((r) => r.userId)).toEqual([b.id]);
    expect((await dbState(f.id)).days[day]?.reserved).toBe(0);
  });
});
