import { roomStub } from "../api/chat/rooms";
import { BATCH_WRITE_MAX, type ChatItem, type Dynamo, isDynamoError } from "../lib/dynamo.ts";
import { createKafkaLog, type KafkaRecord, kafkaConfig } from "../lib/kafka";
import type { Logger } from "../lib/logger";
import { getServices } from "../lib/services";
import type { Job } from "./index";

/**
 * Kafka → DynamoDB: the chat's persistence path. Each cron tick long-polls the consumer group until
 * shortly before its budget ends; every batch is written with BatchWriteItem (unprocessed items retried
 * with backoff), then the rooms hear how far DynamoDB got, then the offsets are committed. A commit
 * never passes a record that is not written, so a run that dies anywhere loses nothing: the next run
 * re-reads from the committed offsets, and a re-delivered message overwrites its own item (key roomId +
 * seq). Each run uses its own consumer instance: two overlapping runs never share fetch positions, so
 * neither can commit what only the other has read.
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
  commits: number;
  stoppedBy: "budget" | "idle" | "write-failed" | "kafka-down" | "died";
}

/** Each minute's run ends before the next tick, give or take a slow write, so runs barely overlap. */
const CRON_BUDGET_MS = 50_000;
const POLL_WAIT_MS = 5_000;
/** Kept free after the last poll for its batch's write and commit. */
const WRITE_RESERVE_MS = 5_000;
const MIN_POLL_MS = 100;
/** BatchWriteItem requests in flight at once. */
const WRITE_CONCURRENCY = 4;

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
  const instanceId = `run-${crypto.randomUUID()}`;
  const consumer = createKafkaLog(kafkaConfig(env)).consumer({
    group: env.KAFKA_CONSUMER_GROUP,
    instanceId,
    topic: env.KAFKA_TOPIC,
  });
  const { dynamo } = getServices(env);
  const deadline = Date.now() + opts.budgetMs;
  const reserveMs = Math.min(WRITE_RESERVE_MS, opts.budgetMs / 4);
  const report: ChatConsumerReport = { records: 0, written: 0, commits: 0, stoppedBy: "budget" };
  let kafkaFailures = 0;

  const stop = async (why: ChatConsumerReport["stoppedBy"]) => {
    report.stoppedBy = why;
    // With auto-commit off, removing the instance commits nothing; it frees its partitions at once.
    await consumer.close().catch((error) => {
      log.warn("could not remove the consumer instance", { error, instanceId });
    });
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
    if (!records.length) {
      if (opts.untilIdle) return stop("idle");
      continue;
    }
    report.records += records.length;

    const items = records.flatMap((r) => parseItem(r, log));
    if (!(await writeAll(dynamo, env.DYNAMO_TABLE, items, deadline, log))) return stop("write-failed");
    report.written += items.length;
    await markRooms(env, items, log);
    if (opts.afterWrite?.(items) === "die") {
      report.stoppedBy = "died";
      return report;
    }
    try {
      await consumer.commit(records);
      report.commits += 1;
    } catch (error) {
      // Written but not committed: the next run gets this batch again and overwrites the same items.
      log.warn("chat consumer: commit failed", { error });
      return stop("kafka-down");
    }
  }
}

/** What the room produced (JSON of ChatItem); anything else can never be written, so it is skipped. */
function parseItem(record: KafkaRecord, log: Logger): ChatItem[] {
  try {
    const v = JSON.parse(record.value) as Partial<ChatItem>;
    if (
      typeof v.roomId === "string" &&
      Number.isSafeInteger(v.seq) &&
      typeof v.id === "string" &&
      typeof v.userId === "string" &&
      typeof v.nickname === "string" &&
      typeof v.text === "string" &&
      typeof v.sentAt === "number"
    ) {
      return [v as ChatItem];
    }
  } catch {}
  log.error("chat consumer: skipping a record that is not a chat message", {
    partition: record.partition,
    offset: record.offset,
  });
  return [];
}

/**
 * Writes every item or reports false (nothing may then be committed). Throttled or failed requests are
 * retried with backoff while the budget lasts; a retry re-sends only what is still pending, and items
 * an aborted request did write are simply overwritten.
 */
async function writeAll(
  dynamo: Dynamo,
  table: string,
  items: ChatItem[],
  deadline: number,
  log: Logger,
): Promise<boolean> {
  let pending = items;
  for (let attempt = 1; pending.length; attempt++) {
    try {
      pending = await writeChunks(dynamo, table, pending);
      if (!pending.length) return true;
      log.warn("chat consumer: DynamoDB left items unprocessed", { count: pending.length, attempt });
    } catch (error) {
      if (!isDynamoError(error) || !error.retryable) {
        // A wrong table or key schema is not fixed by waiting; the next run tries again from the commit.
        log.error("chat consumer: DynamoDB write failed", { error, count: pending.length });
        return false;
      }
      log.warn("chat consumer: DynamoDB write failed; retrying", { error, attempt });
    }
    if (!(await pause(backoffMs(attempt, 100, 5_000), deadline))) return false;
  }
  return true;
}

async function writeChunks(dynamo: Dynamo, table: string, items: ChatItem[]): Promise<ChatItem[]> {
  const chunks: ChatItem[][] = [];
  for (let i = 0; i < items.length; i += BATCH_WRITE_MAX) chunks.push(items.slice(i, i + BATCH_WRITE_MAX));
  const unprocessed: ChatItem[] = [];
  for (let i = 0; i < chunks.length; i += WRITE_CONCURRENCY) {
    const results = await Promise.all(
      chunks.slice(i, i + WRITE_CONCURRENCY).map((chunk) => dynamo.batchWrite(table, chunk)),
    );
    unprocessed.push(...results.flat());
  }
  return unprocessed;
}

/**
 * A room's messages share a partition and were produced in seq order, and this run started at the
 * committed offsets (everything before them is written): so once a batch is written, every message of
 * the room up to the batch's highest seq is in DynamoDB, and the room may drop its copies. Best
 * effort: a room not told keeps its rows until a later batch tells it.
 */
async function markRooms(env: Env, items: ChatItem[], log: Logger): Promise<void> {
  const highest = new Map<string, number>();
  for (const item of items) highest.set(item.roomId, Math.max(highest.get(item.roomId) ?? 0, item.seq));
  const results = await Promise.allSettled(
    [...highest].map(([roomId, seq]) => roomStub(Number(roomId), env.CHAT_ROOM).markPersisted(seq)),
  );
  const failed = results.filter((r) => r.status === "rejected");
  if (failed.length) log.warn("chat consumer: rooms not told what is persisted", { count: failed.length });
}

const backoffMs = (attempt: number, firstMs = 1_000, maxMs = 10_000) =>
  Math.min(firstMs * 2 ** (attempt - 1), maxMs) * (0.75 + Math.random() * 0.5);

/** Sleeps unless that would end past the deadline; false = out of time. */
async function pause(ms: number, deadline: number): Promise<boolean> {
  if (Date.now() + ms > deadline) return false;
  await new Promise((resolve) => setTimeout(resolve, ms));
  return true;
}
