import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { startControlServer } from "../local/control-server.ts";
import { privateStack, randomSecret } from "../local/stack.ts";

/** One stack per test run, with its own database, Redis prefix, Kafka log and DynamoDB table. */
export default async function setup(project: TestProject) {
  const work = await mkdtemp(join(tmpdir(), "somsom-test-"));
  // DynamoDB on disk, not in memory: fault tests stop and restart it and expect its items back.
  const stack = privateStack("test", work, { dynamoOnDisk: true });
  await stack.start();
  const control = await startControlServer(stack);
  project.provide("bindings", {
    ...stack.bindings,
    // The Kafka REST dialect under test: v2 (the default), or Upstash's for a project named "…-upstash".
    KAFKA_DIALECT: project.name.endsWith("-upstash") ? "upstash" : "v2",
    JWT_SECRET: randomSecret(),
    CHECKIN_SECRET: randomSecret(),
    // One web app on another origin may call the API (test/worker/http-edge.test.ts).
    CORS_ORIGINS: "https://app.somsom.test",
    // A limit check waits up to 10 s for Redis, not production's 1 s: on a busy CI machine an answer
    // can take longer, and a check that times out lets the request through (the policy for a lapse),
    // so a test of a spent limit would see a 201. Redis down still fails at once (redis-outage test).
    RATE_LIMIT_TIMEOUT_MS: "10000",
    // A cron tick driven by a test (test/worker/cron.ts) polls Kafka for 2 s, not the 50 s of production.
    CHAT_CONSUMER_RUN_MS: "2000",
    // A room that tests can fill (test/worker/chat.limits.test.ts); the most any other chat test opens
    // at once is 60 (chat.history.test.ts).
    CHAT_MAX_SOCKETS_PER_ROOM: "64",
    // The "worker-shards" project: a room holds one socket itself, then spreads over shards of two.
    ...(project.name === "worker-shards" ? { CHAT_ROOM_SOCKETS: "1", CHAT_SHARD_SOCKETS: "2" } : {}),
  });
  project.provide("controlUrl", control.url);

  return async () => {
    await control.close();
    await stack.stop();
    await stack.dropData();
    await rm(work, { recursive: true, force: true });
  };
}
