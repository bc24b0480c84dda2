import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { ApiError, badRequest, unknownTopic } from "./errors.ts";
import { isErrnoCode, writeFileAtomic } from "./fsutil.ts";
import type { LogStore, Message, PartitionLog, Topic } from "./log.ts";
import { toMessage } from "./log.ts";

/**
 * Consumer groups: committed offsets (durable, per group) and consumer instances (in memory, per
 * group + instance id, each with its own fetch positions), as the Kafka REST API exposes them.
 *
 * Partitions are split between the members of a group as a real Kafka group splits them, because
 * that is what a client of a REST proxy lives with: an instance joins the group on its first poll
 * (creating it and subscribing join nothing yet: the proxy's KafkaConsumer joins inside poll()),
 * and every member keeps its partitions until it is deleted or expires after idling, even while
 * nobody polls it (the proxy's consumer heartbeats on its own thread). So a run that left its
 * instance behind starves the next run of those partitions, which is what the chat consumer must
 * handle. Assignment is Kafka's range assignor over the members in the order they joined; it is
 * recomputed whenever membership changes, and a member's next poll sees the result (the rebalance a
 * real consumer goes through inside poll()). A revoked partition's fetch position is dropped, so
 * its new owner starts at the committed offset: what the old owner read but did not commit is read
 * again, never skipped. Simplification: a commit is taken from any live instance of the group, as
 * the group coordinator takes one from any member of the current generation; the window in which
 * Kafka would answer CommitFailedException (a rebalance the committer has not seen) is not modelled.
 */

export interface TopicPartition {
  topic: string;
  partition: number;
}

export interface TopicPartitionOffset extends TopicPartition {
  offset: number;
}

export type OffsetReset = "earliest" | "latest" | "none";

export interface ConsumerSettings {
  autoCommit: boolean;
  autoCommitIntervalMs: number;
  autoOffsetReset: OffsetReset;
}

/** Kafka's consumer defaults, which the REST API applies when a header is absent. */
export const DEFAULT_CONSUMER_SETTINGS: ConsumerSettings = {
  autoCommit: true,
  autoCommitIntervalMs: 5000,
  autoOffsetReset: "latest",
};

/** Kafka's max.poll.records default: the most records one consume or fetch call returns. */
export const MAX_RECORDS_PER_CALL = 500;

/** An instance nobody polled for this long is dropped, like the REST proxy's consumer.instance.timeout.ms. */
export const INSTANCE_IDLE_TIMEOUT_MS = 5 * 60_000;

/** How often a waiting poll looks whether a rebalance gave it partitions (which no append announces). */
const REBALANCE_CHECK_MS = 250;

/** The longest a lost answer (ConsumerGroups.loseAnswers) waits for its client to hang up; then it goes out. */
const LOST_ANSWER_HOLD_MS = 60_000;

function tpKey(topic: string, partition: number): string {
  // Topic names cannot contain "/", so the key is unambiguous.
  return `${topic}/${partition}`;
}

/**
 * Committed offsets of every group, in memory and in `<dataDir>/offsets.json` (rewritten atomically).
 * As in Kafka, a committed offset is the offset of the next record to read, not of the last one processed.
 */
export class OffsetStore {
  private readonly file: string;
  private readonly groups = new Map<string, Map<string, TopicPartitionOffset>>();
  private version = 0;
  private persistedVersion = 0;
  private writing: Promise<void> | undefined;

  private constructor(file: string) {
    this.file = file;
  }

  static async open(dataDir: string): Promise<OffsetStore> {
    const store = new OffsetStore(join(dataDir, "offsets.json"));
    let text: string;
    try {
      text = await readFile(store.file, "utf8");
    } catch (err) {
      if (isErrnoCode(err, "ENOENT")) return store;
      throw err;
    }
    // Written atomically, so unlike the logs it is never torn: anything unreadable is a real problem.
    const saved = JSON.parse(text) as { commits?: unknown };
    if (!Array.isArray(saved.commits)) throw new Error(`${store.file}: no "commits" array`);
    for (const entry of saved.commits as Array<Record<string, unknown>>) {
      const { group, topic, partition, offset } = entry;
      if (
        typeof group !== "string" ||
        typeof topic !== "string" ||
        typeof partition !== "number" ||
        typeof offset !== "number"
      ) {
        throw new Error(`${store.file}: malformed entry ${JSON.stringify(entry)}`);
      }
      store.apply(group, [{ topic, partition, offset }]);
    }
    return store;
  }

