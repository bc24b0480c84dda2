import type { ChatItem } from "../../workers/lib/dynamo.ts";
import type { KafkaLog } from "../../workers/lib/kafka";
import { isKafkaError } from "../../workers/lib/kafka/error";
import { type ChatMessage, itemToMessage } from "./contract/protocol";

/**
 * The room's outbox: every accepted message is written to `outbox` (RoomStore.append, in the
 * transaction that assigns its seq) and stays there until it is known to be in DynamoDB, not merely
 * in Kafka. Two high-water marks say how far it got:
 *   produced_seq  every seq up to it is in Kafka; the drain (alarm) sends the rows above it, in order;
 *   persisted_seq every seq up to it is in DynamoDB (the consumer says so through markPersisted);
 *                 rows up to it are deleted.
 * So the rows left are exactly (persisted_seq, last_seq]: the history endpoint merges them with
 * DynamoDB, and an acked message is in one or the other at every moment (invariant 3).
 *
 * The one exception is a message Kafka refuses for good (KafkaError.permanent: too large, malformed):
 * after POISON_ATTEMPTS failed drains the batch is sent one row at a time, and a row refused again
 * moves to `outbox_dead_letters` with the reason, logged as an alert; the drain goes on past it, so
 * one bad row can never make the outbox grow without bound.
 */

const SCHEMA = `
CREATE TABLE IF NOT EXISTS outbox_state (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  produced_seq INTEGER NOT NULL DEFAULT 0,
  persisted_seq INTEGER NOT NULL DEFAULT 0,
  failures INTEGER NOT NULL DEFAULT 0,
  retry_at INTEGER NOT NULL DEFAULT 0
);
INSERT OR IGNORE INTO outbox_state (id) VALUES (1);
CREATE TABLE IF NOT EXISTS outbox_rejections (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  count INTEGER NOT NULL DEFAULT 0
);
INSERT OR IGNORE INTO outbox_rejections (id) VALUES (1);
CREATE TABLE IF NOT EXISTS outbox_dead_letters (
  seq INTEGER PRIMARY KEY,
  payload TEXT NOT NULL,
  reason TEXT NOT NULL,
  at INTEGER NOT NULL
);
`;

/**
 * One produce request: up to PRODUCE_BATCH rows or PRODUCE_BYTES of payload, whichever comes first
 * (a chat message is at most ~4 KB of JSON; 512 KB keeps a request well inside what REST proxies
 * take). Rows pile up only while a produce is on its way, so a large batch is a backlog catching up
 * in few round trips (a room behind by seconds sends them in one request, not one per 200 rows).
 */
export const PRODUCE_BATCH = 1_000;
const PRODUCE_BYTES = 512 * 1024;
/**
 * How soon after a message the alarm drains it to Kafka: short, because it is most of the ack →
 * DynamoDB delay, yet a burst still goes out as one produce (the MySQL write-through waits longer).
 */
export const DRAIN_DELAY_MS = 200;
/** How long one alarm keeps draining before it hands over to the next (a backlog after an outage). */
const DRAIN_BUDGET_MS = 10_000;
/**
 * A produce answers in milliseconds when the proxy is well; the deadline is for a proxy that hangs.
 * It is generous because the clock starts in the room: an object that is behind on its sockets'
 * frames hears the answer late (traced locally at 1,000 msgs/s: answers sent in 10 ms arrived 2-5 s
 * later). A 5 s deadline failed those produces and the backoff doubled per "failure", so a busy room
 * sent nothing to Kafka for 20 s. Waiting longer costs nothing: the rows stay in the outbox.
 */
const PRODUCE_TIMEOUT_MS = 30_000;
/** Backoff after failed produces: 1 s, 2 s, 4 s … capped; a little jitter so rooms do not retry in step. */
export const DRAIN_BACKOFF = { firstMs: 1_000, maxMs: 60_000, jitter: 0.25 } as const;
/** Failed drains with a permanent rejection before the rows are tried one by one. */
export const POISON_ATTEMPTS = 3;

