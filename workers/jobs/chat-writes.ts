import { BATCH_WRITE_MAX, type ChatItem, type Dynamo, isDynamoError } from "../lib/dynamo.ts";
import type { KafkaLog, KafkaRecord } from "../lib/kafka";
import type { Logger } from "../lib/logger";

/**
 * The consumer's writes: a batch of records into DynamoDB, and what cannot go there into the dead-letter
 * topic. A record is "poison" when DynamoDB refuses it for good (ValidationException: an item over
 * 400 KB, a bad key) or it is not a chat message at all: retrying it forever would stall its partition
 * and every room behind it. So a refused batch is split into single puts, each refused one is tried a
 * bounded number of times, then goes to the dead-letter topic with the reason, logged as an alert, and
 * the partition moves on. Everything else (throttling, outages) is retried with backoff and never
 * dead-lettered: waiting fixes it.
 */

/**
 * BatchWriteItem requests in flight at once: a Worker invocation keeps at most 6 connections open,
 * and the lease renewal and the rooms' marks need one now and then.
 */
const WRITE_CONCURRENCY = 5;
/** Single puts of a refused item before it counts as poison. */
export const POISON_ATTEMPTS = 3;
const DEAD_LETTER_TIMEOUT_MS = 5_000;

/** A record as it lands in the dead-letter topic (JSON), keyed like the original. */
export interface DeadLetter {
  reason: string;
  error: string;
  source: { topic: string; partition: number; offset: number; key: string };
  value: string;
  at: string;
}

export interface Parsed {
  items: { item: ChatItem; record: KafkaRecord }[];
  poison: { record: KafkaRecord; reason: string; error: string }[];
}

/** What the room produced (JSON of ChatItem); anything else is poison. */
export function parseRecords(records: readonly KafkaRecord[], retentionS: number | undefined): Parsed {
  const out: Parsed = { items: [], poison: [] };
  for (const record of records) {
    let v: Partial<ChatItem> | undefined;
    try {
      v = JSON.parse(record.value) as Partial<ChatItem>;
    } catch {}
    if (
      v &&
      typeof v.roomId === "string" &&
      Number.isSafeInteger(v.seq) &&
      typeof v.id === "string" &&
      typeof v.userId === "string" &&
      typeof v.nickname === "string" &&
      typeof v.text === "string" &&
      typeof v.sentAt === "number"
    ) {
      const item = v as ChatItem;
      // Retention: each item carries its own expiry, so DynamoDB's TTL can find it.
      if (retentionS !== undefined) item.expiresAt = Math.floor(item.sentAt / 1000) + retentionS;
      out.items.push({ item, record });
    } else {
      out.poison.push({ record, reason: "not a chat message", error: "unparseable record value" });
    }
  }
  return out;
}

/**
 * Writes every item, or reports false (nothing may then be committed): retryable failures are retried
 * with backoff until `deadline`. Items DynamoDB refuses for good come back as poison instead.
 */
export async function writeItems(
  dynamo: Dynamo,
  table: string,
  parsed: Parsed,
  deadline: number,
  log: Logger,
): Promise<{ ok: boolean; poison: Parsed["poison"] }> {
  const poison: Parsed["poison"] = [];
  let pending = parsed.items;
  for (let attempt = 1; pending.length; attempt++) {
    try {
      const left = await writeChunks(dynamo, table, pending, poison, log);
      if (!left.length) break;
      log.warn("chat consumer: DynamoDB left items unprocessed", { count: left.length, attempt });
      pending = left;
    } catch (error) {
      if (!isDynamoError(error) || !error.retryable) {
        // A wrong table, key schema or credentials: not fixed by waiting, and not the records' fault.
        log.error("chat consumer: DynamoDB write failed", { error, count: pending.length });
        return { ok: false, poison };
      }
      log.warn("chat consumer: DynamoDB write failed; retrying", { error, attempt });
    }
    if (!(await pause(backoffMs(attempt, 100, 5_000), deadline))) {
      log.error("chat consumer: DynamoDB write failed", { count: pending.length });
      return { ok: false, poison };
    }
  }
  return { ok: true, poison };
}

type Entry = Parsed["items"][number];

