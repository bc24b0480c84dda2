import {
  type ConsumerLagReport,
  consumerLagKey,
  LAG_ALERT_RECORDS,
} from "../../durable-objects/chat-room/contract/persistence";
import { roomStub } from "../api/chat/rooms";
import type { ChatItem } from "../lib/dynamo.ts";
import { type KafkaConsumer, type KafkaRecord, nextOffsets } from "../lib/kafka";
import { isKafkaError } from "../lib/kafka/error";
import type { Logger } from "../lib/logger";
import { getServices, type Services } from "../lib/services";
import { backoffMs, deadLetter, parseRecords, pause, writeItems } from "./chat-writes";
import type { Job } from "./index";

/**
 * Kafka → DynamoDB: the chat's persistence path. Each cron tick long-polls the consumer group until
 * shortly before its budget ends; every batch is written with BatchWriteItem (unprocessed items retried
 * with backoff; records DynamoDB refuses for good go to the dead-letter topic, ./chat-writes), then the
 * rooms hear how far DynamoDB got, then the offsets are committed. A commit never passes a record that
 * is not written or dead-lettered, so a run that dies anywhere loses nothing: the next run re-reads
 * from the committed offsets, and a re-delivered message overwrites its own item (key roomId + seq).
 *
 * Each run has its own consumer instance (two overlapping runs never share fetch positions, so neither
 * can commit what only the other has read), created on its first poll, used for every poll of the run
 * and deleted at its end. A v2 proxy keeps instances as its own state: one that vanished mid-run
 * (expired, proxy restarted) is recreated by the client and the run goes on from the committed
 * offsets; one a crashed run left behind would hold its partitions until the proxy expires it, so
 * every run records its instance in Redis and the next runs delete the leftovers of runs that are over.
 */

export interface ChatConsumerOptions {
  /** Wall time of this run; no poll starts unless it can end, with time to write, inside it. */
  budgetMs: number;
  /** The longest one poll waits for records. */
  pollWaitMs?: number;
  /** End at the first poll that finds nothing (tests: one pass over what is there). */
  untilIdle?: boolean;
  /** Test hook, after a batch is written and before its commit: "die" ends the run there, like a crash. */
  afterWrite?: (items: ChatItem[]) => "die" | undefined;
}

export interface ChatConsumerReport {
  records: number;
  written: number;
  deadLettered: number;
  commits: number;
  /** Consumer instances the proxy lost during the run (each was replaced). */
  instancesLost: number;
  stoppedBy: "budget" | "idle" | "write-failed" | "kafka-down" | "died";
}

/** Each minute's run ends before the next tick, give or take a slow write, so runs barely overlap. */
const CRON_BUDGET_MS = 50_000;
const POLL_WAIT_MS = 5_000;
/** Kept free after the last poll for its batch's write and commit. */
const WRITE_RESERVE_MS = 5_000;
const MIN_POLL_MS = 100;
const OFFSETS_TIMEOUT_MS = 3_000;
/** A run that recorded its instance is surely over this long after its deadline. */
const RUN_GRACE_MS = 60_000;

export const chatConsumerJob: Job = {
  name: "chat-consumer",
  async run(env, _ctx, log) {
    const report = await runChatConsumer(env, log, { budgetMs: CRON_BUDGET_MS });
    // Not thrown: the next tick retries from the committed offsets; the log line is what alerts.
    if (report.stoppedBy === "budget" || report.stoppedBy === "idle")
      log.info("chat consumer run", { ...report });
    else log.error("chat consumer run ended early", { ...report });
  },
};

