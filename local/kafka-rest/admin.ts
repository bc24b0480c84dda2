/**
 * Topic creation on the Kafka stand-in (its `POST /admin/topics`): the operator step that `npm run dev`
 * and the tests take, as an operator runs `rpk topic create` or `kafka-topics --create` in production.
 */

/** The topics wrangler.toml names (KAFKA_TOPIC, KAFKA_DEAD_LETTER_TOPIC). */
export const CHAT_TOPICS = ["chat-messages", "chat-messages-dead-letter"] as const;

export async function createKafkaTopic(
  url: string,
  auth: { username: string; password: string },
  topic: string,
  partitions?: number,
): Promise<{ topic: string; partitions: number; created: boolean }> {
  const res = await fetch(`${url}/admin/topics`, {
    method: "POST",
    headers: {
      authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString("base64")}`,
      "content-type": "application/json",
    },
    body: JSON.stringify({ topic, partitions }),
  });
  if (!res.ok) throw new Error(`creating Kafka topic ${topic}: ${res.status} ${await res.text()}`);
  return (await res.json()) as { topic: string; partitions: number; created: boolean };
}

/** `POST /admin/config` (tests): shorten the consumer instance timeout, lower the record size limit. */
export async function configureKafkaStandin(
  url: string,
  auth: { username: string; password: string },
  config: { consumerInstanceTimeoutMs?: number; maxRecordBytes?: number },
): Promise<void> {
  const res = await fetch(`${url}/admin/config`, {
    method: "POST",
    headers: {
      authorization: `Basic ${btoa(`${auth.username}:${auth.password}`)}`,
      "content-type": "application/json",
    },
    body: JSON.stringify(config),
  });
  if (!res.ok) throw new Error(`configuring the Kafka stand-in: ${res.status} ${await res.text()}`);
}
