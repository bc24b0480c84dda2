import { env, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import type { DeadLetter } from "../../workers/jobs/chat-writes";
import type { ChatItem } from "../../workers/lib/dynamo.ts";
import { createKafkaLog, kafkaConfig } from "../../workers/lib/kafka";
import { type ChatClient, chatFestival, services, stubOf } from "../worker/chat-helpers";
import {
  closeAll,
  configureKafka,
  drainToKafka,
  dynamoItems,
  outboxState,
  range,
  runConsumer,
  sendBurst,
  sleep,
} from "../worker/chat-history-helpers";
import type { SeededUser } from "../worker/fixtures";
import { control } from "../worker/helpers";

/**
 * The persistence path's exceptions, under the dialect of this project (v2, or Upstash's in the
 * worker-faults-upstash project): records DynamoDB refuses for good go to the dead-letter topic and the
 * partition moves on; a message Kafka refuses for good leaves the room's outbox for its dead letters;
 * the proxy losing the consumer instance mid-run costs nothing; items carry their TTL.
 */

const kafka = () => createKafkaLog(kafkaConfig(env));

afterEach(() => configureKafka({ consumerInstanceTimeoutMs: 300_000, maxRecordBytes: 1_048_588 }));

/** Every record of a topic under `key`, read by a fresh group from the beginning. */
async function recordsWithKey(topic: string, key: string) {
  const reader = kafka().consumer({ group: `verify-${crypto.randomUUID()}`, instanceId: "reader", topic });
  const found: string[] = [];
  for (;;) {
    const records = await reader.poll(200);
    if (!records.length) break;
    for (const r of records) if (r.key === key) found.push(r.value);
  }
  await reader.close();
  return found;
}

function expectSeqs(items: ChatItem[], seqs: number[]) {
  expect(items.map((i) => i.seq)).toEqual(seqs);
  expect(new Set(items.map((i) => i.id)).size).toBe(items.length);
}

describe("chat persistence: poison records", () => {
  it("dead-letters the records DynamoDB refuses for good and persists every good one after them", async () => {
    const { festivalId, members } = await chatFestival(2);
    const key = String(festivalId);
    const first = await sendBurst(festivalId, members, 3, "g1");
    await drainToKafka(festivalId);
    // Two poison records in the room's partition: one that is no chat message at all, one that is
    // over DynamoDB's 400 KB item limit (for another room, so no real room is told about it).
    const huge: ChatItem = {
      roomId: `poison-${crypto.randomUUID()}`,
      seq: 1,
      id: crypto.randomUUID(),
      userId: "1",
      nickname: "x",
      text: "x".repeat(410_000),
      sentAt: Date.now(),
    };
    await kafka().produce(
      env.KAFKA_TOPIC,
      [
        { key, value: "{not json" },
        { key, value: JSON.stringify(huge) },
      ],
      10_000,
    );
    const second = await sendBurst(festivalId, members, 3, "g2");
    await drainToKafka(festivalId);

    const report = await runConsumer();
    expect(report.stoppedBy).toBe("idle");
    expect(report.deadLettered).toBeGreaterThanOrEqual(2);
    expectSeqs(await dynamoItems(festivalId), range(1, 12));
    expect(await outboxState(festivalId)).toMatchObject({ persistedSeq: 12, rows: 0 });

    const letters = (await recordsWithKey(env.KAFKA_DEAD_LETTER_TOPIC, key)).map(
      (v) => JSON.parse(v) as DeadLetter,
    );
    expect(letters.map((l) => l.reason).sort()).toEqual(["not a chat message", "refused by DynamoDB"]);
    const refused = letters.find((l) => l.reason === "refused by DynamoDB");
    expect(refused?.error).toMatch(/ValidationException/);
    expect((JSON.parse(refused?.value ?? "{}") as ChatItem).id).toBe(huge.id);
    expect(refused?.source).toMatchObject({ topic: env.KAFKA_TOPIC, key });

    // Committed past them: the next run finds nothing of this room again.
    expect(await runConsumer()).toMatchObject({ stoppedBy: "idle", records: 0 });
    await closeAll([...first.clients, ...second.clients]);
  });

  it("dead-letters in the room a message Kafka refuses for good, and drains every other one", async () => {
    const { festivalId, members } = await chatFestival(1);
    const [alice] = members as [SeededUser];
    // Kafka's message.max.bytes, lowered: a short message fits, 300 Hangul syllables (900 bytes) do not.
    await configureKafka({ maxRecordBytes: 600 });
    const short = await sendBurst(festivalId, [alice], 2, "s1");
    const [client] = short.clients as [ChatClient];
    client.send({ type: "send", clientMsgId: "big", text: "가".repeat(300) });
    expect(await client.waitFor((f) => f.type === "ack" && f.clientMsgId === "big")).toMatchObject({
      seq: 3,
    });
    const after = await sendBurst(festivalId, [alice], 2, "s2");

    await drainToKafka(festivalId, 30_000);
    const deadLetters = await runInDurableObject(stubOf(festivalId), (_i, state) =>
      state.storage.sql
        .exec<{ seq: number; reason: string }>("SELECT seq, reason FROM outbox_dead_letters")
        .toArray(),
    );
    expect(deadLetters.map((d) => d.seq)).toEqual([3]);
    expect(deadLetters[0]?.reason).toMatch(/larger than 600|TOO_LARGE/);

    const report = await runConsumer();
    expect(report.stoppedBy).toBe("idle");
    expectSeqs(await dynamoItems(festivalId), [1, 2, 4, 5]);
    expect(await outboxState(festivalId)).toMatchObject({ producedSeq: 5, persistedSeq: 5, rows: 0 });
    await closeAll([...short.clients, ...after.clients]);
  }, 60_000);
});

describe("chat persistence: the proxy loses the consumer instance mid-run", () => {
  it("goes on with a new instance from the committed offsets; every message once, in order", async () => {
    const { festivalId, members } = await chatFestival(2);
    const [alice, bob] = members as [SeededUser, SeededUser];
    const first = await sendBurst(festivalId, [alice], 10, "e1");
    await drainToKafka(festivalId);
    await configureKafka({ consumerInstanceTimeoutMs: 300 });
    const run = runConsumer({ budgetMs: 20_000, untilIdle: false });
    await expect.poll(async () => (await outboxState(festivalId)).persistedSeq, { timeout: 10_000 }).toBe(10);

    // While DynamoDB is away the run retries its write and stops polling: the idle instance expires.
    await control("stop", "dynamo");
    let second: Awaited<ReturnType<typeof sendBurst>>;
    try {
      second = await sendBurst(festivalId, [bob], 10, "e2");
      await drainToKafka(festivalId);
      await sleep(1_500);
    } finally {
      await control("start", "dynamo");
    }
    await expect.poll(async () => (await outboxState(festivalId)).persistedSeq, { timeout: 15_000 }).toBe(20);
    const report = await run;
    expect(report.stoppedBy).toBe("budget");
    // v2 proxies hand out instances that expire (Upstash's consume recreates its own silently).
    if (env.KAFKA_DIALECT !== "upstash") expect(report.instancesLost).toBeGreaterThanOrEqual(1);
    expectSeqs(await dynamoItems(festivalId), range(1, 20));
    expect(await runConsumer()).toMatchObject({ stoppedBy: "idle", records: 0 });
    await closeAll([...first.clients, ...second.clients]);
  }, 60_000);
});

describe("chat persistence: retention", () => {
  it("gives every item the TTL attribute: its sentAt plus CHAT_RETENTION_DAYS, in epoch seconds", async () => {
    expect(env.CHAT_TTL_ATTRIBUTE).toBe("expiresAt");
    const { festivalId, members } = await chatFestival(2);
    const { clients } = await sendBurst(festivalId, members, 4, "ttl");
    await drainToKafka(festivalId);
    await runConsumer();
    const items = await dynamoItems(festivalId);
    expect(items).toHaveLength(8);
    const days = Number(env.CHAT_RETENTION_DAYS);
    for (const item of items) expect(item.expiresAt).toBe(Math.floor(item.sentAt / 1000) + days * 86_400);
    // Stored under the attribute DynamoDB's TTL reads, as a number.
    const raw = await services().dynamo.call<{ Item?: Record<string, { N?: string }> }>("GetItem", {
      TableName: env.DYNAMO_TABLE,
      Key: { roomId: { S: String(festivalId) }, seq: { N: "1" } },
      ConsistentRead: true,
    });
    expect(Number(raw.Item?.expiresAt?.N)).toBe(items[0]?.expiresAt);
    await closeAll(clients);
  });
});

describe("chat persistence: well-formed text", () => {
  it("stores and publishes a lone surrogate as U+FFFD, never as a string UTF-8 cannot carry", async () => {
    const { festivalId, members } = await chatFestival(2);
    const [alice, bob] = members as [SeededUser, SeededUser];
    const { clients } = await sendBurst(festivalId, [bob], 0, "none");
    const [watcher] = clients as [ChatClient];
    const { clients: senders } = await sendBurst(festivalId, [alice], 0, "none");
    const [sender] = senders as [ChatClient];
    // JSON.stringify escapes the lone high surrogate as \ud83d, so it reaches the room intact.
    sender.send({ type: "send", clientMsgId: "half-emoji", text: "cut \uD83D here" });
    const ack = await sender.waitFor((f) => f.type === "ack" && f.clientMsgId === "half-emoji");
    const live = await watcher.waitFor((f) => f.type === "message" && f.text.startsWith("cut"));
    expect(live).toMatchObject({ text: "cut \uFFFD here" });
    await drainToKafka(festivalId);
    await runConsumer();
    const [item] = await dynamoItems(festivalId);
    expect(item).toMatchObject({ seq: (ack as { seq: number }).seq, text: "cut \uFFFD here" });
    expect(item?.text.isWellFormed()).toBe(true);
    await closeAll([...clients, ...senders]);
  });
});
