import type { IncomingHttpHeaders } from "node:http";
import { badRequest } from "./errors.ts";
import type { ConsumerSettings, OffsetReset, TopicPartition, TopicPartitionOffset } from "./groups.ts";
import type { Header } from "./log.ts";
import { isValidTopicName } from "./log.ts";

/**
 * Validation of the JSON bodies and headers `@upstash/kafka` sends (and the Upstash REST docs describe).
 * Anything malformed becomes a 400 before any state changes.
 */

export interface ProduceItem {
  topic: string;
  value: string;
  key?: string;
  partition?: number;
  timestamp?: number;
  headers: Header[];
}

export interface FetchItem {
  topic: string;
  partition: number;
  offset: number;
}

/** Upstash's default wait for fetch and consume. */
const DEFAULT_TIMEOUT_MS = 1000;
// Far beyond any sensible long poll; keeps a typo from parking a request for hours.
const MAX_TIMEOUT_MS = 5 * 60_000;

type Json = Record<string, unknown>;

function asObject(value: unknown, what: string): Json {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw badRequest(`${what} must be a JSON object`);
  }
  return value as Json;
}

/** Most endpoints take one object or an array of them. */
function asList(body: unknown, what: string): unknown[] {
  if (body === undefined) throw badRequest(`missing request body: ${what}`);
  return Array.isArray(body) ? body : [body];
}

export function topicName(value: unknown): string {
  if (typeof value !== "string" || !isValidTopicName(value)) {
    throw badRequest(`invalid topic name ${JSON.stringify(value)} (allowed: 1-249 of a-z A-Z 0-9 . _ -)`);
  }
  return value;
}

function nonNegativeInt(value: unknown, what: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw badRequest(`${what} must be a non-negative integer, got ${JSON.stringify(value)}`);
  }
  return value;
}

function timeout(value: unknown): number {
  if (value === undefined || value === null || value === "") return DEFAULT_TIMEOUT_MS;
  const ms = typeof value === "string" ? Number(value) : value;
  return Math.min(nonNegativeInt(ms, "timeout"), MAX_TIMEOUT_MS);
}

function headers(value: unknown): Header[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw badRequest("headers must be an array of {key, value}");
  return value.map((raw) => {
    const header = asObject(raw, "a header");
    if (typeof header.key !== "string" || typeof header.value !== "string") {
      throw badRequest("every header needs a string key and a string value");
    }
    return { key: header.key, value: header.value };
  });
}

/** One message of `POST /produce` (topic in the body) or `POST /produce/<topic>` (topic in the path). */
export function produceItem(raw: unknown, topicFromPath?: string): ProduceItem {
  const body = asObject(raw, "a message");
  if (body.value === undefined || body.value === null) throw badRequest("a message needs a value");
  const item: ProduceItem = {
    topic: topicName(topicFromPath ?? body.topic),
    // The client always sends a string; serialize anything else the way the client would have.
    value: typeof body.value === "string" ? body.value : JSON.stringify(body.value),
    headers: headers(body.headers),
  };
  if (body.key !== undefined && body.key !== null) {
    if (typeof body.key !== "string") throw badRequest("key must be a string");
    item.key = body.key;
  }
  if (body.partition !== undefined && body.partition !== null) {
    item.partition = nonNegativeInt(body.partition, "partition");
  }
  if (body.timestamp !== undefined && body.timestamp !== null) {
    item.timestamp = nonNegativeInt(body.timestamp, "timestamp");
  }
  return item;
}

export function produceItems(body: unknown, topicFromPath?: string): ProduceItem[] {
  const items = asList(body, "one message or an array of messages").map((raw) =>
    produceItem(raw, topicFromPath),
  );
  if (items.length === 0) throw badRequest("no messages to produce");
  return items;
}

/** `POST /consume/<group>/<instance>`: `{ topic }` or `{ topics }`, optional `timeout`. */
export function consumeBody(body: unknown): { topics: string[]; timeoutMs: number } {
  const request = asObject(body ?? {}, "the consume request");
  const names = request.topics ?? (request.topic === undefined ? undefined : [request.topic]);
  if (!Array.isArray(names) || names.length === 0) throw badRequest("consume needs topic or topics");
  return { topics: [...new Set(names.map(topicName))], timeoutMs: timeout(request.timeout) };
}

/** The consumer settings the client sends as headers; absent ones stay undefined (Kafka defaults apply). */
export function consumerSettings(requestHeaders: IncomingHttpHeaders): Partial<ConsumerSettings> {
  const settings: Partial<ConsumerSettings> = {};
  const autoCommit = requestHeaders["kafka-enable-auto-commit"];
  if (autoCommit !== undefined) {
    if (autoCommit !== "true" && autoCommit !== "false") {
      throw badRequest("Kafka-Enable-Auto-Commit must be true or false");
    }
    settings.autoCommit = autoCommit === "true";
  }
  const interval = requestHeaders["kafka-auto-commit-interval"];
  if (interval !== undefined) {
    settings.autoCommitIntervalMs = nonNegativeInt(Number(interval), "Kafka-Auto-Commit-Interval");
  }
  const reset = requestHeaders["kafka-auto-offset-reset"];
  if (reset !== undefined) {
    if (reset !== "earliest" && reset !== "latest" && reset !== "none") {
      throw badRequest("Kafka-Auto-Offset-Reset must be earliest, latest or none");
    }
    settings.autoOffsetReset = reset satisfies OffsetReset;
  }
  return settings;
}

export function topicPartition(raw: unknown): TopicPartition {
  const body = asObject(raw, "a topic partition");
  return { topic: topicName(body.topic), partition: nonNegativeInt(body.partition, "partition") };
}

export function topicPartitionOffset(raw: unknown): TopicPartitionOffset {
  const body = asObject(raw, "a topic partition offset");
  return { ...topicPartition(body), offset: nonNegativeInt(body.offset, "offset") };
}

/** `POST /commit`: no body means "everything fetched so far". */
export function commitBody(body: unknown): TopicPartitionOffset[] | undefined {
  if (body === undefined || body === null) return undefined;
  return asList(body, "offsets").map(topicPartitionOffset);
}

/** `POST /committed` and `POST /offsets`: one topic partition or an array; none means "all". */
export function topicPartitions(body: unknown): TopicPartition[] | undefined {
  if (body === undefined || body === null) return undefined;
  return asList(body, "topic partitions").map(topicPartition);
}

/** `POST /fetch`: a single topic/partition/offset, a `topicPartitionOffsets` list, or both. */
export function fetchBody(body: unknown): { items: FetchItem[]; timeoutMs: number } {
  const request = asObject(body, "the fetch request");
  const items: FetchItem[] = [];
  if (request.topic !== undefined) {
    items.push(
      topicPartitionOffset({
        topic: request.topic,
        partition: request.partition,
        offset: request.offset ?? 0,
      }),
    );
  }
  if (request.topicPartitionOffsets !== undefined) {
    if (!Array.isArray(request.topicPartitionOffsets))
      throw badRequest("topicPartitionOffsets must be an array");
    items.push(...request.topicPartitionOffsets.map(topicPartitionOffset));
  }
  if (items.length === 0) throw badRequest("fetch needs topic/partition/offset or topicPartitionOffsets");
  return { items, timeoutMs: timeout(request.timeout) };
}

export function queryTimeout(value: string | null): number {
  return timeout(value ?? undefined);
}
