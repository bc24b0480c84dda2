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
import { DrainLease } from "./chat-consumer-lease";
import { backoffMs, deadLetter, parseRecords, pause, writeItems } from "./chat-writes";
import type { Job } from "./index";

/**
 * Kafka → DynamoDB: the chat's persistence path. Each cron tick long-polls the consumer group until
 * shortly before its budget ends; every batch is written with BatchWriteItem (unprocessed items retried
 * with backoff; records DynamoDB refuses for good go to the dead-letter topic, ./chat-writes), then the
 * offsets are committed, while the rooms hear how far DynamoDB got. A commit never passes a record that
 * is not written or dead-lettered, so a run that dies anywhere loses nothing: the next run re-reads
 * from the committed offsets, and a re-delivered message overwrites its own item (key roomId + seq).
 *
 * One run drains the group at a time, and runs follow each other without a gap: the cron fires every
 * minute and a run's budget is longer than that, so the next run is already waiting (for the lease,
 * ./chat-consumer-lease) when this one ends, and takes over within a poll. Why a lease on top of
 * Kafka's own group protocol: two members of a group split the partitions between them, so overlap
 * is never wrong, but each join and leave is a rebalance in which the partitions stop (and what was
 * read but not committed is read again), and a run's budget ending while a newer run holds half the
 * partitions leaves those idle until the newer one polls again. With the lease the group has one
 * member, which owns every partition. The lease is an optimisation, not the safety: if Redis fails
 * a run goes on without it (persistence must not depend on Redis), and two runs draining at once
 * are kept apart by the group protocol.
 *
 * Each run has its own consumer instance (two runs never share fetch positions, so neither can
 * commit what only the other has read), created on its first poll, used for every poll of the run
 * and deleted at its end. A v2 proxy keeps instances as its own state: one that vanished mid-run
 * (expired, proxy restarted) is recreated by the client and the run goes on from the committed
 * offsets. One a crashed run left behind stays a member of the group until the proxy expires it
 * (5 min), holding its share of the partitions where nobody reads them; so every run records its
 * instance in Redis, and the run that takes the lease deletes every instance recorded before it:
 * their runs no longer hold the lease, so they are over (or stop at their next lease check).
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
  /** busy: another run held the lease for all of this run's budget; lease-lost: another run took it over. */
  stoppedBy: "budget" | "idle" | "write-failed" | "kafka-down" | "died" | "busy" | "lease-lost";
}

/**
 * Longer than the cron's minute, so the next run is already waiting when this one ends and messages
 * never sit unread between runs (a scheduled invocation may take up to 15 minutes of wall time; the
 * consumer spends it waiting on I/O, not CPU). `CHAT_CONSUMER_RUN_MS` ([vars]) may shorten it:
 * tests that drive the cron set a few seconds.
 */
const CRON_BUDGET_MS = 70_000;
const POLL_WAIT_MS = 5_000;
/** Kept free after the last poll for its batch's write and commit. */
const WRITE_RESERVE_MS = 5_000;
const MIN_POLL_MS = 100;
const OFFSETS_TIMEOUT_MS = 3_000;

