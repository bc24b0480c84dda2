import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { startControlServer } from "../local/control-server.ts";
import { Stack } from "../local/stack.ts";

const secret = () => randomBytes(24).toString("hex");

/** One stack per test run, with its own database, Redis prefix, Kafka log and DynamoDB table. */
export default async function setup(project: TestProject) {
  const runId = `${Date.now().toString(36)}${randomBytes(3).toString("hex")}`;
  const kafkaDataDir = await mkdtemp(join(tmpdir(), "somsom-kafka-"));
  // On disk, not in memory: fault tests stop and restart DynamoDB and expect its items back.
  const dynamoPath = await mkdtemp(join(tmpdir(), "somsom-dynamo-"));
  const stack = new Stack({
    database: `somsom_test_${runId}`,
    redisPrefix: `test:${runId}:`,
    dynamoTable: `chat_${runId}`,
    kafkaDataDir,
    dynamoPath,
    ports: { planetscale: 0, redis: 0, kafka: 0, dynamo: 0 },
    credentials: {
      dbUser: "test",
      dbPassword: secret(),
      redisToken: secret(),
      kafkaUser: "test",
      kafkaPassword: secret(),
      awsAccessKeyId: "test",
      awsSecretAccessKey: secret(),
    },
  });
  await stack.start();
  const control = await startControlServer(stack);
  project.provide("bindings", { ...stack.bindings, JWT_SECRET: secret(), CHECKIN_SECRET: secret() });
  project.provide("controlUrl", control.url);

  return async () => {
    await control.close();
    await stack.stop();
    await stack.dropData();
    await rm(kafkaDataDir, { recursive: true, force: true });
    await rm(dynamoPath, { recursive: true, force: true });
  };
}
