import { appendFile, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Message } from "@upstash/kafka";
import { Kafka, UpstashError } from "@upstash/kafka";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configureKafkaStandin, createKafkaTopic } from "../../local/kafka-rest/admin.ts";
import type { KafkaStandin } from "../../local/kafka-rest/server.ts";
import { startKafkaStandin } from "../../local/kafka-rest/server.ts";

// Conformance of the local Kafka REST stand-in's Upstash dialect, driven only by the official
// @upstash/kafka client (raw fetch only for the error checks: the client retries errors for ~15 s
// before it throws). The v2 dialect has its own test (kafka-rest-v2.test.ts).

const username = "standin-user";
const password = "standin-pass";

let root: string;
let standin: KafkaStandin;
let kafka: Kafka;
let topicCounter = 0;

/** A fresh topic per test, so tests never see each other's messages; created first, as an operator would. */
async function freshTopic(name: string): Promise<string> {
  topicCounter += 1;
  const topic = `${name}-${topicCounter}`;
  await createKafkaTopic(standin.url, { username, password }, topic);
  return topic;
}

/** The consume options the project's consumer Worker uses: explicit commits, start from the beginning. */
function consumeOptions(topic: string, consumerGroupId: string, instanceId: string, timeout = 1000) {
  return {
    consumerGroupId,
    instanceId,
    topics: [topic],
    autoOffsetReset: "earliest" as const,
    autoCommit: false,
    timeout,
  };
}

/** Group items by partition, keeping their order. */
function byPartition<T extends { partition: number }>(items: T[]): Map<number, T[]> {
  const groups = new Map<number, T[]>();
  for (const item of items) {
    const list = groups.get(item.partition) ?? [];
    list.push(item);
    groups.set(item.partition, list);
  }
  return groups;
}

function sortedValues(messages: Message[]): string[] {
  return messages.map((message) => message.value).sort();
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "kafka-rest-standin-"));
  standin = await startKafkaStandin({
    dataDir: join(root, "shared"),
    username,
    password,
    partitions: 4,
    topics: ["chat-messages"],
  });
  kafka = new Kafka({ url: standin.url, username, password });
});

afterAll(async () => {
  await standin?.close();
  await rm(root, { recursive: true, force: true });
});