export const chatConsumerJob: Job = {
  name: "chat-consumer",
  async run(env, _ctx, log) {
    const configured = Number(env.CHAT_CONSUMER_RUN_MS);
    const budgetMs = configured > 0 ? Math.min(configured, CRON_BUDGET_MS) : CRON_BUDGET_MS;
    const report = await runChatConsumer(env, log, { budgetMs });
    // Not thrown: the next tick retries from the committed offsets; the log line is what alerts.
    if (["budget", "idle", "busy"].includes(report.stoppedBy)) log.info("chat consumer run", { ...report });
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
  const lease = new DrainLease(s, log, env.KAFKA_CONSUMER_GROUP, instanceId);
  if (!(await lease.acquire(deadline - reserveMs))) {
    report.stoppedBy = "busy";
    return report;
  }
  const instances = new RunInstances(s, log, env.KAFKA_CONSUMER_GROUP);
  await instances.dropLeftovers();
  const marks = new RoomMarks(env, log);
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
    // The next run may start now; the rooms and the lag report do not need the lease.
    await lease.release();
    await Promise.all([marks.settled(), reportLag(env, s, log, committed)]);
    return report;
  };

  for (;;) {
    const waitMs = Math.min(opts.pollWaitMs ?? POLL_WAIT_MS, deadline - Date.now() - reserveMs);
    if (waitMs < MIN_POLL_MS) return stop("budget");
    if (lease.lost) return stop("lease-lost");
    await instances.retryDrops();
    let records: KafkaRecord[];
    try {
      records = await consumer.poll(waitMs);
      kafkaFailures = 0;
    } catch (error) {
      kafkaFailures += 1;
      log.warn("chat consumer: Kafka poll failed", { error, failures: kafkaFailures });
      // A poll whose answer was lost (our deadline passed, the connection dropped) may still have
      // moved the instance's fetch position past records this run never saw: polling on with it
      // would skip them, the next commit would pass them, and the rooms would drop their copies
      // (seen on a loaded machine: a message in Kafka never reached DynamoDB). A new instance
      // starts at the committed offsets instead; the old one is removed now or, failing that, on
      // a later pass (while it lives it holds its share of the partitions).
      const ref = consumer.ref ?? lastRef;
      await consumer.close().then(
        () => instances.forget(ref),
        async () => {
          instances.dropLater(ref);
          await instances.remember(ref);
        },
      );
      lastRef = undefined;
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
      // A crash: nothing more runs; the lease and the instance stay until they expire or are taken.
      lease.abandon();
      report.stoppedBy = "died";
      return report;
    }
    // The rooms only need the batch written, and a busy room answers slowly: they are told in the
    // background (one round in flight at a time), so the next poll does not wait for them.
    marks.add(items);
    if (!(await commit(consumer, records, committed, report, log))) return stop("kafka-down");
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
 * Tells the rooms how far DynamoDB got. A room's messages share a partition and were produced in seq
 * order, and a member starts each partition at the committed offset (everything before it is
 * written or dead-lettered): so once a batch is written, every message of the room up to the
 * batch's highest seq is in DynamoDB (or the dead-letter topic), and the room may drop its copies.
 * Best effort: a room not told keeps its rows until a later batch tells it. Marks only move forward
 * in the room, so one round may carry the highest seq of several batches.
 */
class RoomMarks {
  readonly #env: Env;
  readonly #log: Logger;
  #pending = new Map<string, number>();
  #round: Promise<void> | undefined;
  constructor(env: Env, log: Logger) {
    this.#env = env;
    this.#log = log;
  }

  add(items: ChatItem[]) {
    for (const item of items) {
      if (/^\d+$/.test(item.roomId))
        this.#pending.set(item.roomId, Math.max(this.#pending.get(item.roomId) ?? 0, item.seq));
    }
    this.#round ??= this.#send().finally(() => {
      this.#round = undefined;
    });
  }

  /** Resolves once every room added so far was told (or failed to be). */
  async settled() {
    while (this.#round) await this.#round;
  }

  async #send() {
    while (this.#pending.size) {
      const marks = [...this.#pending];
      this.#pending = new Map();
      const results = await Promise.allSettled(
        marks.map(([roomId, seq]) => roomStub(Number(roomId), this.#env.CHAT_ROOM).markPersisted(seq)),
      );
      const failed = results.filter((r) => r.status === "rejected");
      if (failed.length)
        this.#log.warn("chat consumer: rooms not told what is persisted", { count: failed.length });
    }
  }
}

/** The consumer instances runs created (refs in a Redis hash), so crashes leave nothing behind. */
class RunInstances {
  readonly #s: Services;
  readonly #log: Logger;
  readonly #group: string;
  constructor(s: Services, log: Logger, group: string) {
    this.#s = s;
    this.#log = log;
    this.#group = group;
  }

  get #key() {
    return this.#s.key("chat", "consumer-instances", this.#group);
  }

  async remember(ref: string | undefined) {
    if (!ref) return;
    await this.#s.redis.hset(this.#key, { [ref]: new Date().toISOString() }).catch((error) => {
      this.#log.warn("chat consumer: could not record the instance", { error });
    });
  }

  async forget(ref: string | undefined) {
    if (!ref) return;
    await this.#s.redis.hdel(this.#key, ref).catch(() => {});
  }

  /** Instances this run gave up on but could not remove yet (still recorded, for the next run too). */
  readonly #toDrop = new Set<string>();

  dropLater(ref: string | undefined) {
    if (ref) this.#toDrop.add(ref);
  }

  /** At once, so a hung proxy costs one call's timeout per pass however many are waiting. */
  async retryDrops() {
    await Promise.all(
      [...this.#toDrop].map(async (ref) => {
        try {
          await this.#s.kafka.dropConsumer(ref);
          this.#toDrop.delete(ref);
          await this.forget(ref);
        } catch {
          // Kafka still unreachable: the next pass (or the next run's dropLeftovers) tries again.
        }
      }),
    );
  }

  /** Called with the lease held: every instance recorded so far belongs to a run that no longer drains. */
  async dropLeftovers() {
    try {
      const all = (await this.#s.redis.hgetall<Record<string, string>>(this.#key)) ?? {};
      await Promise.all(
        Object.keys(all).map(async (ref) => {
          await this.#s.kafka.dropConsumer(ref);
          await this.forget(ref);
          this.#log.warn("chat consumer: removed an instance an earlier run left behind", { ref });
        }),
      );
    } catch (error) {
      this.#log.warn("chat consumer: could not clean up old instances", { error });
    }
  }
}

/** Lag per partition (log end − committed, or − log start before any commit) for the admin endpoint; a warning when far behind. */
async function reportLag(env: Env, s: Services, log: Logger, committedNow: Map<number, number>) {
  try {
    const key = consumerLagKey(s);
    const raw = await s.redis.get<string>(key).catch(() => null);
    const previous = raw ? (JSON.parse(raw) as ConsumerLagReport) : undefined;
    // Another group's (or topic's) commits say nothing about this one's.
    const same = previous?.group === env.KAFKA_CONSUMER_GROUP && previous.topic === env.KAFKA_TOPIC;
    const known = new Map<number, number | null>(
      (same ? (previous?.partitions ?? []) : []).map((p) => [p.partition, p.committed]),
    );
    for (const [partition, offset] of committedNow) known.set(partition, offset);
    const offsets = await s.kafka.partitionOffsets(env.KAFKA_TOPIC, OFFSETS_TIMEOUT_MS);
    const partitions = [...offsets].map(([partition, { start, end }]) => {
      // Never committed: the group starts at the log start, so all that is still held is behind.
      const committed = known.get(partition) ?? null;
      return { partition, committed, end, lag: Math.max(0, end - (committed ?? start)) };
    });
    const lagReport: ConsumerLagReport = {
      topic: env.KAFKA_TOPIC,
      group: env.KAFKA_CONSUMER_GROUP,
      at: new Date().toISOString(),
      partitions: partitions.sort((a, b) => a.partition - b.partition),
    };
    await s.redis.set(key, JSON.stringify(lagReport));
    const behind = partitions.filter((p) => p.lag > LAG_ALERT_RECORDS);
    if (behind.length) log.warn("ALERT chat consumer: partitions far behind", { partitions: behind });
  } catch (error) {
    log.warn("chat consumer: could not report the lag", { error });
  }
}
