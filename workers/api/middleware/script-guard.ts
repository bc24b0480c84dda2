import type { Context } from "hono";
import { AppError } from "../../lib/errors";
import { limitKey, tooManyRequests } from "../../lib/rate-limit";
import { sessionVersionKey } from "../auth/sessions";
import type { AccessClaims } from "../auth/tokens";
import type { HonoEnv } from "../hono-env";
import { revokedJtiKey } from "./auth";
import { clientAddress, type RouteLimit } from "./rate-limit";

/**
 * `requireAuth`'s Redis half and `rateLimit`'s counting as a Lua fragment that a sale-day hot route
 * runs at the top of its own script (the waiting-room join, the reservation gate), so the route
 * makes one Redis round trip where the middleware would make two or three before it starts.
 *
 * The fragment is the same check, not a new one: the token's jti on the deny list and the user's
 * session version (middleware/auth.ts `authenticate`), then per limit @upstash/ratelimit's
 * single-region sliding window on the library's own keys and arithmetic, so these counters are the
 * ones the library counts on the routes without a script (test/worker/queue.join-script.test.ts
 * counts a join and a leave against one limit). As the middleware does, every limit under its own
 * limit is counted, whether or not another refuses. A library upgrade that changed its key layout
 * would split the counters: that test runs on every dependency bump.
 *
 * Layout, from the caller's offsets `k` (first key) and `a` (first argument):
 *   KEYS[k] deny-list key, KEYS[k+1] session-version key; per limit i = 1..n: KEYS[k+2i] and
 *   KEYS[k+2i+1], the current and previous window's counters.
 *   ARGV[a] now (ms), ARGV[a+1] the token's sv, ARGV[a+2] n; per limit: ARGV[a+1+2i] its limit and
 *   ARGV[a+2+2i] its window (ms).
 * It returns {-1} for a revoked token and {-2, flag per limit (1 = refused)} when a limit refuses;
 * otherwise the route's part of the script runs.
 */
export function guardLua(k: number, a: number): string {
  return `
do
  local revoked = redis.call('GET', KEYS[${k}])
  local sv = tonumber(redis.call('GET', KEYS[${k + 1}]) or '')
  if (revoked and revoked ~= '') or (sv and tonumber(ARGV[${a + 1}]) < sv) then return {-1} end
  local n, now_ms = tonumber(ARGV[${a + 2}]), tonumber(ARGV[${a}])
  local refused, flags = false, {-2}
  for i = 1, n do
    local cur, prev = KEYS[${k} + 2 * i], KEYS[${k + 1} + 2 * i]
    local limit, window = tonumber(ARGV[${a + 1} + 2 * i]), tonumber(ARGV[${a + 2} + 2 * i])
    local inCur = tonumber(redis.call('GET', cur) or '0')
    local inPrev = tonumber(redis.call('GET', prev) or '0')
    inPrev = math.floor((1 - (now_ms % window) / window) * inPrev)
    if inPrev + inCur >= limit then
      refused = true
      flags[i + 1] = 1
    else
      flags[i + 1] = 0
      if redis.call('INCRBY', cur, 1) == 1 then redis.call('PEXPIRE', cur, window * 2 + 1000) end
    end
  end
  if refused then return flags end
end
`;
}

/** `"60 s"` → 60000, as @upstash/ratelimit reads a window (its `ms`). */
function windowMs(d: string): number {
  const m = /^(\d+(?:\.\d+)?)\s?(ms|s|m|h|d|w)$/.exec(d);
  const unit = { ms: 1, s: 1e3, m: 6e4, h: 36e5, d: 864e5, w: 6048e5 }[m?.[2] ?? ""];
  if (!m || !unit) throw new Error(`window ${d}`);
  return Math.round(Number.parseFloat(m[1] as string) * unit);
}

export interface ScriptGuard {
  /** The fragment's keys and arguments, in its layout (append them at the offsets given to guardLua). */
  keys: string[];
  args: string[];
  /** The limits counted, in the script's order, to name the one that refused. */
  limits: { limit: RouteLimit; windowMs: number }[];
  now: number;
}

/** The keys and arguments of `guardLua` for this caller and these limits (as `rateLimit(...limits)` counts them). */
export function scriptGuard(
  c: Context<HonoEnv>,
  claims: AccessClaims,
  routeLimits: RouteLimit[],
  now = Date.now(),
): ScriptGuard {
  const s = c.get("services");
  const userId = Number(claims.sub);
  const limits = routeLimits.flatMap((limit) => {
    const who = limit.by === "user" ? userId : clientAddress(c);
    return who === undefined
      ? []
      : [{ limit, windowMs: windowMs(limit.policy.window), who: `${limit.by}:${who}` }];
  });
  return {
    keys: [
      revokedJtiKey(s, claims.jti),
      sessionVersionKey(s, userId),
      // The library's key layout: `${prefix}:${identifier}:${window number}`.
      ...limits.flatMap(({ limit, windowMs, who }) => {
        const w = Math.floor(now / windowMs);
        const prefix = limitKey(s, limit.policy.name);
        return [`${prefix}:${who}:${w}`, `${prefix}:${who}:${w - 1}`];
      }),
    ],
    args: [
      String(now),
      String(claims.sv),
      String(limits.length),
      ...limits.flatMap(({ limit, windowMs }) => [String(limit.policy.limit), String(windowMs)]),
    ],
    limits: limits.map(({ limit, windowMs }) => ({ limit, windowMs })),
    now,
  };
}

export const revokedToken = () =>
  new AppError(401, "auth.invalid_token", "The access token is missing, expired or invalid");

/**
 * The error a script's answer carries when its guard refused ({-1} or {-2, ...}), as the middleware
 * would have answered: 401, or the 429 of the refused limit whose window reopens last.
 */
export function guardRefusal(raw: unknown, guard: ScriptGuard): AppError | undefined {
  const r = raw as (number | string)[];
  const head = Number(r[0]);
  if (head === -1) return revokedToken();
  if (head !== -2) return undefined;
  const waits = r.slice(1).flatMap((flag, i) => {
    const l = guard.limits[i];
    if (Number(flag) !== 1 || !l) return [];
    const reset = (Math.floor(guard.now / l.windowMs) + 1) * l.windowMs;
    return [{ policy: l.limit.policy, seconds: Math.max(1, Math.ceil((reset - Date.now()) / 1000)) }];
  });
  const [first, ...rest] = waits;
  if (!first) return undefined;
  const worst = rest.reduce((a, b) => (b.seconds > a.seconds ? b : a), first);
  return tooManyRequests(worst.policy, worst.seconds);
}
