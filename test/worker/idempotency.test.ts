import { env } from "cloudflare:test";
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { getServices } from "../../workers/lib/services";
import { failStatements, stopFailing } from "./db-faults";
import { createFestival, createUser, db, type SeededUser } from "./fixtures";
import { expectReplay, type RawAnswer, rawApi, sha256Hex } from "./idempotency-helpers";
import { reserve } from "./reservations-helpers";

// Each waits out a real budget (8 s in-flight wait, 10 s retry budget) on a shared, busy machine.
const SLOW = { timeout: 180_000 };

// README: "a repeat within 24 h returns the first answer byte for byte, a repeat while the first is in
// flight waits up to 8 s; 409/429/5xx are not remembered". Checked on POST /v1/reservations/{id}/cancel,
// a route with the Redis middleware, and on POST reservations (durable mode) for the bytes.

const cancel = (user: SeededUser, id: number, key: string) =>
  rawApi("POST", `/v1/reservations/${id}/cancel`, { token: user.token, headers: { "idempotency-key": key } });

/** A confirmed reservation of one place, and a fresh key for its cancel. */
async function reservation() {
  const f = await createFestival({ capacity: 5, dayCount: 1 });
  const user = await createUser();
  const res = await reserve(user, f.id, { day: f.days[0], quantity: 1 });
  expect(res.status).toBe(201);
  return { user, id: res.body.id, key: `idem-${crypto.randomUUID()}` };
}

/**
 * Runs `during` while a test transaction holds a real InnoDB lock on the reservation's row, so a
 * cancel of it blocks in MariaDB (lock wait timeout 50 s) for as long as `during` runs.
 */
function holdingRowLock<T>(reservationId: number, during: () => Promise<T>): Promise<T> {
  return db().transaction(async (tx) => {
    await tx.execute(sql`SELECT id FROM reservations WHERE id = ${reservationId} FOR UPDATE`);
    // The stand-in ends a transaction idle for 30 s, as PlanetScale does; on a busy machine `during`
    // can take that long, so the holder keeps its transaction busy instead of losing the lock.
    let holding = true;
    let release = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const keepAlive = (async () => {
      while (holding) {
        await Promise.race([released, new Promise((resolve) => setTimeout(resolve, 5_000))]);
        if (holding) await tx.execute(sql`SELECT 1`);
      }
    })();
    try {
      return await during();
    } finally {
      holding = false;
      release();
      await keepAlive;
    }
  });
}

/**
 * Resolves once the first cancel has claimed its key: from then on it is in flight, and it stays so
 * while the test holds the reservation's row lock. (Watching INNODB_TRX for the lock wait instead
 * missed it on a busy full run and the test hung until MariaDB's 50 s lock wait timeout.)
 */
async function claimed(user: SeededUser, key: string) {
  const s = getServices(env);
  const redisKey = s.key("idem", "reservations.cancel", user.id, await sha256Hex(key));
  while (!(await s.redis.exists(redisKey))) await new Promise((resolve) => setTimeout(resolve, 50));
}

describe("Idempotency-Key: a repeat while the first is in flight", () => {
  it("waits for the first and gets its answer when the first finishes in time", SLOW, async () => {
    const { user, id, key } = await reservation();
    const { first, repeat, repeatSettledWhileBlocked } = await holdingRowLock(id, async () => {
      const first = cancel(user, id, key);
      await claimed(user, key);
      let settled = false;
      const repeat = cancel(user, id, key).finally(() => {
        settled = true;
      });
      // Long enough for the repeat to be waiting; far below the 8 s it may wait.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      return { first, repeat, repeatSettledWhileBlocked: settled };
    });
    expect(repeatSettledWhileBlocked).toBe(false);
    const [a, b] = [await first, await repeat];
    expect(a.status).toBe(200);
    expectReplay(b, a);
    expect(JSON.parse(a.text)).toMatchObject({ id, status: "cancelled" });
  });

  it(
    "answers 409 idempotency.in_flight with Retry-After after waiting 8 s, and the first still completes",
    SLOW,
    async () => {
      const { user, id, key } = await reservation();
      const { first, repeat, waitedMs } = await holdingRowLock(id, async () => {
        const first = cancel(user, id, key);
        await claimed(user, key);
        const started = Date.now();
        const repeat = await cancel(user, id, key);
        return { first, repeat, waitedMs: Date.now() - started };
      });
      expect(repeat.status).toBe(409);
      expect(repeat.headers.get("retry-after")).toBe("1");
      expect(JSON.parse(repeat.text).error.code).toBe("idempotency.in_flight");
      // It waited (the bound is a floor: a busy machine only makes it longer).
      expect(waitedMs).toBeGreaterThanOrEqual(7_500);
      const done = await first;
      expect(done.status).toBe(200);
      // The 409 was not remembered: the next repeat gets the first request's answer.
      expectReplay(await cancel(user, id, key), done);
    },
  );
});