export async function runChatConsumer(
  env: Env,
  log: Logger,
  opts: ChatConsumerOptions,
): Promise<ChatConsumerReport> {
  const s = getServices(env);
  const instanceId = `run-${crypto.randomUUID()}`;
  const consumer = s.kafka.consumer({ group: env.KAFKA_CONSUMER_GROUP, instanceId, topic: env.KAFKA_TOPIC });
  const deadline = Date.now() + opts.budgetMs;
  const reserveMs = Math.min(WRITE_RESERVE_MS, opts.budgetMs / 4);
  const retentionDays = Number(env.CHAT_RETENTION_DAYS);
  const retentionS =
    env.CHAT_TTL_ATTRIBUTE && retentionDays > 0 ? Math.round(retentionDays * 86_400) : undefined;
  const report: ChatConsumerReport = {
    records: 0,
    written: 0,
    deadLettered: 0,
    commits: 0,
    instancesLost: 0,
    stoppedBy: "budget",
  };
  const committed = new Map<number, number>();
  const instances = new RunInstances(s, log, deadline);
  await instances.dropLeftovers();
  let kafkaFailures = 0;
  /** The instance this run last polled through; a poll through another means the proxy lost it. */
  let lastRef: string | undefined;

  const stop = async (why: ChatConsumerReport["stoppedBy"]) => {
    report.stoppedBy = why;
    // With auto-commit off, removing the instance commits nothing; it frees its partitions at once.
    const ref = consumer.ref ?? lastRef;
    await consumer.close().then(
      () => instances.forget(ref),
      (error) => log.warn("could not remove the consumer instance", { error, instanceId }),
    );
    await reportLag(env, s, log, committed);
    return report;
  };

  for (;;) {
    const waitMs = Math.min(opts.pollWaitMs ?? POLL_WAIT_MS, deadline - Date.now() - reserveMs);
    if (waitMs < MIN_POLL_MS) return stop("budget");
    let records: KafkaRecord[];
    try {
      records = await consumer.poll(waitMs);
      kafkaFailures = 0;
    } catch (error) {
      kafkaFailures += 1;
      log.warn("chat consumer: Kafka poll failed", { error, failures: kafkaFailures });
      if (!(await pause(backoffMs(kafkaFailures), deadline))) return stop("kafka-down");
      continue;
    }
    if (consumer.ref !== lastRef) {
      if (lastRef !== undefined) {
        report.instancesLost += 1;
        log.warn("chat consumer: the consumer instance was gone; continuing on a new one", { instanceId });
        await instances.forget(lastRef);
      }
      lastRef = consumer.ref;
      await instances.remember(lastRef);
    }
    if (!records.length) {
      if (opts.untilIdle) return stop("idle");
      continue;
    }
    report.records += records.length;

    const parsed = parseRecords(records, retentionS);
    const written = await writeItems(s.dynamo, env.DYNAMO_TABLE, parsed, deadline, log);
    if (!written.ok) return stop("write-failed");
    const poison = [...parsed.poison, ...written.poison];
    try {
      await deadLetter(s.kafka, env.KAFKA_DEAD_LETTER_TOPIC, poison, log);
    } catch (error) {
      // Neither written nor dead-lettered: the batch must be read again, so nothing is committed.
      log.error("chat consumer: dead-letter produce failed", { error, count: poison.length });
      return stop("kafka-down");
    }
    report.deadLettered += poison.length;
    report.written += parsed.items.length - written.poison.length;
    const items = parsed.items.map((e) => e.item);
    if (opts.afterWrite?.(items) === "die") {
      report.stoppedBy = "died";
      return report;
    }
    // Both only need the batch written; side by side, the next poll starts one round trip sooner.
    const [, committedOk] = await Promise.all([
      markRooms(env, items, log),
      commit(consumer, records, committed, report, log),
    ]);
    if (!committedOk) return stop("kafka-down");
  }
}

/** false = Kafka is unreachable; an instance that vanished is no reason to stop. */
async function commit(
  consumer: KafkaConsumer,
  records: KafkaRecord[],
  committed: Map<number, number>,
  report: ChatConsumerReport,
  log: Logger,
): Promise<boolean> {
  try {
    await consumer.commit(records);
    report.commits += 1;
    for (const o of nextOffsets(records)) committed.set(o.partition, o.offset);
    return true;
  } catch (error) {
    // Written but not committed: this batch is read again (by the next poll's new instance, or the
    // next run) and overwrites the same items.
    if (isKafkaError(error) && error.instanceGone) {
      log.warn("chat consumer: the instance was gone at commit; its batch will be read again", { error });
      return true;
    }
    log.warn("chat consumer: commit failed", { error });
    return false;
  }
}

