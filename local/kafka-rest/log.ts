import { constants } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import { mkdir, open, readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { isErrnoCode, syncDir, writeFileAtomic } from "./fsutil.ts";
import { partitionForKey } from "./partitioner.ts";

/**
 * The durable log: one directory per topic under `<dataDir>/topics/`, holding `topic.json` (its partition
 * count) and one append-only JSON-lines file per partition. Every record is also kept in memory (local
 * volumes are small), so reads never touch the disk; the files are only read back at start-up.
 */

export interface Header {
  key: string;
  value: string;
}

/** One record as stored in a partition file. Offsets start at 0 and nothing is ever deleted, so offset = index. */
export interface LogRecord {
  offset: number;
  timestamp: number;
  key: string;
  value: string;
  headers: Header[];
}

export type NewRecord = Omit<LogRecord, "offset">;

/** A record as the REST API returns it from fetch and consume. */
export interface Message extends LogRecord {
  topic: string;
  partition: number;
}

// Kafka's rule for topic names; it also keeps names safe to use as directory names.
const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;

export function isValidTopicName(name: string): boolean {
  return TOPIC_NAME.test(name) && name !== "." && name !== "..";
}

interface PendingAppend {
  record: NewRecord;
  resolve: (stored: LogRecord) => void;
  reject: (err: unknown) => void;
}

/**
 * One partition: an append-only file plus its records in memory.
 *
 * Appends are group-committed: whatever queued up while the previous write+fsync ran goes out as one write and
 * one fsync. Offsets are assigned when a batch is formed, in queue order (= order of acceptance), and a record
 * becomes visible to readers and is acknowledged only after its fsync returned.
 */
export class PartitionLog {
  readonly topic: string;
  readonly partition: number;
  private readonly handle: FileHandle;
  private readonly records: LogRecord[];
  private readonly onAppend: () => void;
  private fileSize: number;
  private queue: PendingAppend[] = [];
  private flushing = false;
  private drained: Promise<void> = Promise.resolve();
  // Set when a failed write could not be rolled back: appending more would reuse offsets already on disk.
  private broken: unknown;
  private closed = false;

  private constructor(
    topic: string,
    partition: number,
    handle: FileHandle,
    records: LogRecord[],
    fileSize: number,
    onAppend: () => void,
  ) {
    this.topic = topic;
    this.partition = partition;
    this.handle = handle;
    this.records = records;
    this.fileSize = fileSize;
    this.onAppend = onAppend;
  }

  /** Open (or create) a partition file and load it, dropping a torn tail left by a crash mid-write. */
  static async open(
    file: string,
    topic: string,
    partition: number,
    onAppend: () => void,
  ): Promise<PartitionLog> {
    // Not O_APPEND: writes go to explicit positions so a failed batch can be truncated away.
    const handle = await open(file, constants.O_RDWR | constants.O_CREAT, 0o644);
    try {
      const data = await handle.readFile();
      const records: LogRecord[] = [];
      let validBytes = 0;
      while (validBytes < data.length) {
        const newline = data.indexOf(0x0a, validBytes);
        if (newline === -1) break;
        const record = parseRecord(data.subarray(validBytes, newline), records.length);
        if (record === undefined) break;
        records.push(record);
        validBytes = newline + 1;
      }
      if (validBytes < data.length) {
        // Like Kafka's log recovery: everything from the first incomplete or unreadable record on comes from a
        // write that never finished (its fsync never returned, so it was never acknowledged). Cut it off, or the
        // next append would be glued to the garbage.
        console.warn(
          `[kafka-rest] ${file}: dropping ${data.length - validBytes} bytes of torn tail after offset ${records.length - 1}`,
        );
        await handle.truncate(validBytes);
        await handle.datasync();
      }
      return new PartitionLog(topic, partition, handle, records, validBytes, onAppend);
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  /** The offset the next record will get (Kafka's log end offset / high watermark). */
  get endOffset(): number {
    return this.records.length;
  }

  /** Up to `max` durable records starting at `offset`. */
  read(offset: number, max: number): LogRecord[] {
    return this.records.slice(offset, offset + max);
  }

  /** The first offset whose timestamp is >= `timestamp`, or -1 when there is none (like Kafka's offsetsForTimes). */
  offsetForTimestamp(timestamp: number): number {
    const found = this.records.find((record) => record.timestamp >= timestamp);
    return found === undefined ? -1 : found.offset;
  }

  /** Append a record; resolves once it is on disk (fsynced), with the offset it got. */
  append(record: NewRecord): Promise<LogRecord> {
    if (this.closed) return Promise.reject(new Error(`partition ${this.topic}/${this.partition} is closed`));
    if (this.broken !== undefined) return Promise.reject(this.broken);
    return new Promise((resolve, reject) => {
      this.queue.push({ record, resolve, reject });
      if (!this.flushing) {
        this.flushing = true;
        this.drained = this.flushQueue();
      }
    });
  }

  /** Finish the appends already accepted, then close the file. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.drained;
    await this.handle.close();
  }

  private async flushQueue(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue;
        this.queue = [];
        await this.writeBatch(batch);
      }
    } finally {
      // Reset in the same synchronous step as the last emptiness check, so no append can be left waiting.
      this.flushing = false;
    }
  }

  private async writeBatch(batch: PendingAppend[]): Promise<void> {
    if (this.broken !== undefined) {
      for (const pending of batch) pending.reject(this.broken);
      return;
    }
    const base = this.records.length;
    const stored = batch.map((pending, i): LogRecord => ({ offset: base + i, ...pending.record }));
    const bytes = Buffer.from(stored.map((record) => `${JSON.stringify(record)}\n`).join(""), "utf8");
    try {
      let written = 0;
      while (written < bytes.length) {
        const { bytesWritten } = await this.handle.write(
          bytes,
          written,
          bytes.length - written,
          this.fileSize + written,
        );
        written += bytesWritten;
      }
      await this.handle.datasync();
    } catch (err) {
      // Roll the file back so these offsets can be handed out again; if even that fails, stop accepting appends.
      await this.handle.truncate(this.fileSize).catch((truncateErr: unknown) => {
        this.broken = truncateErr;
      });
      for (const pending of batch) pending.reject(err);
      return;
    }
    this.fileSize += bytes.length;
    this.records.push(...stored);
    batch.forEach((pending, i) => {
      const record = stored[i];
      if (record !== undefined) pending.resolve(record);
    });
    this.onAppend();
  }
}

function isHeader(value: unknown): value is Header {
  if (typeof value !== "object" || value === null) return false;
  const header = value as Record<string, unknown>;
  return typeof header.key === "string" && typeof header.value === "string";
}

/** Parse one line of a partition file; undefined when it is not the record expected at `expectedOffset`. */
function parseRecord(line: Buffer, expectedOffset: number): LogRecord | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line.toString("utf8"));
  } catch {
    return undefined;
  }
  if (typeof parsed !== "object" || parsed === null) return undefined;
  const record = parsed as Record<string, unknown>;
  if (
    record.offset !== expectedOffset ||
    typeof record.timestamp !== "number" ||
    typeof record.key !== "string" ||
    typeof record.value !== "string" ||
    !Array.isArray(record.headers) ||
    !record.headers.every(isHeader)
  ) {
    return undefined;
  }
  return {
    offset: expectedOffset,
    timestamp: record.timestamp,
    key: record.key,
    value: record.value,
    headers: record.headers,
  };
}

export class Topic {
  readonly name: string;
  readonly partitions: readonly PartitionLog[];
  private nextKeyless = 0;

  constructor(name: string, partitions: readonly PartitionLog[]) {
    this.name = name;
    this.partitions = partitions;
  }

  /** Kafka's choice: an explicit partition wins, a key is hashed, keyless messages are spread round-robin. */
  choosePartition(key: string | undefined, partition: number | undefined): number {
    if (partition !== undefined) return partition;
    if (key !== undefined) return partitionForKey(key, this.partitions.length);
    const chosen = this.nextKeyless;
    this.nextKeyless = (chosen + 1) % this.partitions.length;
    return chosen;
  }
}

interface Waiter {
  topics: ReadonlySet<string>;
  wake: () => void;
}

/** All topics, plus the wake-ups that let long polls return as soon as a record lands. */
export class LogStore {
  private readonly dir: string;
  private readonly defaultPartitions: number;
  private readonly topics = new Map<string, Topic>();
  private readonly creating = new Map<string, Promise<Topic>>();
  private readonly waiters = new Set<Waiter>();
  private stopping = false;

  private constructor(dir: string, defaultPartitions: number) {
    this.dir = dir;
    this.defaultPartitions = defaultPartitions;
  }

  /** Load every topic found under `<dataDir>/topics`. */
  static async open(dataDir: string, defaultPartitions: number): Promise<LogStore> {
    const store = new LogStore(join(dataDir, "topics"), defaultPartitions);
    await mkdir(store.dir, { recursive: true });
    for (const entry of await readdir(store.dir, { withFileTypes: true })) {
      if (!entry.isDirectory() || !isValidTopicName(entry.name)) continue;
      const partitions = await readPartitionCount(join(store.dir, entry.name));
      // No topic.json: the creation never finished, so nothing was ever acknowledged in it.
      if (partitions === undefined) continue;
      store.topics.set(entry.name, await store.openTopic(entry.name, partitions));
    }
    return store;
  }

  /** True once shutdown began: long polls must stop waiting. */
  get isStopping(): boolean {
    return this.stopping;
  }

  get(name: string): Topic | undefined {
    return this.topics.get(name);
  }

  /** Topic name → partition count, the shape of the REST API's `GET /topics`. */
  partitionCounts(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const [name, topic] of [...this.topics].sort(([a], [b]) => a.localeCompare(b))) {
      counts[name] = topic.partitions.length;
    }
    return counts;
  }

  /**
   * The topic, created (default partition count) unless it exists. Only the operator's calls create
   * topics (the admin endpoint, the start-up list): produce and consume never do, as on the real
   * services, where auto-creation is off.
   */
  ensureTopic(name: string, partitions = this.defaultPartitions): Promise<Topic> {
    const existing = this.topics.get(name);
    if (existing !== undefined) return Promise.resolve(existing);
    let pending = this.creating.get(name);
    if (pending === undefined) {
      // One creation per name, however many calls race to create it.
      pending = this.createTopic(name, partitions).finally(() => this.creating.delete(name));
      this.creating.set(name, pending);
    }
    return pending;
  }

  /**
   * Resolve after a record was appended to one of `topics`, or after `timeoutMs`, or at once when shutdown began
   * or `signal` aborts. Callers check for data and call this in the same synchronous step, so no append is missed.
   */
  waitForAppend(topics: Iterable<string>, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    if (this.stopping || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const waiter: Waiter = { topics: new Set(topics), wake: done };
      const timer = setTimeout(done, Math.max(0, timeoutMs));
      signal?.addEventListener("abort", done, { once: true });
      this.waiters.add(waiter);
      const waiters = this.waiters;
      function done(): void {
        clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        waiters.delete(waiter);
        resolve();
      }
    });
  }

  /** First step of shutdown: wake every long poll so in-flight requests can finish quickly. */
  stopWaiting(): void {
    this.stopping = true;
    for (const waiter of [...this.waiters]) waiter.wake();
  }

  /** Flush accepted appends and close every file. */
  async close(): Promise<void> {
    this.stopWaiting();
    await Promise.allSettled(this.creating.values());
    await Promise.all(
      [...this.topics.values()].flatMap((topic) => topic.partitions.map((log) => log.close())),
    );
  }

  private async createTopic(name: string, partitions: number): Promise<Topic> {
    if (this.stopping) throw new Error("the Kafka stand-in is shutting down");
    const dir = join(this.dir, name);
    await mkdir(dir, { recursive: true });
    const topic = await this.openTopic(name, partitions);
    try {
      await syncDir(dir);
      // Written last: its presence is what makes the topic exist after a restart.
      await writeFileAtomic(join(dir, "topic.json"), JSON.stringify({ partitions }));
      await syncDir(this.dir);
    } catch (err) {
      await Promise.allSettled(topic.partitions.map((log) => log.close()));
      throw err;
    }
    this.topics.set(name, topic);
    return topic;
  }

  private async openTopic(name: string, partitions: number): Promise<Topic> {
    const logs: PartitionLog[] = [];
    try {
      for (let p = 0; p < partitions; p++) {
        logs.push(
          await PartitionLog.open(join(this.dir, name, `${p}.jsonl`), name, p, () => this.wake(name)),
        );
      }
    } catch (err) {
      await Promise.allSettled(logs.map((log) => log.close()));
      throw err;
    }
    return new Topic(name, logs);
  }

  private wake(topic: string): void {
    for (const waiter of [...this.waiters]) {
      if (waiter.topics.has(topic)) waiter.wake();
    }
  }
}

async function readPartitionCount(topicDir: string): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile(join(topicDir, "topic.json"), "utf8");
  } catch (err) {
    if (isErrnoCode(err, "ENOENT")) return undefined;
    throw err;
  }
  const meta: unknown = JSON.parse(text);
  const partitions = (meta as { partitions?: unknown } | null)?.partitions;
  if (typeof partitions !== "number" || !Number.isInteger(partitions) || partitions < 1) {
    throw new Error(`${topicDir}/topic.json: invalid partition count`);
  }
  return partitions;
}

export function toMessage(log: PartitionLog, record: LogRecord): Message {
  return { topic: log.topic, partition: log.partition, ...record };
}