/** Returns what is still pending (unprocessed or retryably failed); refused items go to `poison`. */
async function writeChunks(
  dynamo: Dynamo,
  table: string,
  entries: Entry[],
  poison: Parsed["poison"],
  log: Logger,
): Promise<Entry[]> {
  const chunks: Entry[][] = [];
  for (let i = 0; i < entries.length; i += BATCH_WRITE_MAX)
    chunks.push(entries.slice(i, i + BATCH_WRITE_MAX));
  const write = async (chunk: Entry[]): Promise<Entry[]> => {
    try {
      const left = await dynamo.batchWrite(
        table,
        chunk.map((e) => e.item),
      );
      const unprocessed = new Set(left.map((it) => `${it.roomId}\u0000${it.seq}`));
      return chunk.filter((e) => unprocessed.has(`${e.item.roomId}\u0000${e.item.seq}`));
    } catch (error) {
      if (isDynamoError(error) && error.retryable) return chunk;
      // One bad item fails the whole BatchWriteItem: find it with single puts.
      if (refusesItem(error)) return isolate(dynamo, table, chunk, poison, log);
      throw error;
    }
  };
  // A pool, not rounds: a slow request holds up only its own lane, and each chunk is readable as
  // soon as its own request returns.
  const pending: Entry[] = [];
  let next = 0;
  const lane = async () => {
    while (next < chunks.length) pending.push(...(await write(chunks[next++] as Entry[])));
  };
  await Promise.all(Array.from({ length: Math.min(WRITE_CONCURRENCY, chunks.length) }, lane));
  return pending;
}

async function isolate(
  dynamo: Dynamo,
  table: string,
  chunk: Entry[],
  poison: Parsed["poison"],
  log: Logger,
): Promise<Entry[]> {
  const pending: Entry[] = [];
  for (const entry of chunk) {
    for (let attempt = 1; ; attempt++) {
      try {
        await dynamo.putItem(table, entry.item);
        break;
      } catch (error) {
        if (isDynamoError(error) && error.retryable) {
          pending.push(entry);
          break;
        }
        if (!isDynamoError(error) || !refusesItem(error)) throw error;
        if (attempt >= POISON_ATTEMPTS) {
          poison.push({
            record: entry.record,
            reason: "refused by DynamoDB",
            error: `${error.code}: ${error.message}`,
          });
          break;
        }
        log.warn("chat consumer: DynamoDB refused an item; trying again", {
          error,
          attempt,
          roomId: entry.item.roomId,
          seq: entry.item.seq,
        });
        await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
      }
    }
  }
  return pending;
}

/**
 * DynamoDB refuses this item, not the request: a ValidationException about the item (over 400 KB, an
 * empty key). One that names the table is a configuration error, which must stop the run rather than
 * dead-letter every record.
 */
function refusesItem(error: unknown): boolean {
  return isDynamoError(error, "ValidationException") && !/table ?name/i.test(error.message);
}

/** Produces the poison records to the dead-letter topic; throws when Kafka did not take them. */
export async function deadLetter(kafka: KafkaLog, topic: string, poison: Parsed["poison"], log: Logger) {
  if (!poison.length) return;
  const at = new Date().toISOString();
  await kafka.produce(
    topic,
    poison.map(({ record, reason, error }) => {
      const letter: DeadLetter = {
        reason,
        error,
        source: { topic: record.topic, partition: record.partition, offset: record.offset, key: record.key },
        value: record.value,
        at,
      };
      return { key: record.key, value: JSON.stringify(letter) };
    }),
    DEAD_LETTER_TIMEOUT_MS,
  );
  for (const { record, reason, error } of poison) {
    // The alert: someone has to look at the dead-letter topic.
    log.error("ALERT chat consumer: record dead-lettered", {
      reason,
      error,
      deadLetterTopic: topic,
      partition: record.partition,
      offset: record.offset,
      key: record.key,
    });
  }
}

export const backoffMs = (attempt: number, firstMs = 1_000, maxMs = 10_000) =>
  Math.min(firstMs * 2 ** (attempt - 1), maxMs) * (0.75 + Math.random() * 0.5);

/** Sleeps unless that would end past the deadline; false = out of time. */
export async function pause(ms: number, deadline: number): Promise<boolean> {
  if (Date.now() + ms > deadline) return false;
  await new Promise((resolve) => setTimeout(resolve, ms));
  return true;
}
