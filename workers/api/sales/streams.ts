import { AppError } from "../../lib/errors";
import type { Services } from "../../lib/services";

/**
 * Open waiting-room streams per user, capped: each stream holds a Worker invocation open for up to
 * its lifetime and reads Redis on every tick, so one account opening hundreds would cost hundreds of
 * reads per second. A user's open streams are a sorted set of stream ids scored by when each must be
 * gone (its lifetime plus a grace), so a stream whose Worker died without releasing its slot stops
 * counting by itself.
 *
 * No fail-open here: a stream reads Redis on every tick, so when Redis is down it could not run
 * anyway, and the route answers the dependency-down 503 like the rest of the waiting room.
 */
export const MAX_STREAMS_PER_USER = 3;
const GRACE_MS = 5_000;

const streamsKey = (s: Services, userId: number) => s.key("queue", "streams", userId);

export interface StreamSlot {
  release(): Promise<void>;
}

export async function acquireStreamSlot(
  s: Services,
  userId: number,
  lifetimeMs: number,
  now = Date.now(),
): Promise<StreamSlot> {
  const key = streamsKey(s, userId);
  const id = crypto.randomUUID();
  const until = now + lifetimeMs + GRACE_MS;
  // One transaction: drop the expired, add this one, count, and keep the set no longer than its newest.
  const tx = s.redis.multi();
  tx.zremrangebyscore(key, "-inf", now);
  tx.zadd(key, { score: until, member: id });
  tx.zcard(key);
  tx.pexpire(key, lifetimeMs + GRACE_MS);
  tx.zrange(key, 0, 0, { withScores: true });
  const [, , open, , oldest] = (await tx.exec()) as [number, number, number, number, (string | number)[]];
  if (open > MAX_STREAMS_PER_USER) {
    await s.redis.zrem(key, id);
    const retryAfter = Math.max(1, Math.ceil((Number(oldest[1] ?? until) - now) / 1000));
    throw new AppError(
      429,
      "queue.too_many_streams",
      `At most ${MAX_STREAMS_PER_USER} open waiting-room streams per user; close one or poll instead`,
      { details: { maxStreams: MAX_STREAMS_PER_USER }, headers: { "Retry-After": String(retryAfter) } },
    );
  }
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      await s.redis.zrem(key, id);
    },
  };
}

/**
 * Seconds between a stream's reads, growing as the stream ages: a fresh stream is watched closely,
 * one that has waited a minute moves slowly anyway (arrival order at the admission rate) and gets
 * its updates less often. The client's `intervalSeconds` is a floor, never below MIN_TICK_MS.
 */
export const MIN_TICK_MS = 2_000;
export const MAX_TICK_MS = 10_000;
const AGE_STEP_MS = 30_000;

export function tickMs(requestedMs: number, ageMs: number): number {
  const base = Math.max(MIN_TICK_MS, requestedMs);
  return Math.min(MAX_TICK_MS, Math.max(base, base * 2 ** Math.floor(ageMs / AGE_STEP_MS)));
}
