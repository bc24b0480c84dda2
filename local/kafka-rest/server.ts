import { mkdir } from "node:fs/promises";
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import { createServer } from "node:http";
import { resolve } from "node:path";
import { closeServer, listen, sendJson } from "../http.ts";
import { ApiError, badRequest } from "./errors.ts";
import { ConsumerGroups, MAX_RECORDS_PER_CALL, OffsetStore } from "./groups.ts";
import { hasValidBasicAuth, readJsonBody, sendError } from "./http.ts";
import type { Message, PartitionLog, Topic } from "./log.ts";
import { LogStore, toMessage } from "./log.ts";
import type { ProduceItem } from "./requests.ts";
import {
  commitBody,
  consumeBody,
  consumerSettings,
  fetchBody,
  produceItems,
  queryTimeout,
  topicName,
  topicPartitions,
} from "./requests.ts";

/**
 * Local stand-in for the Kafka REST API that `@upstash/kafka` speaks, on a durable file log, so the unmodified
 * official client works against `http://127.0.0.1:<port>`. Endpoints (all GET or POST, Basic auth):
 *
 *   produce                             one message or an array, topic in each → array of metadata
 *   produce/<topic>                     one message or an array for one topic
 *   produce/<topic>/<message>?key=      a single message from the URL
 *   consume/<group>/<instance>[/<topic>] long-polling consumer-group read
 *   commit/<group>/<instance>           explicit offsets, or no body = all fetched so far
 *   committed/<group>/<instance>        committed offsets (-1 = none)
 *   fetch                               read by topic/partition/offset, no group
 *   topics | consumers | delete-consumer/<group>/<instance> | offsets/<timestamp|earliest|latest>
 */

export interface KafkaStandin {
  url: string;
  port: number;
  close(): Promise<void>;
}

export interface KafkaStandinOptions {
  /** 0/undefined = a free port. Always 127.0.0.1. */
  port?: number;
  /** Where the log and committed offsets live; a restart with the same dataDir sees all data. */
  dataDir: string;
  username: string;
  password: string;
  /** Partitions of each auto-created topic (default 4). */
  partitions?: number;
  /** Topics created at start; others are created on first produce or consume. */
  topics?: string[];
}

interface Call {
  params: string[];
  query: URLSearchParams;
  body: unknown;
  headers: IncomingHttpHeaders;
  signal: AbortSignal;
}

type Handler = (call: Call) => Promise<unknown>;

const SUCCESS = { result: "Success", status: 200 };

export async function startKafkaStandin(opts: KafkaStandinOptions): Promise<KafkaStandin> {
  const partitions = opts.partitions ?? 4;
  if (!Number.isInteger(partitions) || partitions < 1)
    throw new Error("partitions must be a positive integer");
  const dataDir = resolve(opts.dataDir);
  await mkdir(dataDir, { recursive: true });

  const log = await LogStore.open(dataDir, partitions);
  let offsets: OffsetStore;
  try {
    for (const name of opts.topics ?? []) await log.ensureTopic(topicName(name));
    offsets = await OffsetStore.open(dataDir);
  } catch (err) {
    await log.close();
    throw err;
  }
  const groups = new ConsumerGroups(log, offsets);
  const route = createRouter(log, groups);

  let closing = false;
  const inflight = new Set<Promise<void>>();

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Answered while the stores close; the client retries, which reaches a restarted stand-in.
    if (closing) return sendError(res, 503, "the Kafka stand-in is shutting down");
    if (!hasValidBasicAuth(req.headers.authorization, opts.username, opts.password)) {
      return sendError(res, 401, "Unauthorized: wrong or missing Basic auth credentials");
    }
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    let segments: string[];
    try {
      segments = url.pathname
        .split("/")
        .filter((segment) => segment !== "")
        .map(decodeURIComponent);
    } catch {
      return sendError(res, 400, "malformed URL encoding in path");
    }
    const handler = route(segments);
    if (handler === undefined) return sendError(res, 404, `no such endpoint: ${url.pathname}`);
    if (req.method !== "GET" && req.method !== "POST") {
      return sendError(res, 405, `${req.method} not allowed: use GET or POST`);
    }
    // Lets a long poll stop, without handing out records, when its client hangs up.
    const hangup = new AbortController();
    res.on("close", () => {
      if (!res.writableFinished) hangup.abort();
    });
    try {
      const body = await readJsonBody(req);
      const result = await handler({
        params: segments.slice(1),
        query: url.searchParams,
        body,
        headers: req.headers,
        signal: hangup.signal,
      });
      sendJson(res, 200, result);
    } catch (err) {
      if (err instanceof ApiError) return sendError(res, err.status, err.message);
      console.error("[kafka-rest]", err);
      sendError(res, 500, err instanceof Error ? err.message : String(err));
    }
  }

  const server = createServer((req, res) => {
    const done = handle(req, res).catch((err: unknown) => console.error("[kafka-rest]", err));
    inflight.add(done);
    void done.then(() => inflight.delete(done));
  });

  let port: number;
  try {
    port = await listen(server, opts.port);
  } catch (err) {
    await groups.close();
    await offsets.close();
    await log.close();
    throw err;
  }

  let closed: Promise<void> | undefined;
  async function shutdown(): Promise<void> {
    closing = true;
    // Long polls return now; produces already accepted finish their fsync before the files close.
    log.stopWaiting();
    await closeServer(server, Promise.allSettled([...inflight]));
    await groups.close();
    await offsets.close();
    await log.close();
  }

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close: () => {
      closed ??= shutdown();
      return closed;
    },
  };
}

/** Map path segments to a handler; undefined = 404. */
function createRouter(log: LogStore, groups: ConsumerGroups): (segments: string[]) => Handler | undefined {
  const routes: Record<string, Handler> = {
    "produce/0": async ({ body }) => produce(log, produceItems(body)),
    "produce/1": async ({ params: [topic], body }) => {
      const results = await produce(log, produceItems(body, topic));
      return Array.isArray(body) ? results : results[0];
    },
    "produce/2": async ({ params: [topic, value], query }) => {
      const [result] = await produce(log, produceItems({ value, key: query.get("key") ?? undefined }, topic));
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

/**
 * Append messages and answer once all are durable. Topics and partitions are resolved and checked for every
 * message first, so a bad one rejects the request before anything is written; then all appends are queued in
 * one synchronous pass, so messages of one request that share a partition get consecutive offsets in order.
 */
async function produce(
  log: LogStore,
  items: ProduceItem[],
): Promise<Array<{ topic: string; partition: number; offset: number; timestamp: number }>> {
  const resolved = await Promise.all(
    items.map(async (item) => ({ item, topic: await log.ensureTopic(item.topic) })),
  );
  const targets = resolved.map(({ item, topic }) => ({ item, partition: targetPartition(topic, item) }));
  const now = Date.now();
  return Promise.all(
    targets.map(async ({ item, partition }) => {
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

function existingPartition(log: LogStore, topicName: string, partition: number): PartitionLog {
  const found = log.get(topicName)?.partitions[partition];
  if (found === undefined) throw new ApiError(404, `unknown topic partition ${topicName}/${partition}`);
  return found;
}

/** The Fetch API: read from explicit offsets, waiting up to the timeout when there is nothing yet. */
async function fetchMessages(log: LogStore, body: unknown, signal: AbortSignal): Promise<Message[]> {
  const { items, timeoutMs } = fetchBody(body);
  // Auto-created like on consume, so fetching a topic before its first produce waits instead of failing.
  await Promise.all(items.map((item) => log.ensureTopic(item.topic)));
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
