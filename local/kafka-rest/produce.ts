import { ApiError, badRequest, unknownTopic } from "./errors.ts";
import type { LogStore, PartitionLog, Topic } from "./log.ts";
import type { ProduceItem } from "./requests.ts";

export interface Appended {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
}

/** A record Kafka refuses (over message.max.bytes): v2 reports it per record, Upstash fails the request. */
export class RecordTooLarge extends ApiError {
  constructor(bytes: number, max: number) {
    super(422, `The message is ${bytes} bytes when serialized which is larger than ${max}.`, 42201);
  }
}

/**
 * Appends messages and answers once all are durable. Topics (which must exist: nothing is
 * auto-created) and partitions are resolved and checked for every message first, so a bad one rejects
 * the request before anything is written; then all appends are queued in one synchronous pass, so
 * messages of one request that share a partition get consecutive offsets in order. A message over
 * `maxRecordBytes` is not written; its slot holds a RecordTooLarge.
 */
export async function append(
  log: LogStore,
  items: ProduceItem[],
  maxRecordBytes: number,
): Promise<Array<Appended | RecordTooLarge>> {
  const targets = items.map((item) => {
    const topic = log.get(item.topic);
    if (topic === undefined) throw unknownTopic(item.topic);
    return { item, partition: targetPartition(topic, item) };
  });
  const now = Date.now();
  return Promise.all(
    targets.map(async ({ item, partition }) => {
      const bytes = Buffer.byteLength(item.value) + Buffer.byteLength(item.key ?? "");
      if (bytes > maxRecordBytes) return new RecordTooLarge(bytes, maxRecordBytes);
      const stored = await partition.append({
        timestamp: item.timestamp ?? now,
        key: item.key ?? "",
        value: item.value,
        headers: item.headers,
      });
      return {
        topic: item.topic,
        partition: partition.partition,
        offset: stored.offset,
        timestamp: stored.timestamp,
      };
    }),
  );
}

function targetPartition(topic: Topic, item: ProduceItem): PartitionLog {
  const partition = topic.partitions[topic.choosePartition(item.key, item.partition)];
  if (partition === undefined) {
    throw badRequest(
      `topic ${topic.name} has ${topic.partitions.length} partitions, no partition ${item.partition}`,
    );
  }
  return partition;
}

export function existingPartition(log: LogStore, topicName: string, partition: number): PartitionLog {
  const topic = log.get(topicName);
  if (topic === undefined) throw unknownTopic(topicName);
  const found = topic.partitions[partition];
  if (found === undefined)
    throw new ApiError(404, `Partition ${partition} of topic ${topicName} not found.`, 40402);
  return found;
}
