/**
 * Conformance of the local Upstash Redis REST stand-in, driven by the official @upstash/redis client
 * (raw fetch only for the 401 check). Runs against the real local Redis in a randomly chosen
 * database 9..15 with a unique key prefix; the database is flushed at the end.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "@upstash/redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../local/http.ts";
import { type RedisStandin, startRedisStandin } from "../../local/upstash-redis/server.ts";

const REDIS = { host: "127.0.0.1", port: 6379 };
const DB = 9 + Math.floor(Math.random() * 7);
const TOKEN = `test-token-${randomUUID()}`;
const P = `ur-test:${randomUUID().slice(0, 8)}:`;

let standin: RedisStandin;
/** The client as an app uses it: base64 responses, auto-pipelining, automatic (de)serialisation. */
let redis: Redis;
/** No JSON parsing of results, to check strings byte for byte. */
let raw: Redis;

const errorOf = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error("expected a rejection");
    },
    (error: unknown) => error as Error,
  );

beforeAll(async () => {
  standin = await startRedisStandin({ redis: { ...REDIS, db: DB }, token: TOKEN });
  redis = new Redis({ url: standin.url, token: TOKEN });
  raw = new Redis({ url: standin.url, token: TOKEN, automaticDeserialization: false });
});

afterAll(async () => {
  await redis?.flushdb();
  await standin?.close();
});

