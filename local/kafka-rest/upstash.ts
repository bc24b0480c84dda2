import { badRequest } from "./errors.ts";
import { type ConsumerGroups, MAX_RECORDS_PER_CALL } from "./groups.ts";
import type { LogStore, Message } from "./log.ts";
import { toMessage } from "./log.ts";
import { type Appended, append, existingPartition } from "./produce.ts";
import type { ProduceItem } from "./requests.ts";
import {
  commitBody,
  consumeBody,
  consumerSettings,
  fetchBody,
  produceItems,
  queryTimeout,
  topicPartitions,
} from "./requests.ts";
import type { Call, Handler } from "./server.ts";

/**
 * Upstash's Kafka REST dialect, the one `@upstash/kafka` speaks (all GET or POST, Basic auth):
 *
 *   produce                             one message or an array, topic in each → array of metadata
 *   produce/<topic>                     one message or an array for one topic
 *   produce/<topic>/<message>?key=      a single message from the URL
 *   consume/<group>/<instance>[/<topic>] long-polling consumer-group read
 *   commit/<group>/<instance>           explicit offsets, or no body = all fetched so far
 *   committed/<group>/<instance>        committed offsets (-1 = none)
 *   fetch                               read by topic/partition/offset, no group
 *   topics | consumers | delete-consumer/<group>/<instance> | offsets/<timestamp|earliest|latest>
 *
 * Errors are `{error, status}`. A topic nobody created is an error everywhere (404).
 */

const SUCCESS = { result: "Success", status: 200 };

export function upstashRouter(
  log: LogStore,
  groups: ConsumerGroups,
  limits: { maxRecordBytes: number },
): (segments: string[]) => Handler | undefined {
  const produce = async (items: ProduceItem[]): Promise<Appended[]> => {
    const results = await append(log, items, limits.maxRecordBytes);
    const refused = results.find((r) => !("offset" in r));
    // Upstash answers the whole request with the error (what was accepted before it stays written).
    if (refused && !("offset" in refused)) throw badRequest(`MESSAGE_TOO_LARGE: ${refused.message}`);
    return results as Appended[];
  };
  const routes: Record<string, Handler> = {
    "produce/0": async ({ body }) => produce(produceItems(body)),
    "produce/1": async ({ params: [topic], body }) => {
      const results = await produce(produceItems(body, topic));
      return Array.isArray(body) ? results : results[0];
    },
    "produce/2": async ({ params: [topic, value], query }) => {
      const [result] = await produce(produceItems({ value, key: query.get("key") ?? undefined }, topic));
      return result;
    },
    "consume/2": async ({ params: [group = "", instanceId = ""], body, headers, signal }) => {
      const { topics, timeoutMs } = consumeBody(body);
      return groups.consume(
        { group, instanceId, topics, timeoutMs, settings: consumerSettings(headers) },
        signal,
      );
    },
    "consume/3": async ({ params: [group = "", instanceId = "", topic], query, headers, signal }) => {
      const { topics } = consumeBody({ topic });
      const timeoutMs = queryTimeout(query.get("timeout"));
      return groups.consume(
        { group, instanceId, topics, timeoutMs, settings: consumerSettings(headers) },
        signal,
      );
    },
    "commit/2": async ({ params: [group = "", instanceId = ""], body }) => {
      await groups.commit(group, instanceId, commitBody(body));
      return SUCCESS;
    },
    "committed/2": async ({ params: [group = ""], body }) => groups.committed(group, topicPartitions(body)),
    "fetch/0": async ({ body, signal }) => fetchMessages(log, body, signal),
    "topics/0": async () => log.partitionCounts(),
    "consumers/0": async () => groups.list(),
    "delete-consumer/2": async ({ params: [group = "", instanceId = ""] }) => {
      await groups.remove(group, instanceId);
      return SUCCESS;
    },
    "offsets/1": async ({ params: [timestamp = ""], body }) =>
      offsetsAt(log, timestamp, topicPartitions(body)),
  };
  const byName = new Map(Object.entries(routes));
  return (segments) => byName.get(`${segments[0]}/${segments.length - 1}`);
}

/** The Fetch API: read from explicit offsets, waiting up to the timeout when there is nothing yet. */
async function fetchMessages(log: LogStore, body: Call["body"], signal: AbortSignal): Promise<Message[]> {
  const { items, timeoutMs } = fetchBody(body);
  const sources = items.map((item) => ({
    partition: existingPartition(log, item.topic, item.partition),
    offset: item.offset,
  }));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const messages: Message[] = [];
    for (const { partition, offset } of sources) {
      const records = partition.read(offset, MAX_RECORDS_PER_CALL - messages.length);
      for (const record of records) messages.push(toMessage(partition, record));
    }
    const remaining = deadline - Date.now();
    if (messages.length > 0 || remaining <= 0 || log.isStopping || signal.aborted) return messages;
    await log.waitForAppend(
      sources.map(({ partition }) => partition.topic),
      remaining,
      signal,
    );
  }
}

/** Admin `offsets/<timestamp>`: earliest, latest, or the first offset at or after a timestamp (-1 if none). */
function offsetsAt(
  log: LogStore,
  timestamp: string,
  partitions: Array<{ topic: string; partition: number }> | undefined,
): Array<{ topic: string; partition: number; offset: number }> {
  if (timestamp !== "earliest" && timestamp !== "latest" && !/^\d+$/.test(timestamp)) {
    throw badRequest("timestamp must be earliest, latest or a unix timestamp in milliseconds");
  }
  const wanted =
    partitions ??
    Object.entries(log.partitionCounts()).flatMap(([topic, count]) =>
      Array.from({ length: count }, (_, partition) => ({ topic, partition })),
    );
  return wanted.map(({ topic, partition }) => {
    const found = existingPartition(log, topic, partition);
    const offset =
      timestamp === "earliest"
        ? 0
        : timestamp === "latest"
          ? found.endOffset
          : found.offsetForTimestamp(Number(timestamp));
    return { topic, partition, offset };
  });
}
