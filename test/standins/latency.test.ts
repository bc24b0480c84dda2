/**
 * Injected round trip of the PlanetScale and Upstash stand-ins (issue 13): each request waits the
 * configured delay before it is handled, so a transaction's locks stay held across it as across the
 * network in production. Lower bounds only: a delay can only make a request slower.
 */
import { randomBytes } from "node:crypto";
import { Client } from "@planetscale/database";
import { Redis } from "@upstash/redis";
import { createConnection } from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PlanetscaleStandin, startPlanetscaleStandin } from "../../local/planetscale/server.ts";
import { type RedisStandin, startRedisStandin } from "../../local/upstash-redis/server.ts";

const MYSQL = { host: "127.0.0.1", port: 3306, user: "root", password: "" };
const DATABASE = `ps_latency_${randomBytes(4).toString("hex")}`;
const TOKEN = `latency-${randomBytes(8).toString("hex")}`;

let ps: PlanetscaleStandin;
let redis: RedisStandin;

beforeAll(async () => {
  const admin = await createConnection(MYSQL);
  await admin.query(`CREATE DATABASE \`${DATABASE}\``);
  await admin.end();
  ps = await startPlanetscaleStandin({
    mysql: MYSQL,
    database: DATABASE,
    username: "u",
    password: "p",
    latencyMs: 40,
  });
  redis = await startRedisStandin({ redis: { host: "127.0.0.1", port: 6379 }, token: TOKEN });
});

afterAll(async () => {
  await ps?.close();
  await redis?.close();
  const admin = await createConnection(MYSQL);
  await admin.query(`DROP DATABASE IF EXISTS \`${DATABASE}\``);
  await admin.end();
});

const timed = async (run: () => Promise<unknown>) => {
  const t0 = performance.now();
  await run();
  return performance.now() - t0;
};

describe("stand-in latency injection", () => {
  it("delays every PlanetScale request by the configured round trip, and can be changed live", async () => {
    const conn = new Client({ url: ps.url }).connection();
    await conn.execute("select 1");
    expect(await timed(() => conn.execute("select 1"))).toBeGreaterThanOrEqual(39);
    // A transaction pays it per statement: BEGIN, the statement, COMMIT.
    expect(await timed(() => conn.transaction((tx) => tx.execute("select 1")))).toBeGreaterThanOrEqual(
      3 * 39,
    );
    ps.setLatency(0);
    await conn.execute("select 1");
  });

  it("delays every Upstash request (a pipeline is one round trip)", async () => {
    const client = new Redis({ url: redis.url, token: TOKEN, automaticDeserialization: false });
    redis.setLatency(30);
    expect(await timed(() => client.ping())).toBeGreaterThanOrEqual(29);
    const key = `latency-test:${randomBytes(4).toString("hex")}`;
    expect(await timed(() => client.pipeline().set(key, "1").del(key).exec())).toBeGreaterThanOrEqual(29);
    redis.setLatency(0);
  });
});