describe("Kafka REST stand-in", () => {
  it("produce and produceMany answer with topic/partition/offset; consume returns every message in per-partition order", async () => {
    const topic = await freshTopic("order");
    const producer = kafka.producer();

    const first = await producer.produce(
      topic,
      { text: "hello" },
      { key: "room-a", timestamp: 1_700_000_000_000, headers: [{ key: "trace", value: "t-1" }] },
    );
    expect(first).toMatchObject({ topic, offset: 0, timestamp: 1_700_000_000_000 });
    expect(first.partition).toBeGreaterThanOrEqual(0);
    expect(first.partition).toBeLessThan(4);

    const rooms = ["room-a", "room-b", "room-c"];
    const batch = Array.from({ length: 12 }, (_, i) => ({
      topic,
      value: `m${i}`,
      key: rooms[i % rooms.length],
    }));
    const results = await producer.produceMany(batch);
    expect(results).toHaveLength(12);
    results.forEach((result, i) => {
      expect(result.topic).toBe(topic);
      // Same key, same partition, throughout the batch.
      expect(result.partition).toBe(results[i % rooms.length]?.partition);
    });
    // Within a partition, offsets are consecutive and follow request order.
    for (const list of byPartition([first, ...results]).values()) {
      expect(list.map((r) => r.offset)).toEqual(list.map((_, i) => i));
    }

    const consumed = await kafka.consumer().consume(consumeOptions(topic, "order-group", "order-1"));
    expect(consumed).toHaveLength(13);
    for (const [partition, list] of byPartition(consumed)) {
      expect(list.map((m) => m.offset)).toEqual(list.map((_, i) => i));
      const produced = [first, ...results]
        .map((r, i) => ({ ...r, value: i === 0 ? JSON.stringify({ text: "hello" }) : `m${i - 1}` }))
        .filter((r) => r.partition === partition);
      expect(list.map((m) => m.value)).toEqual(produced.map((r) => r.value));
    }
    expect(consumed.find((m) => m.offset === 0 && m.partition === first.partition)).toEqual({
      topic,
      partition: first.partition,
      offset: 0,
      timestamp: 1_700_000_000_000,
      key: "room-a",
      value: '{"text":"hello"}',
      headers: [{ key: "trace", value: "t-1" }],
    });
  });

  it("sends the same key to the same partition (Kafka's murmur2) and honours an explicit partition", async () => {
    const topic = await freshTopic("keys");
    const producer = kafka.producer();

    const sameKey = await producer.produceMany(
      Array.from({ length: 20 }, (_, i) => ({ topic, value: `v${i}`, key: "room-42" })),
    );
    expect(new Set(sameKey.map((r) => r.partition)).size).toBe(1);

    for (let i = 0; i < 10; i++) {
      const a = await producer.produce(topic, "x", { key: `room-${i}` });
      const b = await producer.produce(topic, "y", { key: `room-${i}` });
      expect(b.partition).toBe(a.partition);
    }

    // murmur2("foobar") = -790332482 in Kafka's own tests → partition 2 of 4, as a Java producer would pick.
    expect((await producer.produce(topic, "z", { key: "foobar" })).partition).toBe(2);

    const explicit = await producer.produce(topic, "pinned", { key: "room-42", partition: 3 });
    expect(explicit.partition).toBe(3);
  });

  it("lets two consumer groups each see every message", async () => {
    const topic = await freshTopic("groups");
    await kafka
      .producer()
      .produceMany(Array.from({ length: 8 }, (_, i) => ({ topic, value: `g${i}`, key: `room-${i}` })));
    const expected = Array.from({ length: 8 }, (_, i) => `g${i}`).sort();

    const consumer = kafka.consumer();
    const a = await consumer.consume(consumeOptions(topic, "groups-a", "instance-1"));
    const b = await consumer.consume(consumeOptions(topic, "groups-b", "instance-1"));
    expect(sortedValues(a)).toEqual(expected);
    expect(sortedValues(b)).toEqual(expected);
  });

  it("re-delivers uncommitted messages to a new instance of the group, and stops after a commit", async () => {
    const topic = await freshTopic("redeliver");
    const group = "redeliver-group";
    const consumer = kafka.consumer();
    await kafka
      .producer()
      .produceMany(Array.from({ length: 5 }, (_, i) => ({ topic, value: `r${i}`, key: `room-${i}` })));
    const expected = ["r0", "r1", "r2", "r3", "r4"];

    // The first instance gets everything, then nothing more: its own position moved on.
    expect(sortedValues(await consumer.consume(consumeOptions(topic, group, "first")))).toEqual(expected);
    expect(await consumer.consume(consumeOptions(topic, group, "first", 300))).toEqual([]);

    // Nothing was committed (autoCommit: false): a new instance starts from scratch and sees them again.
    // (The old one leaves first: while it is a member it keeps its share of the partitions.)
    await kafka.admin().removeConsumerInstance(group, "first");
    expect(sortedValues(await consumer.consume(consumeOptions(topic, group, "second")))).toEqual(expected);

    // Commit what "second" fetched (no offsets = everything fetched so far).
    await consumer.commit({ consumerGroupId: group, instanceId: "second" });
    await kafka.admin().removeConsumerInstance(group, "second");

    // A third instance resumes from the committed offsets: nothing old, only what comes next.
    expect(await consumer.consume(consumeOptions(topic, group, "third", 300))).toEqual([]);
    await kafka.producer().produce(topic, "r5", { key: "room-0" });
    const next = await consumer.consume(consumeOptions(topic, group, "third"));
    expect(next.map((m) => m.value)).toEqual(["r5"]);
  });

  it("long-polls: returns as soon as a message arrives, or empty after the timeout", async () => {
    const topic = await freshTopic("longpoll");
    const consumer = kafka.consumer();

    // Nothing arrives: the call waits for the whole timeout, then returns empty.
    let started = performance.now();
    expect(await consumer.consume(consumeOptions(topic, "poll-group", "poller", 700))).toEqual([]);
    let elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(650);
    expect(elapsed).toBeLessThan(5000);

    // A message produced during the wait ends it early.
    started = performance.now();
    const polling = consumer.consume(consumeOptions(topic, "poll-group", "poller", 10_000));
    await new Promise((resolve) => setTimeout(resolve, 300));
    await kafka.producer().produce(topic, "wake-up", { key: "room-1" });
    const messages = await polling;
    elapsed = performance.now() - started;
    expect(messages.map((m) => m.value)).toEqual(["wake-up"]);
    expect(elapsed).toBeLessThan(3000);
  });

  it("commits explicit offsets (next offset to read) and reports them with committed()", async () => {
    const topic = await freshTopic("committed");
    const group = "committed-group";
    const consumer = kafka.consumer();
    await kafka.producer().produceMany(["c0", "c1", "c2"].map((value) => ({ topic, value, partition: 1 })));

    await consumer.commit({
      consumerGroupId: group,
      instanceId: "any",
      offset: { topic, partition: 1, offset: 2 },
    });
    expect(
      await consumer.committed({
        consumerGroupId: group,
        instanceId: "any",
        topicPartitions: [
          { topic, partition: 1 },
          { topic, partition: 0 },
        ],
      }),
    ).toEqual([
      { topic, partition: 1, offset: 2 },
      { topic, partition: 0, offset: -1 },
    ]);
    // The same through the admin API.
    expect(
      await kafka.admin().committedOffsets({
        consumerGroupId: group,
        instanceId: "any",
        topicPartition: { topic, partition: 1 },
      }),
    ).toEqual([{ topic, partition: 1, offset: 2 }]);

    const resumed = await consumer.consume(consumeOptions(topic, group, "reader"));
    expect(resumed.map((m) => [m.partition, m.offset, m.value])).toEqual([[1, 2, "c2"]]);

    // Several partitions at once.
    await consumer.commit({
      consumerGroupId: group,
      instanceId: "any",
      offset: [
        { topic, partition: 0, offset: 0 },
        { topic, partition: 1, offset: 3 },
      ],
    });
    expect(
      await consumer.committed({
        consumerGroupId: group,
        instanceId: "any",
        topicPartitions: [
          { topic, partition: 0 },
          { topic, partition: 1 },
        ],
      }),
    ).toEqual([
      { topic, partition: 0, offset: 0 },
      { topic, partition: 1, offset: 3 },
    ]);
  });

  it("auto-commits what earlier polls returned when autoCommit is on", async () => {
    const topic = await freshTopic("autocommit");
    const group = "autocommit-group";
    const consumer = kafka.consumer();
    await kafka.producer().produce(topic, "a0", { partition: 0 });
    const options = { ...consumeOptions(topic, group, "auto", 300), autoCommit: true, autoCommitInterval: 0 };

    expect((await consumer.consume(options)).map((m) => m.value)).toEqual(["a0"]);
    // As in Kafka, the commit happens inside the next poll.
    expect(await consumer.consume(options)).toEqual([]);
    expect(
      await consumer.committed({
        consumerGroupId: group,
        instanceId: "auto",
        topicPartitions: [{ topic, partition: 0 }],
      }),
    ).toEqual([{ topic, partition: 0, offset: 1 }]);
  });

  it("fetches by topic/partition/offset without a consumer group", async () => {
    const topic = await freshTopic("fetch");
    const consumer = kafka.consumer();
    await kafka
      .producer()
      .produceMany(Array.from({ length: 5 }, (_, i) => ({ topic, value: `f${i}`, partition: 0 })));
    await kafka.producer().produce(topic, "other", { partition: 2 });

    const fromTwo = await consumer.fetch({ topic, partition: 0, offset: 2, timeout: 1000 });
    expect(fromTwo.map((m) => [m.offset, m.value])).toEqual([
      [2, "f2"],
      [3, "f3"],
      [4, "f4"],
    ]);

    const several = await consumer.fetch({
      topicPartitionOffsets: [
        { topic, partition: 0, offset: 4 },
        { topic, partition: 2, offset: 0 },
      ],
      timeout: 1000,
    });
    expect(several.map((m) => [m.partition, m.offset, m.value]).sort()).toEqual([
      [0, 4, "f4"],
      [2, 0, "other"],
    ]);

    // Past the end: waits for the timeout, then nothing.
    expect(await consumer.fetch({ topic, partition: 0, offset: 5, timeout: 300 })).toEqual([]);
  });

  it("answers the admin calls: topics, consumers, removeConsumerInstance, topicPartitionOffsets", async () => {
    const topic = await freshTopic("admin");
    const admin = kafka.admin();
    await kafka.producer().produceMany(["x", "y"].map((value) => ({ topic, value, partition: 1 })));

    const topics = await admin.topics();
    expect(topics["chat-messages"]).toBe(4);
    expect(topics[topic]).toBe(4);

    await kafka.consumer().consume(consumeOptions(topic, "admin-group", "admin-1", 100));
    const group = (await admin.consumers()).find((g) => g.name === "admin-group");
    expect(group?.instances).toEqual([{ name: "admin-1", topics: [{ topic, partitions: [0, 1, 2, 3] }] }]);

    await admin.removeConsumerInstance("admin-group", "admin-1");
    expect((await admin.consumers()).find((g) => g.name === "admin-group")).toBeUndefined();

    expect(
      await admin.topicPartitionOffsets({ timestamp: "earliest", topicPartition: { topic, partition: 1 } }),
    ).toEqual([{ topic, partition: 1, offset: 0 }]);
    expect(
      await admin.topicPartitionOffsets({ timestamp: "latest", topicPartition: { topic, partition: 1 } }),
    ).toEqual([{ topic, partition: 1, offset: 2 }]);
  });

  it("rejects bad Basic auth with 401 and an error body the client turns into an UpstashError", async () => {
    const wrong = `Basic ${Buffer.from(`${username}:nope`).toString("base64")}`;
    for (const headers of [{ authorization: wrong }, {} as Record<string, string>]) {
      const res = await fetch(`${standin.url}/topics`, { headers });
      expect(res.status).toBe(401);
      const body = (await res.json()) as { error: string; status: number; result?: string };
      expect(body).toEqual({ error: expect.stringMatching(/unauthorized/i), status: 401 });
      // What the client does with a non-OK answer: `throw new UpstashError(await res.json())`.
      const error = new UpstashError({ result: "", ...body });
      expect(error.message).toBe(body.error);
      expect(error.status).toBe(401);
    }
  });

  it("answers an unknown path with 404 and a JSON error", async () => {
    const auth = `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`;
    const res = await fetch(`${standin.url}/no-such-endpoint`, {
      method: "POST",
      headers: { authorization: auth },
    });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: expect.stringContaining("no-such-endpoint"), status: 404 });
  });

  it("never creates a topic on produce or consume: an unknown topic is a 404 error, and nothing is written", async () => {
    const auth = { authorization: `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}` };
    const topic = `never-created-${Date.now()}`;
    const produced = await fetch(`${standin.url}/produce/${topic}`, {
      method: "POST",
      headers: auth,
      body: JSON.stringify({ value: "lost?" }),
    });
    expect(produced.status).toBe(404);
    expect(await produced.json()).toEqual({ error: expect.stringContaining(topic), status: 404 });
    const consumed = await fetch(`${standin.url}/consume/g/i`, {
      method: "POST",
      headers: auth,
      body: JSON.stringify({ topic, timeout: 10 }),
    });
    expect(consumed.status).toBe(404);
    expect((await kafka.admin().topics())[topic]).toBeUndefined();

    // Created (the operator step), the same produce goes through.
    expect(await createKafkaTopic(standin.url, { username, password }, topic, 2)).toEqual({
      topic,
      partitions: 2,
      created: true,
    });
    expect(await kafka.producer().produce(topic, "kept")).toMatchObject({ topic, offset: 0 });
    expect((await kafka.admin().topics())[topic]).toBe(2);
  });

  it("refuses a record over the size limit with an error, as Kafka refuses one over message.max.bytes", async () => {
    const topic = await freshTopic("too-large");
    await configureKafkaStandin(standin.url, { username, password }, { maxRecordBytes: 100 });
    try {
      const res = await fetch(`${standin.url}/produce/${topic}`, {
        method: "POST",
        headers: { authorization: `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}` },
        body: JSON.stringify({ value: "x".repeat(101) }),
      });
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ error: expect.stringContaining("MESSAGE_TOO_LARGE"), status: 400 });
    } finally {
      await configureKafkaStandin(standin.url, { username, password }, { maxRecordBytes: 1_048_588 });
    }
  });

  it("gives 200 concurrent produces with one key 200 distinct consecutive offsets", async () => {
    const topic = await freshTopic("concurrent");
    const producer = kafka.producer();
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => producer.produce(topic, `c${i}`, { key: "room-hot" })),
    );
    expect(new Set(results.map((r) => r.partition)).size).toBe(1);
    const offsets = results.map((r) => r.offset).sort((a, b) => a - b);
    expect(offsets).toEqual(Array.from({ length: 200 }, (_, i) => i));

    // One produceMany of 50: consecutive offsets in request order.
    const many = await producer.produceMany(
      Array.from({ length: 50 }, (_, i) => ({ topic, value: `b${i}`, key: "room-hot" })),
    );
    expect(many.map((r) => r.offset)).toEqual(Array.from({ length: 50 }, (_, i) => 200 + i));

    // A consumer reads them back in offset order, each value at the offset its produce was told.
    const consumed = await kafka.consumer().consume(consumeOptions(topic, "concurrent-group", "reader"));
    expect(consumed.map((m) => m.offset)).toEqual(Array.from({ length: 250 }, (_, i) => i));
    for (const [i, result] of results.entries()) expect(consumed[result.offset]?.value).toBe(`c${i}`);
    for (const [i, result] of many.entries()) expect(consumed[result.offset]?.value).toBe(`b${i}`);
  });

  it("keeps messages and committed offsets across a restart on the same port", async () => {
    const dataDir = join(root, "restart");
    const topic = "chat-messages";
    const first = await startKafkaStandin({ dataDir, username, password, topics: [topic] });
    const client = new Kafka({ url: first.url, username, password });
    const group = "restart-group";
    let partition = -1;
    try {
      const produced = await client
        .producer()
        .produceMany(Array.from({ length: 6 }, (_, i) => ({ topic, value: `p${i}`, key: "room-restart" })));
      partition = produced[0]?.partition ?? -1;
      expect(produced.map((r) => r.offset)).toEqual([0, 1, 2, 3, 4, 5]);

      const before = await client.consumer().consume(consumeOptions(topic, group, "worker"));
      expect(before.map((m) => m.value)).toEqual(["p0", "p1", "p2", "p3", "p4", "p5"]);
      // Only the first four were processed.
      await client
        .consumer()
        .commit({ consumerGroupId: group, instanceId: "worker", offset: { topic, partition, offset: 4 } });
    } finally {
      await first.close();
    }

    const second = await startKafkaStandin({ dataDir, username, password, port: first.port });
    try {
      expect(second.port).toBe(first.port);
      // The same client (same URL) keeps working.
      const topics = await client.admin().topics();
      expect(topics[topic]).toBe(4);

      const kept = await client.consumer().fetch({ topic, partition, offset: 0, timeout: 100 });
      expect(kept.map((m) => [m.offset, m.value])).toEqual(Array.from({ length: 6 }, (_, i) => [i, `p${i}`]));

      expect(
        await client.consumer().committed({
          consumerGroupId: group,
          instanceId: "worker",
          topicPartitions: [{ topic, partition }],
        }),
      ).toEqual([{ topic, partition, offset: 4 }]);

      // The instance did not survive the restart: the same instance id resumes from the committed offset.
      const after = await client.consumer().consume(consumeOptions(topic, group, "worker"));
      expect(after.map((m) => [m.offset, m.value])).toEqual([
        [4, "p4"],
        [5, "p5"],
      ]);

      // New messages continue the offsets.
      const next = await client.producer().produce(topic, "p6", { key: "room-restart" });
      expect(next).toMatchObject({ partition, offset: 6 });
    } finally {
      await second.close();
    }
  });

  it("ignores a torn last line left by a crash mid-write", async () => {
    const dataDir = join(root, "torn");
    const topic = "torn-topic";
    const first = await startKafkaStandin({ dataDir, username, password, topics: [topic] });
    const client = new Kafka({ url: first.url, username, password });
    await client.producer().produceMany(["t0", "t1", "t2"].map((value) => ({ topic, value, partition: 0 })));
    await first.close();

    // Simulate the crash: half a record at the end of partition 0's file.
    const files = await readdir(join(dataDir, "topics", topic));
    const partitionFile = files.find((name) => name.startsWith("0."));
    expect(partitionFile).toBeDefined();
    await appendFile(join(dataDir, "topics", topic, partitionFile ?? ""), '{"offset":3,"timestamp":17000');

    const second = await startKafkaStandin({ dataDir, username, password, port: first.port });
    try {
      const fetched = await client.consumer().fetch({ topic, partition: 0, offset: 0, timeout: 100 });
      expect(fetched.map((m) => m.value)).toEqual(["t0", "t1", "t2"]);
      const next = await client.producer().produce(topic, "t3", { partition: 0 });
      expect(next.offset).toBe(3);
    } finally {
      await second.close();
    }

    // The torn bytes were cut off, so the record written after them reads back cleanly too.
    const third = await startKafkaStandin({ dataDir, username, password, port: first.port });
    try {
      const fetched = await client.consumer().fetch({ topic, partition: 0, offset: 0, timeout: 100 });
      expect(fetched.map((m) => m.value)).toEqual(["t0", "t1", "t2", "t3"]);
    } finally {
      await third.close();
    }
  });
});
