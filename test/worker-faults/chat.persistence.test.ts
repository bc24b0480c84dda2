import { env, runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { DRAIN_BACKOFF } from "../../durable-objects/chat-room/outbox";
import { drainLeaseKey } from "../../workers/jobs/chat-consumer-lease";
import type { ChatItem } from "../../workers/lib/dynamo.ts";
import { createKafkaLog, kafkaConfig } from "../../workers/lib/kafka";
import { chatFestival, join, services, stubOf } from "../worker/chat-helpers";
import {
  alarmAt,
  closeAll,
  drainToKafka,
  dynamoItems,
  historyPage,
  outboxState,
  pageAll,
  range,
  runConsumer,
  sendBurst,
  sleep,
} from "../worker/chat-history-helpers";
import type { SeededUser } from "../worker/fixtures";
import { type ApiError, control } from "../worker/helpers";

/**
 * Invariant 3 under faults: every acked message reaches DynamoDB exactly once, in seq order, and is in
 * the history all along, whether Kafka or DynamoDB was down or the consumer died mid-batch.
 */

/** The room's records as Kafka holds them, in log order (a fresh group reads the whole topic). */
async function kafkaSeqs(festivalId: number): Promise<number[]> {
  const reader = createKafkaLog(kafkaConfig(env)).consumer({
    group: `verify-${crypto.randomUUID()}`,
    instanceId: "reader",
    topic: env.KAFKA_TOPIC,
  });
  const seqs: number[] = [];
  for (;;) {
    const records = await reader.poll(200);
    if (!records.length) break;
    for (const r of records)
      if (r.key === String(festivalId)) seqs.push((JSON.parse(r.value) as ChatItem).seq);
  }
  await reader.close();
  return seqs;
}

/** Exactly the acked messages, once each, with the ids and texts they were acked with. */
function expectExactly(items: ChatItem[], texts: Map<number, string>) {
  const want = [...texts.keys()].sort((a, b) => a - b);
  expect(items.map((i) => i.seq)).toEqual(want);
  expect(new Set(items.map((i) => i.id)).size).toBe(items.length);
  for (const item of items) expect(item.text).toBe(texts.get(item.seq));
}

/** Waits for the next failed drain (run by the runtime's alarm or by us once the backoff is over). */
async function nextFailure(festivalId: number, failures: number) {
  for (;;) {
    const st = await outboxState(festivalId);
    if (st.failures > failures) return st;
    if (st.retryAt <= Date.now()) await runDurableObjectAlarm(stubOf(festivalId));
    else await sleep(Math.min(st.retryAt - Date.now() + 5, 500));
  }
}

describe("chat persistence: Kafka down", () => {
  it("acks and delivers live while Kafka is down, backs off, then drains every message once, in order", async () => {
    const { festivalId, members } = await chatFestival(3);
    const [alice, bob, carol] = members as [SeededUser, SeededUser, SeededUser];
    const { client: watcher } = await join(festivalId, carol);
    await control("stop", "kafka");
    let texts: Map<number, string>;
    try {
      const sent = await sendBurst(festivalId, [alice, bob], 15, "k");
      texts = sent.texts;
      expect([...texts.keys()].sort((a, b) => a - b)).toEqual(range(1, 30));
      await watcher.waitType("message", (m) => m.seq === 30);
      expect(watcher.messages().map((m) => m.seq)).toEqual(range(1, 30));

      // Each failed drain waits longer: 1 s, 2 s, 4 s (plus a little jitter), and the alarm is armed for it.
      await runDurableObjectAlarm(stubOf(festivalId));
      let st = await nextFailure(festivalId, 0);
      expect(st).toMatchObject({ producedSeq: 0, rows: 30 });
      for (let i = 0; i < 2; i++) {
        const next = await nextFailure(festivalId, st.failures);
        const base = Math.min(DRAIN_BACKOFF.firstMs * 2 ** (next.failures - 1), DRAIN_BACKOFF.maxMs);
        expect(next.retryAt - st.retryAt).toBeGreaterThanOrEqual(base);
        expect(next.retryAt - st.retryAt).toBeLessThan(base * (1 + DRAIN_BACKOFF.jitter) + 1500);
        st = next;
      }
      expect(await alarmAt(festivalId)).toBe(st.retryAt);

      // Nothing is in Kafka or DynamoDB yet, and still every acked message is in the history.
      const pages = await pageAll(festivalId, carol.token, 8);
      expect(pages.flatMap((p) => p.items.map((m) => m.seq))).toEqual(range(1, 30).reverse());
      await closeAll(sent.clients);
    } finally {
      await control("start", "kafka");
    }

    await drainToKafka(festivalId);
    expect(await outboxState(festivalId)).toMatchObject({ producedSeq: 30, failures: 0, retryAt: 0 });
    const logged = await kafkaSeqs(festivalId);
    expect(logged).toEqual(range(1, 30));

    const report = await runConsumer();
    expect(report.stoppedBy).toBe("idle");
    expectExactly(await dynamoItems(festivalId), texts);
    expect(await outboxState(festivalId)).toMatchObject({ persistedSeq: 30, rows: 0 });
    await watcher.close();
  });
});

describe("chat persistence: DynamoDB down", () => {
  it("commits nothing while DynamoDB is down; the next run writes every message once", async () => {
    const { festivalId, members } = await chatFestival(2);
    const { texts, clients } = await sendBurst(festivalId, members, 10, "d");
    await drainToKafka(festivalId);
    await control("stop", "dynamo");
    try {
      const failed = await runConsumer({ budgetMs: 2_500 });
      expect(failed).toMatchObject({ stoppedBy: "write-failed", written: 0, commits: 0 });
      expect(failed.records).toBeGreaterThanOrEqual(20);
      // The room still holds them all, so the history misses nothing while DynamoDB is away.
      expect(await outboxState(festivalId)).toMatchObject({ persistedSeq: 0, rows: 20 });
      const page = await historyPage(festivalId, (members[0] as { token: string }).token, { limit: 50 });
      expect(page.status).toBe(200);
      expect(page.body.items.map((m) => m.seq)).toEqual(range(1, 20).reverse());
    } finally {
      await control("start", "dynamo");
    }
    const report = await runConsumer();
    expect(report.stoppedBy).toBe("idle");
    expect(report.records).toBeGreaterThanOrEqual(20);
    expectExactly(await dynamoItems(festivalId), texts);
    expect(await outboxState(festivalId)).toMatchObject({ persistedSeq: 20, rows: 0 });
    await closeAll(clients);
  });

  it("retries a batch inside the run while DynamoDB comes back, then commits it", async () => {
    const { festivalId, members } = await chatFestival(2);
    const [alice, bob] = members as [SeededUser, SeededUser];
    const first = await sendBurst(festivalId, [alice], 10, "r1");
    await drainToKafka(festivalId);
    const run = runConsumer({ budgetMs: 15_000, untilIdle: false });
    await expect.poll(async () => (await outboxState(festivalId)).persistedSeq, { timeout: 10_000 }).toBe(10);

    await control("stop", "dynamo");
    let second: Awaited<ReturnType<typeof sendBurst>>;
    try {
      second = await sendBurst(festivalId, [bob], 10, "r2");
      await drainToKafka(festivalId);
      await sleep(1_500); // the run has polled the batch and is retrying its write
      expect((await outboxState(festivalId)).persistedSeq).toBe(10);
    } finally {
      await control("start", "dynamo");
    }
    await expect.poll(async () => (await outboxState(festivalId)).persistedSeq, { timeout: 15_000 }).toBe(20);
    const report = await run;
    expect(report.stoppedBy).toBe("budget");
    expect(report.written).toBeGreaterThanOrEqual(20);

    expectExactly(await dynamoItems(festivalId), new Map([...first.texts, ...second.texts]));
    // Committed: a later run finds nothing of this room again.
    const after = await runConsumer();
    expect(after).toMatchObject({ stoppedBy: "idle", records: 0 });
    await closeAll([...first.clients, ...second.clients]);
  }, 60_000);

  it("answers 503 for a page only DynamoDB has while it is down, and serves the room's part", async () => {
    const { festivalId, members } = await chatFestival(11);
    const { clients } = await sendBurst(festivalId, members, 20, "p");
    await drainToKafka(festivalId);
    await runConsumer();
    const token = (members[0] as { token: string }).token;
    await control("stop", "dynamo");
    try {
      const newest = await historyPage(festivalId, token, { limit: 50 });
      expect(newest.status).toBe(200);
      expect(newest.body.items[0]?.seq).toBe(220);
      const old = await historyPage<ApiError>(festivalId, token, { before: 5 });
      expect(old.status).toBe(503);
      expect(old.body.error.code).toBe("chat.history_unavailable");
      expect(old.headers.get("retry-after")).toBeTruthy();
    } finally {
      await control("start", "dynamo");
    }
    const pages = await pageAll(festivalId, token, 50);
    expect(pages.flatMap((p) => p.items.map((m) => m.seq))).toEqual(range(1, 220).reverse());
    await closeAll(clients);
  });
});

describe("chat persistence: the consumer dies between write and commit", () => {
  it("re-delivers the uncommitted batch on the next run, and each seq stays one item", async () => {
    const { festivalId, members } = await chatFestival(2);
    const [alice, bob] = members as [SeededUser, SeededUser];
    const first = await sendBurst(festivalId, [alice], 10, "c1");
    await drainToKafka(festivalId);
    let died: ChatItem[] = [];
    const crashed = await runConsumer({
      afterWrite: (items) => {
        died = items;
        return "die";
      },
    });
    expect(crashed.stoppedBy).toBe("died");
    expect(crashed.commits).toBe(0);
    // The crashed run's instance is still a member of the group, holding its share of the partitions
    // (and its lease holds until it lapses): the next run must still read every partition.
    expect(died.filter((i) => i.roomId === String(festivalId)).map((i) => i.seq)).toEqual(range(1, 10));
    expectExactly(await dynamoItems(festivalId), first.texts);

    const second = await sendBurst(festivalId, [bob], 5, "c2");
    await drainToKafka(festivalId);
    const report = await runConsumer();
    expect(report.stoppedBy).toBe("idle");
    // The batch written before the crash came again (records counts it), and overwrote itself.
    expect(report.records).toBeGreaterThanOrEqual(15);
    expectExactly(await dynamoItems(festivalId), new Map([...first.texts, ...second.texts]));
    await closeAll([...first.clients, ...second.clients]);
  });

  it("a run that finds another draining waits for it, then takes over every partition", async () => {
    const { festivalId, members } = await chatFestival(2);
    const [alice, bob] = members as [SeededUser, SeededUser];
    const first = await sendBurst(festivalId, [alice], 10, "w1");
    await drainToKafka(festivalId);
    // The cron's way: the current run drains until its budget ends; the next one is already waiting.
    const current = runConsumer({ budgetMs: 4_000, untilIdle: false });
    await expect.poll(async () => (await outboxState(festivalId)).persistedSeq, { timeout: 10_000 }).toBe(10);
    const next = runConsumer({ budgetMs: 15_000, untilIdle: false });
    // A run that cannot get the lease within its own budget leaves without touching the group.
    const late = await runConsumer({ budgetMs: 1_000 });
    expect(late).toMatchObject({ stoppedBy: "busy", records: 0 });
    expect(await current).toMatchObject({ stoppedBy: "budget" });
    // Sent after the first run ended: only the waiting run can write them.
    const second = await sendBurst(festivalId, [bob], 10, "w2");
    await drainToKafka(festivalId);
    await expect.poll(async () => (await outboxState(festivalId)).persistedSeq, { timeout: 10_000 }).toBe(20);
    const report = await next;
    expect(report.stoppedBy).toBe("budget");
    expect(report.written).toBeGreaterThanOrEqual(10);
    expectExactly(await dynamoItems(festivalId), new Map([...first.texts, ...second.texts]));
    await closeAll([...first.clients, ...second.clients]);
  }, 60_000);

  it("a run takes its lapsed lease back when nobody took it, and stops once another run holds it", async () => {
    const s = services();
    const key = drainLeaseKey(s, env.KAFKA_CONSUMER_GROUP);
    const run = runConsumer({ budgetMs: 40_000, untilIdle: false });
    let ended = false;
    void run.finally(() => {
      ended = true;
    });
    await expect.poll(() => s.redis.get<string>(key), { timeout: 15_000 }).toBeTruthy();
    const owner = await s.redis.get<string>(key);
    // Lapsed (as when a starved isolate renews late) with no other run waiting: the run goes on.
    await s.redis.del(key);
    await expect.poll(() => s.redis.get<string>(key), { timeout: 15_000 }).toBe(owner);
    expect(ended).toBe(false);
    // Another run holds it now: this one stops at its next renewal instead of draining beside it.
    await s.redis.set(key, "another-run", { px: 30_000 });
    expect(await run).toMatchObject({ stoppedBy: "lease-lost" });
    expect(await s.redis.get<string>(key)).toBe("another-run");
    await s.redis.del(key);
  }, 60_000);

  it("two overlapping runs neither lose nor duplicate a message", async () => {
    const { festivalId, members } = await chatFestival(3);
    const { texts, clients } = await sendBurst(festivalId, members, 20, "o");
    await drainToKafka(festivalId);
    const [a, b] = await Promise.all([runConsumer(), runConsumer()]);
    expect(a.stoppedBy).toBe("idle");
    expect(b.stoppedBy).toBe("idle");
    expectExactly(await dynamoItems(festivalId), texts);
    expect(await outboxState(festivalId)).toMatchObject({ persistedSeq: 60, rows: 0 });
    await closeAll(clients);
  });
});