export interface OutboxState {
  producedSeq: number;
  persistedSeq: number;
  failures: number;
  retryAt: number;
}

export class RoomOutbox {
  readonly #storage: DurableObjectStorage;
  readonly #sql: SqlStorage;

  constructor(storage: DurableObjectStorage) {
    this.#storage = storage;
    this.#sql = storage.sql;
    this.#sql.exec(SCHEMA);
  }

  state(): OutboxState {
    const [row] = this.#sql
      .exec<{ produced_seq: number; persisted_seq: number; failures: number; retry_at: number }>(
        "SELECT produced_seq, persisted_seq, failures, retry_at FROM outbox_state WHERE id = 1",
      )
      .toArray();
    return {
      producedSeq: row?.produced_seq ?? 0,
      persistedSeq: row?.persisted_seq ?? 0,
      failures: row?.failures ?? 0,
      retryAt: row?.retry_at ?? 0,
    };
  }

  /**
   * The oldest rows Kafka does not have yet, in seq order: at most `limit` rows and about `maxBytes`
   * of payload, but always the first row (one row alone may be larger).
   */
  unproduced(limit: number, maxBytes = Number.POSITIVE_INFINITY): { seq: number; payload: string }[] {
    const rows: { seq: number; payload: string }[] = [];
    let bytes = 0;
    for (const row of this.#sql.exec<{ seq: number; payload: string }>(
      `SELECT seq, payload FROM outbox
       WHERE seq > (SELECT produced_seq FROM outbox_state WHERE id = 1) ORDER BY seq LIMIT ?`,
      limit,
    )) {
      // UTF-16 length: an upper bound on the UTF-8 size for these JSON payloads (Korean: 1 vs 3 bytes).
      bytes += row.payload.length * 3;
      if (rows.length > 0 && bytes > maxBytes) break;
      rows.push(row);
    }
    return rows;
  }

  markProduced(seq: number): void {
    this.#sql.exec(
      "UPDATE outbox_state SET produced_seq = MAX(produced_seq, ?), failures = 0, retry_at = 0 WHERE id = 1",
      seq,
    );
    this.#sql.exec("UPDATE outbox_rejections SET count = 0 WHERE id = 1");
  }

  /** Failed drains in a row that Kafka answered with a permanent rejection. */
  rejections(): number {
    const [row] = this.#sql
      .exec<{ count: number }>("SELECT count FROM outbox_rejections WHERE id = 1")
      .toArray();
    return row?.count ?? 0;
  }

  /** Records a failed produce; returns when to try again. */
  markFailed(now: number, permanent = false): number {
    this.#sql.exec(`UPDATE outbox_rejections SET count = ${permanent ? "count + 1" : "0"} WHERE id = 1`);
    const failures = this.state().failures + 1;
    const base = Math.min(DRAIN_BACKOFF.firstMs * 2 ** (failures - 1), DRAIN_BACKOFF.maxMs);
    const retryAt = now + Math.round(base * (1 + Math.random() * DRAIN_BACKOFF.jitter));
    this.#sql.exec("UPDATE outbox_state SET failures = ?, retry_at = ? WHERE id = 1", failures, retryAt);
    return retryAt;
  }

  /**
   * The consumer wrote every message of this room up to `seq` to DynamoDB. Marks only move forward
   * (an older consumer run may report late), and what DynamoDB has was necessarily produced.
   */
  markPersisted(seq: number): void {
    this.#storage.transactionSync(() => {
      this.#sql.exec(
        `UPDATE outbox_state SET persisted_seq = MAX(persisted_seq, ?), produced_seq = MAX(produced_seq, ?)
         WHERE id = 1`,
        seq,
        seq,
      );
      this.#sql.exec("DELETE FROM outbox WHERE seq <= (SELECT persisted_seq FROM outbox_state WHERE id = 1)");
    });
  }

  /** When the oldest message not yet known to be in DynamoDB was accepted; undefined = none. */
  oldestUnpersistedAt(): number | undefined {
    const [row] = this.#sql.exec<{ at: number | null }>("SELECT MIN(created_at) AS at FROM outbox").toArray();
    return row?.at ?? undefined;
  }

  /** Kafka refused this row for good: it leaves the outbox for the dead letters, and the drain moves past it. */
  deadLetter(seq: number, reason: string, now: number): void {
    this.#storage.transactionSync(() => {
      this.#sql.exec(
        "INSERT OR REPLACE INTO outbox_dead_letters (seq, payload, reason, at) SELECT seq, payload, ?, ? FROM outbox WHERE seq = ?",
        reason,
        now,
        seq,
      );
      this.#sql.exec("DELETE FROM outbox WHERE seq = ?", seq);
      this.markProduced(seq);
    });
  }

  deadLetters(): { seq: number; reason: string }[] {
    return this.#sql
      .exec<{ seq: number; reason: string }>("SELECT seq, reason FROM outbox_dead_letters ORDER BY seq")
      .toArray();
  }

  /** Messages not yet known to be in DynamoDB with seq < before, newest first. */
  unpersistedBelow(before: number, limit: number): ChatMessage[] {
    return this.#sql
      .exec<{ payload: string }>(
        "SELECT payload FROM outbox WHERE seq < ? ORDER BY seq DESC LIMIT ?",
        before,
        limit,
      )
      .toArray()
      .map((r) => itemToMessage(JSON.parse(r.payload) as ChatItem));
  }
}

