import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { createKafkaLog, KAFKA_DIALECTS, type KafkaRecord, kafkaConfig } from "../../workers/lib/kafka";
import { KafkaError } from "../../workers/lib/kafka/error";

/**
 * The KafkaLog client in each dialect against the stand-in, which serves them all over one log: the
 * offset a commit names (Confluent: the last record read; Redpanda and Upstash: the next one) is where
 * a new member of the group starts, to the record.
 */

const logOf = (dialect: (typeof KAFKA_DIALECTS)[number]) => createKafkaLog({ ...kafkaConfig(env), dialect });

async function pollUntil(
  consumer: ReturnType<ReturnType<typeof logOf>["consumer"]>,
  done: (seen: KafkaRecord[]) => boolean,
): Promise<KafkaRecord[]> {
  const seen: KafkaRecord[] = [];
  for (let i = 0; i < 50 && !done(seen); i++) seen.push(...(await consumer.poll(200)));
  return seen;
}

describe.each(KAFKA_DIALECTS)("Kafka client, %s dialect", (dialect) => {
  it("produces in key order; a new member starts right after the last committed record", async () => {
    const kafka = logOf(dialect);
    const key = `dialect-${dialect}-${crypto.randomUUID()}`;
    const values = ["a", "b", "c", "d"].map((v) => `${v}-${key}`);
    await kafka.produce(
      env.KAFKA_TOPIC,
      values.map((value) => ({ key, value })),
      5_000,
    );

    const group = `g-${crypto.randomUUID()}`;
    const first = kafka.consumer({ group, instanceId: "first", topic: env.KAFKA_TOPIC });
    const seen = await pollUntil(first, (s) => s.filter((r) => r.key === key).length === 4);
    const mine = seen.filter((r) => r.key === key);
    expect(mine.map((r) => r.value)).toEqual(values);
    expect(first.ref).toBeDefined();
    // Done up to "b": commit every record read before it too (other keys), none after it.
    const upToB = seen.filter(
      (r) => r.partition !== mine[1]?.partition || r.offset <= (mine[1]?.offset ?? -1),
    );
    await first.commit(upToB);
    await first.close();

    const second = kafka.consumer({ group, instanceId: "second", topic: env.KAFKA_TOPIC });
    const again = await pollUntil(second, (s) => s.filter((r) => r.key === key).length >= 2);
    expect(again.filter((r) => r.key === key).map((r) => r.value)).toEqual(values.slice(2));
    await second.close();
  });

  it("answers a produce to a topic nobody created with 404, and pings only topics that exist", async () => {
    const kafka = logOf(dialect);
    const err = await kafka.produce("never-created", [{ key: "k", value: "v" }], 5_000).catch((e) => e);
    expect(err).toBeInstanceOf(KafkaError);
    expect((err as KafkaError).status).toBe(404);
    await expect(kafka.ping(env.KAFKA_TOPIC, 2_000)).resolves.toBeUndefined();
    await expect(kafka.ping("never-created", 2_000)).rejects.toBeInstanceOf(KafkaError);
    const offsets = await kafka.partitionOffsets(env.KAFKA_TOPIC, 2_000);
    expect(offsets.size).toBeGreaterThan(0);
    for (const { start, end } of offsets.values()) expect(end).toBeGreaterThanOrEqual(start);
  });

  it("drops a consumer by its ref (a crashed run's leftover); one already gone is no error", async () => {
    const kafka = logOf(dialect);
    const consumer = kafka.consumer({
      group: `g-${crypto.randomUUID()}`,
      instanceId: "left",
      topic: env.KAFKA_TOPIC,
    });
    await consumer.poll(50);
    const ref = consumer.ref as string;
    await kafka.dropConsumer(ref);
    await expect(kafka.dropConsumer(ref)).resolves.toBeUndefined();
  });
});
