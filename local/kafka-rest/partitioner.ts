/**
 * Kafka's murmur2 hash (org.apache.kafka.common.utils.Utils.murmur2), so that a key lands on the same
 * partition a real Kafka producer's default partitioner would choose for the same partition count.
 * 32-bit arithmetic: Math.imul for multiplication, `>>>` where Java uses its unsigned shift.
 */
export function murmur2(data: Uint8Array): number {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const length = data.byteLength;
  const m = 0x5bd1e995;
  let h = 0x9747b28c ^ length;

  const tail = length & ~3;
  for (let i = 0; i < tail; i += 4) {
    let k = view.getUint32(i, true);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m);
    h ^= k;
  }

  const rest = length & 3;
  if (rest === 3) h ^= view.getUint8(tail + 2) << 16;
  if (rest >= 2) h ^= view.getUint8(tail + 1) << 8;
  if (rest >= 1) {
    h ^= view.getUint8(tail);
    h = Math.imul(h, m);
  }

  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

const utf8 = new TextEncoder();

/** Kafka's default partitioner for keyed messages: toPositive(murmur2(keyBytes)) % numPartitions. */
export function partitionForKey(key: string, partitions: number): number {
  return (murmur2(utf8.encode(key)) & 0x7fffffff) % partitions;
}