  get(group: string, topic: string, partition: number): number | undefined {
    return this.groups.get(group)?.get(tpKey(topic, partition))?.offset;
  }

  entries(group: string): TopicPartitionOffset[] {
    return [...(this.groups.get(group)?.values() ?? [])].map((entry) => ({ ...entry }));
  }

  /** Record the offsets; resolves once they are on disk. */
  async commit(group: string, offsets: readonly TopicPartitionOffset[]): Promise<void> {
    if (offsets.length === 0) return;
    this.apply(group, offsets);
    this.version += 1;
    await this.persist(this.version);
  }

  async close(): Promise<void> {
    await this.writing?.catch(() => {});
  }

  private apply(group: string, offsets: readonly TopicPartitionOffset[]): void {
    let committed = this.groups.get(group);
    if (committed === undefined) {
      committed = new Map();
      this.groups.set(group, committed);
    }
    for (const { topic, partition, offset } of offsets) {
      committed.set(tpKey(topic, partition), { topic, partition, offset });
    }
  }

  /**
   * Make sure a snapshot at least as new as `version` is on disk. Snapshots are written one at a time; commits
   * that arrive during a write share the next one.
   */
  private async persist(version: number): Promise<void> {
    while (this.persistedVersion < version) {
      if (this.writing === undefined) {
        this.writing = this.writeSnapshot().finally(() => {
          this.writing = undefined;
        });
      }
      await this.writing;
    }
  }

  private async writeSnapshot(): Promise<void> {
    const version = this.version;
    const commits = [...this.groups].flatMap(([group, offsets]) =>
      [...offsets.values()].map((entry) => ({ group, ...entry })),
    );
    await writeFileAtomic(this.file, `${JSON.stringify({ commits }, null, 1)}\n`);
    this.persistedVersion = Math.max(this.persistedVersion, version);
  }
}

/** One consumer instance: its settings (fixed when it is created, as in Kafka) and its fetch positions. */
class ConsumerInstance {
  readonly group: string;
  readonly id: string;
  readonly settings: ConsumerSettings;
  /** v2 instances only: how GET records encodes keys and values. */
  format: "binary" | "json" = "binary";
  topics: string[] = [];
  // Next offset to hand out, per topic/partition; a partition gets one on the first poll that sees it.
  readonly positions = new Map<string, TopicPartitionOffset>();
  lastSeenAt = Date.now();
  lastAutoCommitAt = Date.now();
  // Rotates which partition a poll reads first, so one busy partition cannot starve the others.
  rotation = 0;
  /** When it joined the group (its first poll), as a sequence number; undefined = not a member yet. */
  joined: number | undefined;
  private busy = 0;
  private tail: Promise<unknown> = Promise.resolve();

  constructor(group: string, id: string, settings: ConsumerSettings) {
    this.group = group;
    this.id = id;
    this.settings = settings;
  }

  get isBusy(): boolean {
    return this.busy > 0;
  }

  /** Run calls on this instance one at a time, like the single Kafka consumer behind a REST instance. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    this.busy += 1;
    const run = this.tail.then(fn).finally(() => {
      this.busy -= 1;
      this.lastSeenAt = Date.now();
    });
    this.tail = run.catch(() => {});
    return run;
  }

  currentPositions(): TopicPartitionOffset[] {
    return [...this.positions.values()].map((entry) => ({ ...entry }));
  }
}

export interface ConsumeRequest {
  group: string;
  instanceId: string;
  topics: string[];
  timeoutMs: number;
  // Only used when this call creates the instance.
  settings: Partial<ConsumerSettings>;
}

export interface GroupAssignments {
  name: string;
  instances: Array<{ name: string; topics: Array<{ topic: string; partitions: number[] }> }>;
}

export class ConsumerGroups {
  /** consumer.instance.timeout.ms; tests shorten it to make an instance expire in the middle of a run. */
  instanceTimeoutMs = INSTANCE_IDLE_TIMEOUT_MS;
  /**
   * Test fault (POST /admin/config `loseAnswers`): the next `times` consume answers that carry a
   * record keyed `key` are handed out (the instance's positions move past them, as a proxy's do) but
   * held until the client hangs up, so it never reads them: a poll whose answer is lost (its deadline
   * passed on a loaded machine, the connection dropped). `lost`: how many the client gave up on.
   */
  loseAnswers = { key: "", times: 0, lost: 0 };
  private readonly log: LogStore;
  private joins = 0;
  private readonly offsets: OffsetStore;
  private readonly instances = new Map<string, Map<string, ConsumerInstance>>();