/**
 * Sends the outbox to Kafka in seq order, batch after batch, from the room's alarm. Returns when the
 * alarm should run again for it: undefined = nothing left; a time = retry (backoff) or go on.
 * A produce that timed out may still have landed; sending it again only duplicates it in Kafka, and
 * the consumer's write by roomId+seq makes that harmless.
 */
export async function drainOutbox(
  outbox: RoomOutbox,
  kafka: KafkaLog,
  topic: string,
  onError: (error: unknown, state: OutboxState) => void,
  onDeadLetter: (seq: number, error: unknown) => void,
): Promise<number | undefined> {
  const started = Date.now();
  const { retryAt } = outbox.state();
  if (outbox.unproduced(1).length === 0) return undefined;
  if (retryAt > started) return retryAt;
  try {
    if (outbox.rejections() >= POISON_ATTEMPTS) await oneByOne(outbox, kafka, topic, onDeadLetter);
    for (;;) {
      const rows = outbox.unproduced(PRODUCE_BATCH, PRODUCE_BYTES);
      const last = rows.at(-1);
      if (!last) return undefined;
      const roomKey = (JSON.parse(last.payload) as ChatItem).roomId;
      await kafka.produce(
        topic,
        rows.map((r) => ({ key: roomKey, value: r.payload })),
        PRODUCE_TIMEOUT_MS,
      );
      outbox.markProduced(last.seq);
      if (Date.now() - started > DRAIN_BUDGET_MS) return Date.now();
    }
  } catch (error) {
    // Only permanent rejections lead to one-by-one sending; an outage just backs off.
    const next = outbox.markFailed(Date.now(), isKafkaError(error) && error.permanent);
    onError(error, outbox.state());
    return next;
  }
}

/**
 * Sends the current batch one row at a time: a row Kafka accepts is produced, a row it refuses for
 * good is dead-lettered, anything else (an outage) throws and the drain backs off as usual.
 */
async function oneByOne(
  outbox: RoomOutbox,
  kafka: KafkaLog,
  topic: string,
  onDeadLetter: (seq: number, error: unknown) => void,
): Promise<void> {
  for (const row of outbox.unproduced(PRODUCE_BATCH, PRODUCE_BYTES)) {
    const key = (JSON.parse(row.payload) as ChatItem).roomId;
    try {
      await kafka.produce(topic, [{ key, value: row.payload }], PRODUCE_TIMEOUT_MS);
      outbox.markProduced(row.seq);
    } catch (error) {
      if (!(isKafkaError(error) && error.permanent)) throw error;
      outbox.deadLetter(row.seq, error.message, Date.now());
      onDeadLetter(row.seq, error);
    }
  }
}