describe("Idempotency-Key: what is not remembered", () => {
  it("runs a repeat again after a 5xx answer", SLOW, async () => {
    const { user, id, key } = await reservation();
    const match = `WHERE r.id = ${id} AND r.status = 'confirmed'`;
    await failStatements(match);
    let first: RawAnswer;
    try {
      first = await cancel(user, id, key);
    } finally {
      await stopFailing(match);
    }
    expect(first.status).toBe(503);
    const again = await cancel(user, id, key);
    expect(again.status).toBe(200);
    expect(again.headers.get("idempotent-replayed")).toBeNull();
    expect(JSON.parse(again.text)).toMatchObject({ id, status: "cancelled" });
  });

  it("runs a repeat again after a 409 answer", SLOW, async () => {
    const { user, id } = await reservation();
    expect((await cancel(user, id, `other-${crypto.randomUUID()}`)).status).toBe(200);
    // Already cancelled: 409 not_cancellable, which the client may retry (it is about state, not the request).
    const key = `idem-${crypto.randomUUID()}`;
    const first = await cancel(user, id, key);
    expect(first.status).toBe(409);
    const again = await cancel(user, id, key);
    expect(again.status).toBe(409);
    expect(again.headers.get("idempotent-replayed")).toBeNull();
  });

  it("keeps no record of a 429: the limit answers before the key is claimed", SLOW, async () => {
    const { user, id, key } = await reservation();
    const others = Array.from({ length: 40 }, () =>
      rawApi("POST", "/v1/reservations/999999999/cancel", { token: user.token }),
    );
    expect((await Promise.all(others)).some((r) => r.status === 429)).toBe(true);
    const limited = await cancel(user, id, key);
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBeTruthy();
    const s = getServices(env);
    expect(await s.redis.exists(s.key("idem", "reservations.cancel", user.id, await sha256Hex(key)))).toBe(0);
  });
});

describe("Idempotency-Key: the 24 h window", () => {
  it(
    "replays byte for byte within the window, which is Redis's own 24 h expiry, and runs anew after it",
    SLOW,
    async () => {
      const { user, id, key } = await reservation();
      const first = await cancel(user, id, key);
      expect(first.status).toBe(200);
      expectReplay(await cancel(user, id, key), first);

      // The window is the remembered answer's expiry in Redis: read its clock, then move past it.
      const s = getServices(env);
      const redisKey = s.key("idem", "reservations.cancel", user.id, await sha256Hex(key));
      const ttl = await s.redis.pttl(redisKey);
      expect(ttl).toBeGreaterThan(24 * 3_600_000 - 60_000);
      expect(ttl).toBeLessThanOrEqual(24 * 3_600_000);
      await s.redis.pexpire(redisKey, ttl - 24 * 3_600_000 + 1);
      await new Promise((resolve) => setTimeout(resolve, 20));
      const after = await cancel(user, id, key);
      // Run again: the reservation is cancelled already, so this time the route itself answers.
      expect(after.status).toBe(409);
      expect(after.headers.get("idempotent-replayed")).toBeNull();
    },
  );

  it("replays a reservation byte for byte (durable mode), headers included", SLOW, async () => {
    const f = await createFestival({ capacity: 5, dayCount: 1 });
    const user = await createUser();
    const key = `idem-${crypto.randomUUID()}`;
    const path = `/v1/festivals/${f.id}/reservations`;
    const body = { day: f.days[0], quantity: 2 };
    const send = () => rawApi("POST", path, { token: user.token, headers: { "idempotency-key": key }, body });
    const first = await send();
    expect(first.status).toBe(201);
    expectReplay(await send(), first);
  });

  it("replays a reservation after its day sold out: the key is looked up before any rule", SLOW, async () => {
    const f = await createFestival({ capacity: 1, dayCount: 1 });
    const [user, other] = [await createUser(), await createUser()];
    const key = `idem-${crypto.randomUUID()}`;
    const path = `/v1/festivals/${f.id}/reservations`;
    const body = { day: f.days[0], quantity: 1 };
    const send = () => rawApi("POST", path, { token: user.token, headers: { "idempotency-key": key }, body });
    const first = await send();
    expect(first.status).toBe(201);
    // Someone else is turned away: the day is full, and the sold-out flag is up in Redis.
    const late = await reserve(other, f.id, body);
    expect(late.status).toBe(409);
    expectReplay(await send(), first);
  });
});