describe("upstash-redis stand-in", () => {
  it("sets and gets strings, Korean text and JSON objects", async () => {
    expect(await redis.set(`${P}s`, "hello")).toBe("OK");
    expect(await redis.get(`${P}s`)).toBe("hello");

    const korean = "안녕하세요, 솜솜 파티! 🎉";
    await redis.set(`${P}ko`, korean);
    expect(await redis.get(`${P}ko`)).toBe(korean);
    // Redis holds exactly the UTF-8 bytes: the base64 trip did not mangle them on the way in.
    expect(await redis.strlen(`${P}ko`)).toBe(Buffer.byteLength(korean));

    const booking = { id: 7, name: "김민지", seats: [1, 2], vip: true, note: null };
    await redis.set(`${P}json`, booking);
    expect(await redis.get(`${P}json`)).toEqual(booking);

    expect(await redis.get(`${P}missing`)).toBeNull();
    expect(await redis.mget(`${P}s`, `${P}missing`)).toEqual(["hello", null]);
  });

  it("returns byte-exact strings through the client's automatic base64 decoding", async () => {
    const values = [
      "OK", // a stored "OK" is a bulk string, and must not be confused with the +OK status
      "T0s=",
      "PONG",
      "",
      "null",
      "a\u0000b\r\n\tc",
      '😀 emoji 👍🏽 and 한글 and Ω≈ç√ and \\ "quotes" \'',
      "x".repeat(200_000),
    ];
    for (const [i, value] of values.entries()) {
      await raw.set(`${P}exact:${i}`, value);
      expect(await raw.get(`${P}exact:${i}`)).toBe(value);
      expect(await raw.strlen(`${P}exact:${i}`)).toBe(Buffer.byteLength(value));
    }
    // Nested arrays are decoded element by element.
    const keys = values.map((_, i) => `${P}exact:${i}`);
    expect(await raw.mget(...keys)).toEqual(values);
    // A byte range cut inside UTF-8 text still lines up with the bytes Redis holds.
    await raw.set(`${P}exact:ko`, "한국");
    expect(await raw.getrange(`${P}exact:ko`, 0, 2)).toBe("한");

    // The plain-JSON (no base64) path answers the same for text.
    const plain = new Redis({ url: standin.url, token: TOKEN, responseEncoding: false });
    expect(await plain.get(`${P}exact:6`)).toBe(values[6]);
    expect(await plain.set(`${P}exact:plain`, "v")).toBe("OK");
  });

  it("incr / decr", async () => {
    expect(await redis.incr(`${P}n`)).toBe(1);
    expect(await redis.incrby(`${P}n`, 10)).toBe(11);
    expect(await redis.decr(`${P}n`)).toBe(10);
    expect(await redis.decrby(`${P}n`, 3)).toBe(7);
    expect(await redis.incrbyfloat(`${P}f`, 1.5)).toBe(1.5);
  });

  it("expiry: SET EX / PX / NX and TTL", async () => {
    await redis.set(`${P}ex`, "v", { ex: 100 });
    const ttl = await redis.ttl(`${P}ex`);
    expect(ttl).toBeGreaterThan(90);
    expect(ttl).toBeLessThanOrEqual(100);
    expect(await redis.ttl(`${P}missing`)).toBe(-2);

    expect(await redis.set(`${P}lock`, "a", { nx: true, px: 150 })).toBe("OK");
    expect(await redis.set(`${P}lock`, "b", { nx: true, px: 150 })).toBeNull();
    expect(await redis.get(`${P}lock`)).toBe("a");
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await redis.get(`${P}lock`)).toBeNull();
  });

  it("hashes", async () => {
    expect(await redis.hset(`${P}h`, { name: "솜솜", count: 1, meta: { a: 1 } })).toBe(3);
    expect(await redis.hget(`${P}h`, "name")).toBe("솜솜");
    expect(await redis.hincrby(`${P}h`, "count", 4)).toBe(5);
    expect(await redis.hgetall(`${P}h`)).toEqual({ name: "솜솜", count: 5, meta: { a: 1 } });
    expect(await redis.hget(`${P}h`, "nope")).toBeNull();
  });

  it("sorted sets", async () => {
    await redis.zadd(
      `${P}z`,
      { score: 1, member: "a" },
      { score: 2.5, member: "b" },
      { score: -3, member: "c" },
    );
    expect(await redis.zrange(`${P}z`, 0, -1)).toEqual(["c", "a", "b"]);
    expect(await redis.zrange(`${P}z`, 0, -1, { withScores: true })).toEqual(["c", -3, "a", 1, "b", 2.5]);
    expect(await redis.zrank(`${P}z`, "b")).toBe(2);
    expect(await redis.zrank(`${P}z`, "zz")).toBeNull();
    expect(await redis.zscore(`${P}z`, "b")).toBe(2.5);
    expect(await redis.zincrby(`${P}z`, 10, "c")).toBe(7);
    expect(await redis.zrange(`${P}z`, 0, 0, { rev: true })).toEqual(["c"]);
  });

  it("lists, sets and streams", async () => {
    expect(await redis.rpush(`${P}l`, "one", "two", "셋")).toBe(3);
    expect(await redis.lrange(`${P}l`, 0, -1)).toEqual(["one", "two", "셋"]);
    expect(await redis.lpop(`${P}l`)).toBe("one");
    expect(await redis.llen(`${P}l`)).toBe(2);

    expect(await redis.sadd(`${P}set`, "x", "y", "y")).toBe(2);
    expect((await redis.smembers(`${P}set`)).sort()).toEqual(["x", "y"]);
    expect(await redis.sismember(`${P}set`, "x")).toBe(1);

    const id = await redis.xadd(`${P}stream`, "*", { seat: "A1" });
    expect(id).toMatch(/^\d+-\d+$/);
    expect(await redis.xlen(`${P}stream`)).toBe(1);
  });

  it("pipeline: one failing command does not stop the others", async () => {
    const p = redis.pipeline();
    p.set(`${P}p`, "text");
    p.incr(`${P}p`); // not an integer
    p.get(`${P}p`);
    const results = await p.exec({ keepErrors: true });
    expect(results[0]).toEqual({ result: "OK", error: undefined });
    expect(results[1]?.error).toMatch(/not an integer/);
    expect(results[2]).toEqual({ result: "text", error: undefined });

    const q = redis.pipeline();
    q.get(`${P}p`);
    q.incr(`${P}p`);
    await expect(q.exec()).rejects.toThrow(/Command 2 \[ incr \] failed/);
  });

  it("multi-exec: atomic transactions, aborted as a whole by a queue-time error", async () => {
    const tx = redis.multi();
    tx.set(`${P}t`, 1);
    tx.incr(`${P}t`);
    tx.get(`${P}t`);
    expect(await tx.exec()).toEqual(["OK", 2, 2]);

    // HSET with no field/value is refused at queue time: EXEC discards everything.
    const bad = redis.multi();
    bad.set(`${P}t-never`, "x");
    bad.hset(`${P}t-hash`, {});
    const error = await errorOf(bad.exec());
    expect(error.name).toBe("UpstashError");
    expect(error.message).toMatch(/EXECABORT/);
    expect(await redis.get(`${P}t-never`)).toBeNull();

    // A runtime error is reported for its command; the rest of the transaction still applies.
    const partial = redis.multi();
    partial.set(`${P}t2`, "x");
    partial.incr(`${P}t2`);
    const results = await partial.exec({ keepErrors: true });
    expect(results[0]?.result).toBe("OK");
    expect(results[1]?.error).toMatch(/not an integer/);
  });

  it("multi-exec stays atomic under concurrency on shared connections", async () => {
    const txs = Array.from({ length: 50 }, () => redis.multi().incr(`${P}pair`).incr(`${P}pair`).exec());
    const results = await Promise.all(txs);
    for (const [first, second] of results) expect(second).toBe((first as number) + 1);
    expect(results.map(([first]) => first).sort((a, b) => (a as number) - (b as number))).toEqual(
      Array.from({ length: 50 }, (_, i) => 2 * i + 1),
    );
  });

  it("eval, evalsha and Upstash's allow-key-locking script flag", async () => {
    const result = await redis.eval(
      "return {KEYS[1], redis.call('INCRBY', KEYS[1], ARGV[1]), 'ok', redis.call('SET', KEYS[2], 'v')}",
      [`${P}lua`, `${P}lua2`],
      [5],
    );
    expect(result).toEqual([`${P}lua`, 5, "ok", "OK"]);

    // @upstash/ratelimit and others prefix scripts with an Upstash-only shebang flag.
    const script = redis.createScript<number>(
      "#!lua flags=allow-key-locking\nreturn redis.call('INCR', KEYS[1])",
    );
    expect(await script.exec([`${P}rl`], [])).toBe(1); // EVALSHA → NOSCRIPT → EVAL
    expect(await script.evalsha([`${P}rl`], [])).toBe(2); // now cached under the client's SHA

    const sha = await redis.scriptLoad("#!lua flags=allow-key-locking,no-writes\nreturn ARGV[1]");
    expect(await redis.scriptExists(sha)).toEqual([1]);
    expect(await redis.evalsha(sha, [], ["안녕"])).toBe("안녕");

    await expect(redis.eval("return redis.call('NOPE')", [], [])).rejects.toThrow(/Unknown Redis command/i);
  });

  it("unknown and refused commands → UpstashError", async () => {
    const unknown = await errorOf(redis.exec(["FOOBAR", "x"]));
    expect(unknown.name).toBe("UpstashError");
    expect(unknown.message).toMatch(/ERR unknown command 'FOOBAR'/);

    for (const command of [["BLPOP", `${P}q`, "1"], ["SELECT", "0"], ["SUBSCRIBE", "ch"], ["MULTI"]] as [
      string,
      ...string[],
    ][]) {
      const error = await errorOf(redis.exec(command));
      expect(error.name).toBe("UpstashError");
      expect(error.message).toMatch(/not available over REST/);
    }
  });

  it("a wrong or missing token → 401 and an UpstashError", async () => {
    const intruder = new Redis({ url: standin.url, token: "wrong-token" });
    const error = await errorOf(intruder.get(`${P}s`));
    expect(error.name).toBe("UpstashError");
    expect(error.message).toMatch(/Unauthorized/);

    const res = await fetch(standin.url, { method: "POST", body: JSON.stringify(["GET", `${P}s`]) });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ error: "Unauthorized" });
  });

  it("200 concurrent INCRs on one key, as separate requests and auto-pipelined", async () => {
    const separate = new Redis({ url: standin.url, token: TOKEN, enableAutoPipelining: false });
    const counts = await Promise.all(Array.from({ length: 200 }, () => separate.incr(`${P}hits`)));
    expect(await redis.get(`${P}hits`)).toBe(200);
    expect(new Set(counts).size).toBe(200);

    await Promise.all(Array.from({ length: 200 }, () => redis.incr(`${P}hits`)));
    expect(await redis.get(`${P}hits`)).toBe(400);
  });
});