  constructor(log: LogStore, offsets: OffsetStore) {
    this.log = log;
    this.offsets = offsets;
  }

  /**
   * Kafka's poll over REST: return what is available from the instance's positions at once, or wait up to
   * `timeoutMs` for a record to land. Positions advance by what is returned; only commits are durable.
   */
  async consume(request: ConsumeRequest, signal: AbortSignal): Promise<Message[]> {
    await this.dropIdleInstances();
    // Upstash's consume names its topics each time; one nobody created is an error, never created here.
    for (const name of request.topics) if (!this.log.get(name)) throw unknownTopic(name);
    const instance = this.instanceFor(request.group, request.instanceId, request.settings);
    instance.topics = request.topics;
    const messages = await instance.exclusive(() => this.pollInstance(instance, request.timeoutMs, signal));
    return this.answer(messages, signal);
  }

  /** v2 `POST /consumers/{group}`: a new named instance; a taken name is 409 (40902). */
  async create(group: string, name: string, settings: Partial<ConsumerSettings>, format: "binary" | "json") {
    await this.dropIdleInstances();
    if (this.instances.get(group)?.has(name)) {
      throw new ApiError(409, `Consumer instance with the specified name ${name} already exists.`, 40902);
    }
    this.instanceFor(group, name, settings).format = format;
  }

  /** v2: the live instance, or 404 40403 (never created, deleted, or expired after idling). */
  async find(group: string, name: string): Promise<ConsumerInstance> {
    await this.dropIdleInstances();
    const instance = this.instances.get(group)?.get(name);
    if (instance === undefined) throw new ApiError(404, "Consumer instance not found.", 40403);
    instance.lastSeenAt = Date.now();
    return instance;
  }

  /**
   * v2 `GET {base_uri}/records`: a subscription to a topic not created yet simply finds nothing.
   * `maxBytes` bounds the unencoded keys and values of the answer as Confluent's REST Proxy does
   * (KafkaConsumerReadTask: a record is added only while bytes so far + its size stay below the
   * limit; the answer ends at the first one that would not fit, which stays for the next call).
   */
  async poll(
    instance: ConsumerInstance,
    timeoutMs: number,
    signal: AbortSignal,
    maxBytes = Number.POSITIVE_INFINITY,
  ): Promise<Message[]> {
    const messages = await instance.exclusive(() => this.pollInstance(instance, timeoutMs, signal, maxBytes));
    return this.answer(messages, signal);
  }

  /** The records a poll handed out, unless `loseAnswers` holds them until the client hangs up. */
  private async answer(messages: Message[], signal: AbortSignal): Promise<Message[]> {
    const fault = this.loseAnswers;
    if (fault.times <= 0 || !messages.some((m) => m.key === fault.key)) return messages;
    fault.times -= 1;
    // Outside the instance's queue: its next call (a delete, another poll) is not held up.
    const until = Date.now() + LOST_ANSWER_HOLD_MS;
    while (!signal.aborted && !this.log.isStopping && Date.now() < until)
      await this.log.waitForAppend([], until - Date.now(), signal);
    if (signal.aborted) fault.lost += 1;
    return messages;
  }