/**
 * A room's messages share a partition and were produced in seq order, and this run started at the
 * committed offsets (everything before them is written or dead-lettered): so once a batch is written,
 * every message of the room up to the batch's highest seq is in DynamoDB (or the dead-letter topic),
 * and the room may drop its copies. Best effort: a room not told keeps its rows until a later batch
 * tells it.
 */
async function markRooms(env: Env, items: ChatItem[], log: Logger): Promise<void> {
  const highest = new Map<string, number>();
  for (const item of items) highest.set(item.roomId, Math.max(highest.get(item.roomId) ?? 0, item.seq));
  const results = await Promise.allSettled(
    [...highest]
      .filter(([roomId]) => /^\d+$/.test(roomId))
      .map(([roomId, seq]) => roomStub(Number(roomId), env.CHAT_ROOM).markPersisted(seq)),
  );
  const failed = results.filter((r) => r.status === "rejected");
  if (failed.length) log.warn("chat consumer: rooms not told what is persisted", { count: failed.length });
}

/** The run's consumer instances in Redis (ref → when the run is surely over), so crashes leave nothing behind. */
class RunInstances {
  readonly #s: Services;
  readonly #log: Logger;
  readonly #overAt: number;
  constructor(s: Services, log: Logger, deadline: number) {
    this.#s = s;
    this.#log = log;
    this.#overAt = deadline + RUN_GRACE_MS;
  }

  get #key() {
    return this.#s.key("chat", "consumer-instances");
  }

  async remember(ref: string | undefined) {
    if (!ref) return;
    await this.#s.redis.hset(this.#key, { [ref]: String(this.#overAt) }).catch((error) => {
      this.#log.warn("chat consumer: could not record the instance", { error });
    });
  }

  async forget(ref: string | undefined) {
    if (!ref) return;
    await this.#s.redis.hdel(this.#key, ref).catch(() => {});
  }

  async dropLeftovers() {
    try {
      const all = (await this.#s.redis.hgetall<Record<string, string>>(this.#key)) ?? {};
      const stale = Object.entries(all).filter(([, overAt]) => Number(overAt) < Date.now());
      await Promise.all(
        stale.map(async ([ref]) => {
          await this.#s.kafka.dropConsumer(ref);
          await this.forget(ref);
          this.#log.warn("chat consumer: removed an instance a crashed run left behind", { ref });
        }),
      );
    } catch (error) {
      this.#log.warn("chat consumer: could not clean up old instances", { error });
    }
  }
}

/** Lag per partition (log end − committed) for the admin endpoint; a warning when far behind. */
async function reportLag(env: Env, s: Services, log: Logger, committedNow: Map<number, number>) {
  try {
    const key = consumerLagKey(s);
    const previous = await s.redis.get<string>(key).catch(() => null);
    const known = new Map<number, number | null>(
      (previous ? (JSON.parse(previous) as ConsumerLagReport).partitions : []).map((p) => [
        p.partition,
        p.committed,
      ]),
    );
    for (const [partition, offset] of committedNow) known.set(partition, offset);
    const ends = await s.kafka.endOffsets(env.KAFKA_TOPIC, OFFSETS_TIMEOUT_MS);
    const partitions = [...ends].map(([partition, end]) => {
      const committed = known.get(partition) ?? (end === 0 ? 0 : null);
      return { partition, committed, end, lag: committed === null ? null : Math.max(0, end - committed) };
    });
    const lagReport: ConsumerLagReport = {
      topic: env.KAFKA_TOPIC,
      group: env.KAFKA_CONSUMER_GROUP,
      at: new Date().toISOString(),
      partitions: partitions.sort((a, b) => a.partition - b.partition),
    };
    await s.redis.set(key, JSON.stringify(lagReport));
    const behind = partitions.filter((p) => (p.lag ?? 0) > LAG_ALERT_RECORDS);
    if (behind.length) log.warn("ALERT chat consumer: partitions far behind", { partitions: behind });
  } catch (error) {
    log.warn("chat consumer: could not report the lag", { error });
  }
}
