import { createUpstashKafka } from "./upstash";

/**
 * The chat's log: the room objects produce to it, the consumer job reads it into DynamoDB. Both speak
 * to Kafka over HTTP (Workers have no TCP Kafka client), through this interface, so the REST dialect
 * is one module behind it: Upstash's today. Every call has a deadline and none retries: the callers
 * own their backoff. Failures throw KafkaError (./error).
 */

export interface KafkaConfig {
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
  /** Appends to one topic in order (records sharing a key keep their order); resolves once Kafka has them. */
  produce(
    topic: string,
    records: readonly { key: string; value: string }[],
    timeoutMs: number,
  ): Promise<void>;
  /**
   * A member of a consumer group reading one topic: explicit commits only, and a group with no
   * commit starts at the earliest record. A dialect that must create the member first does so on
   * its first poll.
   */
  consumer(member: { group: string; instanceId: string; topic: string }): KafkaConsumer;
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
}

export const kafkaConfig = (env: Env): KafkaConfig => ({
  url: env.KAFKA_URL,
  username: env.KAFKA_USERNAME,
  password: env.KAFKA_PASSWORD,
});

export const createKafkaLog = (cfg: KafkaConfig): KafkaLog => createUpstashKafka(cfg);