  private async pollInstance(
    instance: ConsumerInstance,
    timeoutMs: number,
    signal: AbortSignal,
    maxBytes = Number.POSITIVE_INFINITY,
  ) {
    const topics = instance.topics.flatMap((name) => this.log.get(name) ?? []);
    await this.autoCommitIfDue(instance);
    instance.joined ??= ++this.joins;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      // A client that hung up must not have records marked as handed out.
      if (signal.aborted) return [];
      // Each round: membership may have changed while this poll waited (a member left or joined).
      const owned = this.rebalance(instance, topics);
      const { messages, full } = this.take(instance, owned, maxBytes);
      if (messages.length > 0 || full) return messages;
      const remaining = deadline - Date.now();
      if (remaining <= 0 || this.log.isStopping) return [];
      // Partitions another member gives up arrive without an append: look again soon.
      await this.log.waitForAppend(instance.topics, Math.min(remaining, REBALANCE_CHECK_MS), signal);
    }
  }

  /**
   * The partitions of `topics` this member owns now (range assignor over the live members in join
   * order). Drops the positions of partitions it lost and gives new ones the committed offset.
   */
  private rebalance(instance: ConsumerInstance, topics: readonly Topic[]): PartitionLog[] {
    const now = Date.now();
    const members = [...(this.instances.get(instance.group)?.values() ?? [])]
      .filter((m) => m.joined !== undefined && (m.isBusy || now - m.lastSeenAt <= this.instanceTimeoutMs))
      .sort((a, b) => (a.joined ?? 0) - (b.joined ?? 0));
    const owned: PartitionLog[] = [];
    for (const topic of topics) {
      const subscribed = members.filter((m) => m.topics.includes(topic.name));
      const index = subscribed.indexOf(instance);
      const count = topic.partitions.length;
      const each = Math.floor(count / subscribed.length);
      const extra = count % subscribed.length;
      const first = index * each + Math.min(index, extra);
      const mine = index < 0 ? [] : topic.partitions.slice(first, first + each + (index < extra ? 1 : 0));
      owned.push(...mine);
      const keep = new Set(mine.map((log) => tpKey(log.topic, log.partition)));
      for (const [key, position] of instance.positions) {
        if (position.topic === topic.name && !keep.has(key)) instance.positions.delete(key);
      }
    }
    this.assign(instance, owned);
    return owned;
  }

  /** Commit explicit offsets, or (none given) everything the instance has handed out so far. */
  async commit(
    group: string,
    instanceId: string,
    offsets: TopicPartitionOffset[] | undefined,
  ): Promise<void> {
    if (offsets !== undefined) {
      for (const { topic, partition } of offsets) this.requirePartition(topic, partition);
      await this.offsets.commit(group, offsets);
      return;
    }
    // Like a fresh Kafka consumer's commitSync(): an instance that never polled has nothing to commit.
    const instance = this.instances.get(group)?.get(instanceId);
    if (instance === undefined) return;
    await instance.exclusive(() => this.offsets.commit(group, instance.currentPositions()));
  }

  /** Committed offsets of the group; -1 for a partition with no commit. All of the group's when none are named. */
  committed(group: string, partitions: TopicPartition[] | undefined): TopicPartitionOffset[] {
    if (partitions === undefined) return this.offsets.entries(group);
    return partitions.map(({ topic, partition }) => ({
      topic,
      partition,
      offset: this.offsets.get(group, topic, partition) ?? -1,
    }));
  }

  /** Remove an instance (auto-committing first when enabled, as closing a Kafka consumer does). */
  async remove(group: string, instanceId: string): Promise<boolean> {
    const instance = this.instances.get(group)?.get(instanceId);
    if (instance === undefined) return false;
    this.forget(instance);
    await instance.exclusive(() => this.finalCommit(instance));
    return true;
  }

  async list(): Promise<GroupAssignments[]> {
    await this.dropIdleInstances();
    return [...this.instances].map(([name, instances]) => ({
      name,
      instances: [...instances.values()].map((instance) => {
        const topics = instance.topics.flatMap((topic) => this.log.get(topic) ?? []);
        const owned = instance.joined === undefined ? [] : this.rebalance(instance, topics);
        return {
          name: instance.id,
          topics: topics.map((topic) => ({
            topic: topic.name,
            partitions: owned.filter((log) => log.topic === topic.name).map((log) => log.partition),
          })),
        };
      }),
    }));
  }

  /** Shutdown: close every instance like the REST proxy closes its consumers. */
  async close(): Promise<void> {
    const all = [...this.instances.values()].flatMap((instances) => [...instances.values()]);
    this.instances.clear();
    await Promise.allSettled(all.map((instance) => instance.exclusive(() => this.finalCommit(instance))));
  }

  private instanceFor(
    group: string,
    instanceId: string,
    settings: Partial<ConsumerSettings>,
  ): ConsumerInstance {
    let instances = this.instances.get(group);
    if (instances === undefined) {
      instances = new Map();
      this.instances.set(group, instances);
    }
    let instance = instances.get(instanceId);
    if (instance === undefined) {
      instance = new ConsumerInstance(group, instanceId, { ...DEFAULT_CONSUMER_SETTINGS, ...settings });
      instances.set(instanceId, instance);
    }
    return instance;
  }

  private forget(instance: ConsumerInstance): void {
    const instances = this.instances.get(instance.group);
    instances?.delete(instance.id);
    if (instances?.size === 0) this.instances.delete(instance.group);
  }

  private async dropIdleInstances(): Promise<void> {
    const now = Date.now();
    const idle = [...this.instances.values()]
      .flatMap((instances) => [...instances.values()])
      .filter((instance) => !instance.isBusy && now - instance.lastSeenAt > this.instanceTimeoutMs);
    for (const instance of idle) this.forget(instance);
    await Promise.allSettled(idle.map((instance) => instance.exclusive(() => this.finalCommit(instance))));
  }

  private async finalCommit(instance: ConsumerInstance): Promise<void> {
    if (instance.settings.autoCommit) await this.offsets.commit(instance.group, instance.currentPositions());
  }

  /** Kafka commits auto-commit offsets inside poll(): what earlier polls returned, once the interval has passed. */
  private async autoCommitIfDue(instance: ConsumerInstance): Promise<void> {
    if (!instance.settings.autoCommit) return;
    const now = Date.now();
    if (now - instance.lastAutoCommitAt < instance.settings.autoCommitIntervalMs) return;
    instance.lastAutoCommitAt = now;
    await this.offsets.commit(instance.group, instance.currentPositions());
  }

  /** Give the instance a position on every partition it has none for: the committed offset, else the reset policy. */
  private assign(instance: ConsumerInstance, logs: readonly PartitionLog[]): void {
    for (const log of logs) {
      const key = tpKey(log.topic, log.partition);
      if (instance.positions.has(key)) continue;
      const offset = this.startOffset(instance, log);
      instance.positions.set(key, { topic: log.topic, partition: log.partition, offset });
    }
  }

  private startOffset(instance: ConsumerInstance, log: PartitionLog): number {
    const committed = this.offsets.get(instance.group, log.topic, log.partition);
    // A commit past the end (e.g. the data directory was wiped) is out of range: Kafka then applies the reset policy.
    if (committed !== undefined && committed <= log.endOffset) return committed;
    switch (instance.settings.autoOffsetReset) {
      case "earliest":
        return 0;
      case "latest":
        return log.endOffset;
      case "none":
        throw badRequest(
          `no committed offset for group ${instance.group} on ${log.topic}/${log.partition} and autoOffsetReset is none`,
        );
    }
  }

  /**
   * Hand out up to MAX_RECORDS_PER_CALL records, and less than `maxBytes` of keys and values, from
   * the instance's positions on `logs`, advancing them. `full`: the next record did not fit.
   */
  private take(
    instance: ConsumerInstance,
    logs: readonly PartitionLog[],
    maxBytes = Number.POSITIVE_INFINITY,
  ): { messages: Message[]; full: boolean } {
    const messages: Message[] = [];
    if (logs.length === 0) return { messages, full: false };
    const start = instance.rotation++ % logs.length;
    let bytes = 0;
    for (let i = 0; i < logs.length && messages.length < MAX_RECORDS_PER_CALL; i++) {
      const log = logs[(start + i) % logs.length];
      if (log === undefined) continue;
      const position = instance.positions.get(tpKey(log.topic, log.partition));
      if (position === undefined) continue;
      for (const record of log.read(position.offset, MAX_RECORDS_PER_CALL - messages.length)) {
        const size = Buffer.byteLength(record.key) + Buffer.byteLength(record.value);
        if (bytes + size >= maxBytes) return { messages, full: true };
        bytes += size;
        messages.push(toMessage(log, record));
        position.offset += 1;
      }
    }
    return { messages, full: false };
  }

  private requirePartition(topic: string, partition: number): void {
    const found = this.log.get(topic);
    if (found === undefined) throw unknownTopic(topic);
    if (partition >= found.partitions.length) {
      throw new ApiError(404, `Partition ${partition} of topic ${topic} not found.`, 40402);
    }
  }
}
