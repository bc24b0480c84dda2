import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { SIGNUP_GLOBAL, SIGNUP_PER_IP } from "../../workers/api/auth/service";
import { LOGIN_LIMITS, loginIpKey, pairKeys } from "../../workers/api/auth/throttle";
import worker from "../../workers/index";
import { createLogger } from "../../workers/lib/logger";
import { consume } from "../../workers/lib/rate-limit";
import { getServices } from "../../workers/lib/services";
import { PASSWORD, signup, uniqueEmail } from "./fixtures";
import { type ApiError, api } from "./helpers";

// Addresses no other test uses, so the per-IP counters are this test's own.
const freshIp = () =>
  `2001:db8:${Math.floor(Math.random() * 0xffff).toString(16)}::${Math.floor(Math.random() * 0xffff).toString(16)}`;

const loginFrom = (ip: string, email: string, password: string) =>
  api<ApiError>("POST", "/v1/auth/login", { headers: { "cf-connecting-ip": ip }, body: { email, password } });

/** `n` requests, at most `batch` in flight at once (the machine is shared). */
async function inBatches<T>(n: number, batch: number, one: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < n; i += batch)
    out.push(...(await Promise.all(Array.from({ length: Math.min(batch, n - i) }, (_, j) => one(i + j)))));
  return out;
}

describe("login: lockout per account and address, progressive", () => {
  it("locks the guessing address after the free failures, the right password included, but not the owner elsewhere", async () => {
    const user = await signup();
    const attacker = freshIp();
    const statuses: number[] = [];
    for (let i = 0; i < LOGIN_LIMITS.freeFailures + 3; i++)
      statuses.push((await loginFrom(attacker, user.email, `wrong-${i}1`)).status);
    // The free failures, one more that arms the lock, then 429 until it passes.
    expect(statuses.slice(0, LOGIN_LIMITS.freeFailures + 1)).toEqual(
      Array(LOGIN_LIMITS.freeFailures + 1).fill(401),
    );
    expect(statuses.slice(LOGIN_LIMITS.freeFailures + 1)).toEqual([429, 429]);
    const right = await loginFrom(attacker, user.email, PASSWORD);
    expect(right.status).toBe(429);
    expect(right.body.error.code).toBe("auth.too_many_attempts");
    const firstLock = Number(right.headers.get("retry-after"));
    expect(firstLock).toBeGreaterThan(0);
    expect(firstLock).toBeLessThanOrEqual(LOGIN_LIMITS.firstLockMs / 1000);

    // The owner, from their own address, is not locked out by the attacker.
    expect((await loginFrom(freshIp(), user.email, PASSWORD)).status).toBe(200);

    // Progressive: once a lock has passed (its key dropped here instead of waiting a minute), the
    // next failure locks for twice as long.
    const [, lockKey] = await pairKeys(getServices(env), user.email, attacker);
    await getServices(env).redis.del(lockKey as string);
    expect((await loginFrom(attacker, user.email, "wrong-again-1")).status).toBe(401);
    const second = await loginFrom(attacker, user.email, PASSWORD);
    expect(second.status).toBe(429);
    expect(Number(second.headers.get("retry-after"))).toBeGreaterThan(LOGIN_LIMITS.firstLockMs / 1000);
  });

  it("lets no more than the free guesses (+1) through when they arrive all at once", async () => {
    const user = await signup();
    const ip = freshIp();
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) => loginFrom(ip, user.email, `guess-${i}x1`)),
    );
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(LOGIN_LIMITS.freeFailures + 1);
    expect(statuses.filter((s) => s !== 401 && s !== 429)).toEqual([]);
  });
});

describe("login: per-address limit counts failures only", () => {
  it("never refuses a crowd's successful logins behind one address; failures past the limit are refused", async () => {
    const user = await signup();
    const venueWifi = freshIp();
    // More successful logins than the old limit (100 attempts per 15 min, successes included).
    // (At most the free attempts of one account at once: more in flight from one address looks like guessing.)
    const ok = await inBatches(110, LOGIN_LIMITS.freeFailures, () =>
      loginFrom(venueWifi, user.email, PASSWORD),
    );
    expect(ok.map((r) => r.status).filter((s) => s !== 200)).toEqual([]);

    // The address one failure short of its limit (seeded: a thousand PBKDF2 runs would take minutes).
    const s = getServices(env);
    await s.redis.set(loginIpKey(s, venueWifi), String(LOGIN_LIMITS.ipFailures - 1), { px: 60_000 });
    expect((await loginFrom(venueWifi, uniqueEmail("ghost"), "nope-12345")).status).toBe(401);
    const over = await loginFrom(venueWifi, uniqueEmail("ghost"), "nope-12345");
    expect(over.status).toBe(429);
    expect(Number(over.headers.get("retry-after"))).toBeGreaterThan(0);
    // Other addresses are unaffected.
    expect((await loginFrom(freshIp(), user.email, PASSWORD)).status).toBe(200);
  });
});

describe("sign-up: throttled per address and globally", () => {
  it("refuses sign-ups past the per-address limit with 429 and Retry-After; other addresses go on", async () => {
    const ip = freshIp();
    const results = await inBatches(SIGNUP_PER_IP.limit + 1, 10, (i) =>
      api<ApiError>("POST", "/v1/auth/signup", {
        headers: { "cf-connecting-ip": ip },
        body: { email: uniqueEmail(`flood${i}`), password: PASSWORD, nickname: "새손님" },
      }),
    );
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 201).length).toBe(SIGNUP_PER_IP.limit);
    const refused = results.find((r) => r.status === 429);
    expect(refused?.body.error.code).toBe("rate.limited");
    expect(Number(refused?.headers.get("retry-after"))).toBeGreaterThan(0);
    const elsewhere = await api("POST", "/v1/auth/signup", {
      headers: { "cf-connecting-ip": freshIp() },
      body: { email: uniqueEmail(), password: PASSWORD, nickname: "새손님" },
    });
    expect(elsewhere.status).toBe(201);
  });

  it("refuses every sign-up once the global limit is spent, whatever the address", async () => {
    // A Redis prefix of this test's own, so the spent global budget touches no other test.
    const isolated = { ...env, REDIS_PREFIX: `${env.REDIS_PREFIX}signup-global-${crypto.randomUUID()}:` };
    const s = getServices(isolated);
    const log = createLogger({ test: "signup-global" });
    await inBatches(SIGNUP_GLOBAL.limit, 100, () => consume(s, log, SIGNUP_GLOBAL, "all"));
    const ctx = createExecutionContext();
    const res = await worker.fetch(
      new Request("http://somsom.test/v1/auth/signup", {
        method: "POST",
        headers: { "content-type": "application/json", "cf-connecting-ip": freshIp() },
        body: JSON.stringify({ email: uniqueEmail(), password: PASSWORD, nickname: "새손님" }),
      }),
      isolated,
      ctx,
    );
    await waitOnExecutionContext(ctx);
    expect(res.status).toBe(429);
    expect(((await res.json()) as ApiError).error.code).toBe("rate.limited");
  });
});
