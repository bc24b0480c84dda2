import { sha256Hex } from "../../lib/hex";
import { hit, limitKey, refusal, waitSeconds } from "../../lib/rate-limit";
import { scriptOf } from "../../lib/redis-scripts";
import type { Services } from "../../lib/services";

/**
 * Password guessing bounds (login, and the password check of DELETE /v1/me).
 *
 * - Per account + client IP, progressive: `freeFailures` wrong passwords, then each further one
 *   locks that pair for `firstLockMs`, doubling up to `maxLockMs`. Keyed on the pair so a guesser
 *   elsewhere locks only themselves out, never the owner (the owner's own address has its own count).
 * - Per client IP, failures only: a festival Wi-Fi or carrier NAT puts thousands of people behind
 *   one address, and their successful logins must never lock each other out. 1,000 failures per
 *   15 minutes is far above what a crowd mistypes, yet caps one address spraying many accounts.
 *
 * Attempts are counted before the password is checked and taken back on success, so parallel
 * guesses cannot all pass a read-then-count. Without `cf-connecting-ip` (only local runs and tests:
 * Cloudflare always sets it) there is no address to count per IP; the account key then uses "unknown".
 *
 * Keys, `Retry-After` seconds and the 429 envelope come from workers/lib/rate-limit.ts, as for every
 * limit; only the counting is this file's (@upstash/ratelimit has no doubling lockout). Both limits
 * fail closed (they are the protection against guessing): a Redis error is not caught here, and the
 * app's error handler answers it with the dependency-down 503 that `redisDown()` is for the others.
 */
export const LOGIN_LIMITS = {
  freeFailures: 5,
  firstLockMs: 60_000,
  maxLockMs: 3600_000,
  failureMemoryMs: 24 * 3600_000,
  ipFailures: 1000,
  ipWindowMs: 15 * 60_000,
};

// Atomic: a locked pair answers the lock's time left; otherwise the attempt is counted and, past
// the free ones, arms the next lock before any parallel attempt can look.
const ATTEMPT = `
local left = redis.call('PTTL', KEYS[2])
if left > 0 then return left end
local n = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
local over = n - tonumber(ARGV[1])
if over > 0 then
  local ms = math.min(tonumber(ARGV[2]) * 2 ^ math.min(over - 1, 30), tonumber(ARGV[3]))
  redis.call('SET', KEYS[2], '1', 'PX', math.floor(ms))
end
return 0
`;

/** The limit's name in its Redis keys. */
const LIMIT = "password";

/** Emails never appear in Redis key names (they show up in `MONITOR`, slow logs and dumps). */
export const pairKeys = async (s: Services, email: string, ip: string) => {
  const id = await sha256Hex(`${email}|${ip}`, 16);
  return [limitKey(s, LIMIT, "fail", id), limitKey(s, LIMIT, "lock", id)];
};

export const loginIpKey = (s: Services, ip: string) => limitKey(s, LIMIT, "ip", ip);

const throttled = (seconds: number) =>
  refusal("auth.too_many_attempts", "Too many login attempts; try again later", seconds);

export interface PasswordAttempt {
  /** The password was right: forget this pair's failures and give the IP its attempt back. */
  succeeded(): Promise<void>;
}

/** Counts a password attempt or throws 429 while the pair or the address is locked. */
export async function startPasswordAttempt(
  s: Services,
  email: string,
  ip: string | undefined,
): Promise<PasswordAttempt> {
  const keys = await pairKeys(s, email, ip ?? "unknown");
  const lockMs = Number(
    await scriptOf(s.redis, ATTEMPT).exec(
      keys,
      [
        LOGIN_LIMITS.freeFailures,
        LOGIN_LIMITS.firstLockMs,
        LOGIN_LIMITS.maxLockMs,
        LOGIN_LIMITS.failureMemoryMs,
      ].map(String),
    ),
  );
  if (lockMs > 0) throw throttled(waitSeconds(lockMs));
  const ipKey = ip ? loginIpKey(s, ip) : undefined;
  if (ipKey) {
    const state = await hit(s, ipKey, LOGIN_LIMITS.ipWindowMs);
    if (state.count > LOGIN_LIMITS.ipFailures) {
      await s.redis.decr(ipKey);
      throw throttled(state.retryAfterSeconds);
    }
  }
  return {
    async succeeded() {
      const p = s.redis.pipeline();
      p.del(...keys);
      if (ipKey) p.decr(ipKey);
      await p.exec();
    },
  };
}
