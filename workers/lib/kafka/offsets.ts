import type { KafkaRecord } from "./index";

/** The next offset to read per partition once `records` are done (what Kafka itself stores). */
export function nextOffsets(records: readonly KafkaRecord[]) {
  const next = new Map<string, { topic: string; partition: number; offset: number }>();
  for (const r of records) {
    const key = `${r.topic}/${r.partition}`;
    const offset = Math.max(next.get(key)?.offset ?? 0, r.offset + 1);
    next.set(key, { topic: r.topic, partition: r.partition, offset });
  }
  return [...next.values()];
}