describe("upstash-redis stand-in when Redis goes away", () => {
  let port: number;
  let dir: string;
  let child: ChildProcess | undefined;
  let own: RedisStandin;
  let client: Redis;

  /** Starts a private redis-server (never the shared one) and waits until it accepts connections. */
  const startRedis = async () => {
    child = spawn(
      "redis-server",
      ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir],
      { stdio: "ignore" },
    );
    for (let i = 0; i < 100; i++) {
      const ok = await new Promise<boolean>((resolve) => {
        const socket = net.connect(port, "127.0.0.1", () => {
          socket.destroy();
          resolve(true);
        });
        socket.on("error", () => resolve(false));
      });
      if (ok) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error("redis-server did not start");
  };
  const stopRedis = async () => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    const exited = once(running, "exit");
    running.kill("SIGKILL");
    await exited;
  };

  beforeAll(async () => {
    port = await freePort();
    dir = mkdtempSync(join(tmpdir(), "ur-test-redis-"));
    await startRedis();
    own = await startRedisStandin({ redis: { host: "127.0.0.1", port, db: 3 }, token: TOKEN });
    client = new Redis({ url: own.url, token: TOKEN, enableAutoPipelining: false });
  });

  afterAll(async () => {
    await own?.close();
    await stopRedis();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("answers 5xx errors during the outage (no hang) and reconnects afterwards", async () => {
    expect(await client.set("k", "before")).toBe("OK");

    await stopRedis();
    const started = Date.now();
    const error = await errorOf(client.get("k"));
    expect(error.name).toBe("UpstashError");
    expect(error.message).toMatch(/Redis is unavailable/);
    expect(Date.now() - started).toBeLessThan(5000);

    await startRedis();
    expect(await client.set("k", "after")).toBe("OK");
    expect(await client.get("k")).toBe("after");
    // The new connection SELECTed the configured database again: db 0 of that Redis is still empty.
    const db0 = await startRedisStandin({ redis: { host: "127.0.0.1", port, db: 0 }, token: TOKEN });
    try {
      const other = new Redis({ url: db0.url, token: TOKEN, enableAutoPipelining: false });
      expect(await other.get("k")).toBeNull();
      expect(await client.dbsize()).toBe(1);
    } finally {
      await db0.close();
    }
  });
});
