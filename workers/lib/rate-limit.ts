import { type Duration, Ratelimit } from "@upstash/ratelimit";
import { AppError } from "./errors";
import type { Logger } from "./logger";
import { safeRedisError } from "./redis-errors";
import type { Services } from "./services";

/**
 * Request limits on the Redis already in the stack, through @upstash/ratelimit (sliding windows in
 * one Lua script per check, so parallel requests cannot all pass a read-then-count). Keys live
 * under `limitKey(name, …)`, so deployments and test runs sharing a Redis never share counters.
 * Route middleware on top of this: workers/api/middleware/rate-limit.ts. The password throttle
 * (workers/api/auth/throttle.ts) counts with a script of its own, the library having no doubling
 * lockout, but takes its keys, its seconds and its 429 from here.
 */
export interface LimitPolicy {
  /** Names the counter (Redis key part) and the log lines; one name per thing limited. */
  name: string;
  /** Requests allowed in any `window` (sliding). */
  limit: number;
  window: Duration;
  /**
   * When Redis cannot answer in time or at all: "open" lets the request through (the limit is
   * abuse protection and the route stays correct without it), "closed" refuses with 503 (the limit
   * is the protection, e.g. against password guessing). Every policy states why it chose.
   */
  onRedisDown: "open" | "closed";
}

export interface LimitResult {
  allowed: boolean;
  /** Seconds until the window lets the next request through (>= 1 when refused). */
  retryAfterSeconds: number;
  limit: number;
  remaining: number;
  /** True when Redis did not answer and the policy decided instead of the counter. */
  degraded: boolean;
}

/**
 * Every limit's Redis keys, by the limit's name: one namespace for all counters, per deployment
 * (`s.key`'s prefix). Names are unique across limits, so no two share a counter.
 */
export const limitKey = (s: Services, name: string, ...parts: string[]) => s.key("ratelimit", name, ...parts);

/** A wait in ms as the whole seconds of `Retry-After`: rounded up, and never 0 (that says "now"). */
export const waitSeconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));

/** What a limited route answers, for `errorResponses(...RATE_LIMIT_ERRORS)`. */
export const RATE_LIMIT_ERRORS = [[429, "rate.limited"]] as const;

const limiters = new WeakMap<Services, Map<string, Ratelimit>>();

function limiterFor(s: Services, p: LimitPolicy): Ratelimit {
  let byName = limiters.get(s);
  if (!byName) {
    byName = new Map();
    limiters.set(s, byName);
  }
  const id = `${p.name}|${p.limit}|${p.window}`;
  let limiter = byName.get(id);
  if (!limiter) {
    limiter = new Ratelimit({
      redis: s.redis,
      limiter: Ratelimit.slidingWindow(p.limit, p.window),
      prefix: limitKey(s, p.name),
      // The isolate remembers who is blocked until their window resets: a client hammering past its
      // limit costs no Redis call at all.
      ephemeralCache: new Map(),
      // A limit check must never hold a request long: past this the policy decides, as on an error
      // (RATE_LIMIT_TIMEOUT_MS, 1 s in production). The library's own timeout handling would always
      // let the request through, whatever the policy: see consume().
      timeout: s.limitTimeoutMs,
      analytics: false,
      enableTelemetry: false,
    });
    byName.set(id, limiter);
  }
  return limiter;
}

/** Counts one request of `identifier` (e.g. `user:42`, `ip:203.0.113.7`) against the policy. */
export async function consume(
  s: Services,
  logger: Logger,
  policy: LimitPolicy,
  identifier: string,
): Promise<LimitResult> {
  let failure: unknown;
  try {
    const res = await limiterFor(s, policy).limit(identifier);
    // Fire-and-forget work of the library (none without analytics); never left dangling.
    res.pending.catch(() => {});
    if (res.reason !== "timeout") {
      return {
        allowed: res.success,
        retryAfterSeconds: waitSeconds(res.reset - Date.now()),
        limit: res.limit,
        remaining: res.remaining,
        degraded: false,
      };
    }
    failure = { name: "TimeoutError", code: `no answer within ${s.limitTimeoutMs} ms` };
  } catch (err) {
    failure = safeRedisError(err);
  }
  // Name and code only: a Redis error quotes the whole command (workers/lib/redis-errors.ts).
  logger.warn("rate limit check failed", { limit: policy.name, onRedisDown: policy.onRedisDown, failure });
  return {
    allowed: policy.onRedisDown === "open",
    retryAfterSeconds: 1,
    limit: policy.limit,
    remaining: 0,
    degraded: true,
  };
}

/**
 * The 429 of every limit: its code and message say which limit, `Retry-After` and
 * `details.retryAfterSeconds` say when to come back.
 */
export function refusal(
  code: string,
  message: string,
  seconds: number,
  details: Record<string, unknown> = {},
): AppError {
  return new AppError(429, code, message, {
    details: { ...details, retryAfterSeconds: seconds },
    headers: { "Retry-After": String(seconds) },
  });
}

export const tooManyRequests = (policy: LimitPolicy, seconds: number): AppError =>
  refusal("rate.limited", "Too many requests; retry after the time in Retry-After", seconds, {
    limit: policy.name,
  });

/** Counts and throws: 429 over the limit, 503 when Redis is down and the policy is "closed". */
export async function enforce(
  s: Services,
  logger: Logger,
  policy: LimitPolicy,
  identifier: string,
): Promise<void> {
  const r = await consume(s, logger, policy, identifier);
  if (r.allowed) return;
  throw r.degraded ? redisDown() : tooManyRequests(policy, r.retryAfterSeconds);
}

/**
 * A "closed" policy that could not count: the DESIGN.md dependency-down answer, the same 503 the app's
 * error handler gives a Redis error that reaches it (how the password throttle fails closed).
 */
export function redisDown(): AppError {
  return new AppError(503, "service.unavailable", "A service we depend on is unavailable; retry shortly", {
    headers: { "Retry-After": "1" },
  });
}

/**
 * Fixed-window counters in Redis: `hit` counts an attempt and says where the window stands. Kept for
 * the password throttle's per-address count (it gives an attempt back on success, which the library
 * cannot); new limits use `consume`/`enforce` above.
 */
export interface WindowState {
  count: number;
  retryAfterSeconds: number;
}

export async function hit(s: Services, key: string, windowMs: number): Promise<WindowState> {
  const p = s.redis.pipeline();
  p.incr(key);
  p.pexpire(key, windowMs, "NX");
  p.pttl(key);
  const [count, , pttl] = (await p.exec()) as [number, number, number];
  return { count, retryAfterSeconds: waitSeconds(pttl) };
}
