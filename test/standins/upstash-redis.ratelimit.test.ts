/**
 * @upstash/ratelimit against the Upstash REST stand-in, as the Worker's limiter uses it
 * (workers/lib/rate-limit.ts): its Lua scripts carry Upstash's `allow-key-locking` shebang flag and
 * are called by EVALSHA with a SHA computed by the library, falling back to EVAL on NOSCRIPT. A
 * stand-in that answered these differently from Upstash would make every limit pass or fail locally.
 */
import { randomUUID } from "node:crypto";
import net from "node:net";
import { Ratelimit } from "@upstash/ratelimit";
import { Redis } from "@upstash/redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RedisStandin, startRedisStandin } from "../../local/upstash-redis/server.ts";

const REDIS = { host: "127.0.0.1", port: 6379 };
const DB = 9 + Math.floor(Math.random() * 7);
const TOKEN = `rl-token-${randomUUID()}`;
const P = `rl-test:${randomUUID().slice(0, 8)}`;

let standin: RedisStandin;
/** As the Worker builds it (workers/lib/services.ts): raw strings, base64 responses, no auto-pipelining. */
let redis: Redis;
const client = (url: string) =>
  new Redis({ url, token: TOKEN, automaticDeserialization: false, enableAutoPipelining: false });

const limiter = (name: string, algorithm: ReturnType<typeof Ratelimit.slidingWindow>, over = redis) =>
  new Ratelimit({
    redis: over,
    limiter: algorithm,
    prefix: `${P}:${name}`,
    // No in-memory shortcut: every check must reach the stand-in.
    ephemeralCache: false,
    timeout: 0,
    analytics: false,
    enableTelemetry: false,
  });

beforeAll(async () => {
  standin = await startRedisStandin({ redis: { ...REDIS, db: DB }, token: TOKEN });
  redis = client(standin.url);
});

afterAll(async () => {
  await redis?.flushdb();
  await standin?.close();
});

describe("@upstash/ratelimit on the upstash-redis stand-in", () => {
  for (const [name, algorithm] of [
    ["fixed", Ratelimit.fixedWindow(3, "60 s")],
    ["sliding", Ratelimit.slidingWindow(3, "60 s")],
    ["bucket", Ratelimit.tokenBucket(1, "60 s", 3)],
  ] as const) {
    it(`${name} window: exactly the limit passes, per identifier, and resets`, async () => {
      const rl = limiter(name, algorithm);
      const results = [];
      for (let i = 0; i < 5; i++) results.push(await rl.limit("alice"));
      expect(results.map((r) => r.success)).toEqual([true, true, true, false, false]);
      expect(results[3]?.remaining).toBe(0);
      expect(results[3]?.reset).toBeGreaterThan(Date.now());
      // Another identifier has its own counter.
      expect((await rl.limit("bob")).success).toBe(true);
      expect((await rl.getRemaining("alice")).remaining).toBe(0);
      await rl.resetUsedTokens("alice");
      expect((await rl.limit("alice")).success).toBe(true);
    });
  }

  it("parallel checks never let more than the limit through (the script runs atomically)", async () => {
    const rl = limiter("parallel", Ratelimit.slidingWindow(10, "60 s"));
    const separate = client(standin.url);
    const parallel = limiter("parallel", Ratelimit.slidingWindow(10, "60 s"), separate);
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) => (i % 2 ? rl : parallel).limit("crowd")),
    );
    expect(results.filter((r) => r.success)).toHaveLength(10);
  });

  it("EVALSHA of a script Redis does not hold is NOSCRIPT, as on Upstash; EVAL then caches it", async () => {
    const script = `#!lua flags=allow-key-locking\nreturn '${randomUUID()}'`;
    const sha = (await import("node:crypto")).createHash("sha1").update(script).digest("hex");
    await expect(redis.evalsha(sha, [], [])).rejects.toThrow(/NOSCRIPT/);
    await redis.eval(script, [], []);
    expect(await redis.scriptExists(sha)).toEqual([1]);
    expect(typeof (await redis.evalsha(sha, [], []))).toBe("string");
  });

  it("a script error is an UpstashError carrying Redis's error, not a result", async () => {
    const error = await redis.eval("return redis.call('INCR', KEYS[1], 'extra')", [`${P}:bad`], []).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error?.name).toBe("UpstashError");
    expect(error?.message).toMatch(/^ERR Wrong number of args/);
  });

  it("Redis down: the limiter's call fails with an UpstashError (5xx), it never answers success", async () => {
    // A port nothing listens on: the stand-in answers 503 at once (connect refused).
    const closed = await new Promise<number>((resolve) => {
      const srv = net.createServer().listen(0, "127.0.0.1", () => {
        const { port } = srv.address() as net.AddressInfo;
        srv.close(() => resolve(port));
      });
    });
    const dead = await startRedisStandin({ redis: { host: "127.0.0.1", port: closed }, token: TOKEN });
    try {
      const rl = limiter("down", Ratelimit.slidingWindow(3, "60 s"), client(dead.url));
      const error = await rl.limit("alice").then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      expect(error?.name).toBe("UpstashError");
      expect(error?.message).toMatch(/Redis is unavailable/);
      const res = await fetch(dead.url, {
        method: "POST",
        headers: { authorization: `Bearer ${TOKEN}` },
        body: JSON.stringify(["EVALSHA", "0".repeat(40), "0"]),
      });
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({ error: expect.stringMatching(/^ERR Redis is unavailable/) });
    } finally {
      await dead.close();
    }
  });

  it("garbage fault: authorized requests get JSON of the wrong shape until it is switched off", async () => {
    await redis.set(`${P}:g`, "v");
    standin.setGarbage(true);
    try {
      const res = await fetch(standin.url, {
        method: "POST",
        headers: { authorization: `Bearer ${TOKEN}` },
        body: JSON.stringify(["GET", `${P}:g`]),
      });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ result: { garbage: true } });
      const intruder = await fetch(standin.url, { method: "POST", body: JSON.stringify(["GET", `${P}:g`]) });
      expect(intruder.status).toBe(401);
    } finally {
      standin.setGarbage(false);
    }
    expect(await redis.get(`${P}:g`)).toBe("v");
  });
});
