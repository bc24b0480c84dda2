import { createUpstashKafka } from "./upstash";
import { createV2Kafka } from "./v2";

export { nextOffsets } from "./offsets";

/**
 * The chat's log: the room objects produce to it, the consumer job reads it into DynamoDB. Both speak
 * to Kafka over HTTP (Workers have no TCP Kafka client), through this interface, so the REST dialect
 * is one module behind it, chosen by KAFKA_DIALECT:
 *   v2           Confluent REST Proxy API v2, as Confluent's REST Proxy and Aiven's Karapace serve it (./v2)
 *   v2-redpanda  the same API as Redpanda's HTTP Proxy serves it: only the offset commit differs (./v2)
 *   upstash      Upstash's Kafka REST API (its hosted Kafka closed in March 2025) (./upstash)
 * Every call has a deadline and none retries: the callers own their backoff. Failures throw
 * KafkaError (./error).
 */

export const KAFKA_DIALECTS = ["v2", "v2-redpanda", "upstash"] as const;
export type KafkaDialect = (typeof KAFKA_DIALECTS)[number];

export interface KafkaConfig {
  dialect: KafkaDialect;
  url: string;
  username: string;
  password: string;
}

export interface KafkaRecord {
  topic: string;
  partition: number;
  offset: number;
  key: string;
  value: string;
}

export interface KafkaLog {
  /**
   * Appends to one topic in order (records sharing a key keep their order); resolves once Kafka has
   * them all. A topic that does not exist is an error (404), as on the real services: creating it is
   * an operator's step.
   */
  produce(
    topic: string,
    records: readonly { key: string; value: string }[],
    timeoutMs: number,
  ): Promise<void>;
  /**
   * A member of a consumer group reading one topic: explicit commits only, and a group with no
   * commit starts at the earliest record. A dialect that must create the member first does so on
   * its first poll, and again on the poll after the proxy lost it.
   */
  consumer(member: { group: string; instanceId: string; topic: string }): KafkaConsumer;
  /** Removes a consumer a crashed run left behind, by its `ref`; one already gone is no error. */
  dropConsumer(ref: string): Promise<void>;
  /**
   * Each partition's log start (the earliest offset still held; retention moves it) and log end (the
   * offset the next record will get): the consumer's lag is end − committed, or end − start for a
   * partition the group never committed (it starts at the earliest record).
   */
  partitionOffsets(topic: string, timeoutMs: number): Promise<Map<number, { start: number; end: number }>>;
  /** Resolves when the endpoint answers and the topic exists (health checks). */
  ping(topic: string, timeoutMs: number): Promise<void>;
}

export interface KafkaConsumer {
  /** One long poll: what arrived within `waitMs`, possibly nothing. */
  poll(waitMs: number): Promise<KafkaRecord[]>;
  /**
   * Marks these records, and every earlier one of their partitions, as done. Takes the records
   * rather than offsets because dialects disagree on what an offset commit names (the next record
   * to read, or the last one read).
   */
  commit(records: readonly KafkaRecord[]): Promise<void>;
  /** Leaves the group so its partitions move to other members at once; commits nothing. */
  close(): Promise<void>;
  /** Where the member lives once it exists (v2: its base_uri), for dropConsumer after a crash. */
  readonly ref: string | undefined;
}

export function kafkaConfig(env: Env): KafkaConfig {
  const dialect = env.KAFKA_DIALECT || "v2";
  if (!(KAFKA_DIALECTS as readonly string[]).includes(dialect)) {
    throw new Error(`KAFKA_DIALECT must be one of ${KAFKA_DIALECTS.join(", ")}, not ${dialect}`);
  }
  return {
    dialect: dialect as KafkaDialect,
    url: env.KAFKA_URL,
    username: env.KAFKA_USERNAME,
    password: env.KAFKA_PASSWORD,
  };
}

export const createKafkaLog = (cfg: KafkaConfig): KafkaLog =>
  cfg.dialect === "upstash" ? createUpstashKafka(cfg) : createV2Kafka(cfg);
