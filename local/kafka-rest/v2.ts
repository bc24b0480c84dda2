import { randomUUID } from "node:crypto";
import { ApiError, badRequest, unknownTopic } from "./errors.ts";
import type { ConsumerGroups, ConsumerSettings } from "./groups.ts";
import type { LogStore, Message } from "./log.ts";
import { append, existingPartition } from "./produce.ts";
import type { ProduceItem } from "./requests.ts";
import { queryTimeout, topicName, topicPartitionOffset } from "./requests.ts";
import type { Call, Handler } from "./server.ts";

/**
 * The Confluent REST Proxy API v2 (what Confluent's REST Proxy, Aiven's Karapace and Redpanda's HTTP
 * Proxy serve), over the same log and consumer groups as the Upstash dialect. Shapes from the Confluent
 * REST Proxy API v2 reference and Redpanda's HTTP Proxy reference:
 *
 *   GET  /topics · /topics/{t} · /topics/{t}/partitions · /topics/{t}/partitions/{p}/offsets
 *   POST /topics/{t}                 binary (base64) or json records → {offsets: [{partition, offset, error_code, error}]}
 *   POST /consumers/{g}              {name, format, auto.offset.reset, auto.commit.enable} → {instance_id, base_uri}
 *   POST {base_uri}/subscription     {topics}
 *   GET  {base_uri}/records          ?timeout=&max_bytes= (unencoded key + value bytes; the answer stops
 *                                    before the record that would reach it), Accept application/vnd.kafka.{format}.v2+json
 *   POST {base_uri}/offsets          {offsets} = last records read (Confluent, Karapace: +1 stored),
 *                                    {partitions} = next offsets (Redpanda: stored as given), none = all fetched
 *   DELETE {base_uri}
 *
 * Errors are `{error_code, message}`. Instances expire after `consumer.instance.timeout.ms` of idling
 * (ConsumerGroups.instanceTimeoutMs); the partitions are split between the live instances of a group
 * (./groups.ts). Deliberate simplification: a GET records answers as soon as it has records (as
 * Redpanda's does), where Confluent's keeps collecting until its timeout (at most
 * consumer.request.timeout.ms, 1 s by default) unless fetch.min.bytes is set or max_bytes is reached.
 */

type Format = "binary" | "json";

const instancePath = (group: string, name: string) =>
  `/consumers/${encodeURIComponent(group)}/instances/${encodeURIComponent(name)}`;

function asObject(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ApiError(422, `${what} must be a JSON object`, 42200);
  }
  return value as Record<string, unknown>;
}

const fromBase64 = (value: unknown, what: string): string | undefined => {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw new ApiError(422, `${what} must be base64`, 42205);
  return Buffer.from(value, "base64").toString("utf8");
};

/** The embedded format named by a `application/vnd.kafka.{format}.v2+json` media type. */
function formatOf(mediaType: string | undefined): Format | undefined {
  const match = /application\/vnd\.kafka\.(binary|json)\.v2\+json/.exec(mediaType ?? "");
  return match?.[1] as Format | undefined;
}

function produceItems(topic: string, format: Format, body: unknown): ProduceItem[] {
  const request = asObject(body, "the produce request");
  if (!Array.isArray(request.records) || request.records.length === 0) {
    throw new ApiError(422, "records must be a non-empty array", 42200);
  }
  return request.records.map((raw) => {
    const record = asObject(raw, "a record");
    const key = format === "binary" ? fromBase64(record.key, "key") : record.key;
    const value = format === "binary" ? fromBase64(record.value, "value") : record.value;
    const item: ProduceItem = {
      topic,
      value: typeof value === "string" && format === "binary" ? value : JSON.stringify(value ?? null),
      headers: [],
    };
    if (key !== undefined && key !== null) {
      item.key = typeof key === "string" && format === "binary" ? key : JSON.stringify(key);
    }
    if (typeof record.partition === "number") item.partition = record.partition;
    return item;
  });
}

function wireRecord(message: Message, format: Format) {
  const encode = (text: string) => {
    if (format === "binary") return Buffer.from(text, "utf8").toString("base64");
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new ApiError(500, `Error deserializing the record at offset ${message.offset} as JSON`, 50002);
    }
  };
  return {
    topic: message.topic,
    key: message.key === "" ? null : encode(message.key),
    value: encode(message.value),
    partition: message.partition,
    offset: message.offset,
  };
}

/** `max_bytes`: absent = unlimited (the reference's default); anything but a whole number is a 422. */
function queryMaxBytes(value: string | null): number {
  if (value === null || value === "") return Number.POSITIVE_INFINITY;
  if (!/^\d+$/.test(value)) throw new ApiError(422, "max_bytes must be a non-negative integer", 42200);
  return Number(value);
}

function consumerSettings(request: Record<string, unknown>): Partial<ConsumerSettings> {
  const settings: Partial<ConsumerSettings> = {};
  const reset = request["auto.offset.reset"];
  if (reset !== undefined) {
    if (reset !== "earliest" && reset !== "latest" && reset !== "none") {
      throw new ApiError(422, "auto.offset.reset must be earliest, latest or none", 42204);
    }
    settings.autoOffsetReset = reset;
  }
  const autoCommit = request["auto.commit.enable"];
  if (autoCommit !== undefined) settings.autoCommit = String(autoCommit) === "true";
  return settings;
}

/** `METHOD pattern` → handler; `{}` segments match anything and become params. */
export function v2Router(
  log: LogStore,
  groups: ConsumerGroups,
  limits: { maxRecordBytes: number },
): (method: string, segments: string[]) => Handler | undefined {
  const topic = (name = "") => {
    const found = log.get(name);
    if (found === undefined) throw unknownTopic(name);
    return found;
  };
  const partitionsOf = (name = "") =>
    topic(name).partitions.map((p) => ({
      partition: p.partition,
      leader: 0,
      replicas: [{ broker: 0, leader: true, in_sync: true }],
    }));

  const routes: Array<[string, string[], Handler]> = [
    ["GET", ["topics"], async () => Object.keys(log.partitionCounts())],
    [
      "GET",
      ["topics", "{}"],
      async ({ params: [name] }) => ({
        name,
        configs: {},
        partitions: partitionsOf(name),
      }),
    ],
    ["GET", ["topics", "{}", "partitions"], async ({ params: [name] }) => partitionsOf(name)],
    [
      "GET",
      ["topics", "{}", "partitions", "{}", "offsets"],
      async ({ params: [name = "", p] }) => ({
        beginning_offset: 0,
        end_offset: existingPartition(log, name, Number(p)).endOffset,
      }),
    ],
    [
      "POST",
      ["topics", "{}"],
      async ({ params: [name = ""], body, headers }) => {
        const format = formatOf(headers["content-type"]);
        if (!format)
          throw new ApiError(415, "Content-Type must be application/vnd.kafka.{binary,json}.v2+json", 41500);
        const results = await append(log, produceItems(topicName(name), format, body), limits.maxRecordBytes);
        return {
          key_schema_id: null,
          value_schema_id: null,
          offsets: results.map((r) =>
            "offset" in r
              ? { partition: r.partition, offset: r.offset, error_code: null, error: null }
              : // 1: a non-retriable Kafka exception (the record is too large), per the v2 reference.
                { partition: null, offset: null, error_code: 1, error: r.message },
          ),
        };
      },
    ],
    [
      "POST",
      ["consumers", "{}"],
      async ({ params: [group = ""], body, headers }) => {
        const request = asObject(body ?? {}, "the consumer request");
        const format = request.format ?? "binary";
        if (format !== "binary" && format !== "json") {
          throw new ApiError(422, `format ${String(format)} is not supported here`, 42204);
        }
        const name =
          typeof request.name === "string" && request.name ? request.name : `rest-consumer-${randomUUID()}`;
        await groups.create(group, name, consumerSettings(request), format);
        // Absolute, on the address the client reached: a proxy behind a load balancer advertises its own node.
        return {
          instance_id: name,
          base_uri: `http://${headers.host ?? "127.0.0.1"}${instancePath(group, name)}`,
        };
      },
    ],
    [
      "POST",
      ["consumers", "{}", "instances", "{}", "subscription"],
      async ({ params: [group = "", name = ""], body }) => {
        const instance = await groups.find(group, name);
        const request = asObject(body, "the subscription");
        if (!Array.isArray(request.topics) || request.topics.length === 0) {
          throw new ApiError(422, "topics must be a non-empty array", 42200);
        }
        instance.topics = [...new Set(request.topics.map(topicName))];
        return undefined;
      },
    ],
    [
      "GET",
      ["consumers", "{}", "instances", "{}", "records"],
      async ({ params: [group = "", name = ""], query, headers, signal }) => {
        const instance = await groups.find(group, name);
        const wanted = formatOf(headers.accept);
        if (wanted !== undefined && wanted !== instance.format) {
          throw new ApiError(406, `The instance's format is ${instance.format}, not ${wanted}`, 40601);
        }
        const maxBytes = queryMaxBytes(query.get("max_bytes"));
        const messages = await groups.poll(instance, queryTimeout(query.get("timeout")), signal, maxBytes);
        return messages.map((m) => wireRecord(m, instance.format));
      },
    ],
    [
      "POST",
      ["consumers", "{}", "instances", "{}", "offsets"],
      async ({ params: [group = "", name = ""], body }) => {
        await groups.find(group, name);
        const request = body === undefined ? {} : asObject(body, "the offsets");
        if (Array.isArray(request.offsets)) {
          // Confluent, Karapace: the last record read; Kafka stores the next one.
          const offsets = request.offsets
            .map(topicPartitionOffset)
            .map((o) => ({ ...o, offset: o.offset + 1 }));
          await groups.commit(group, name, offsets);
        } else if (Array.isArray(request.partitions)) {
          // Redpanda: the next offset to read, stored as given.
          await groups.commit(group, name, request.partitions.map(topicPartitionOffset));
        } else if (body === undefined) {
          await groups.commit(group, name, undefined);
        } else {
          throw badRequest("offsets (or partitions) must be an array");
        }
        return undefined;
      },
    ],
    [
      "DELETE",
      ["consumers", "{}", "instances", "{}"],
      async ({ params: [group = "", name = ""] }) => {
        await groups.find(group, name);
        await groups.remove(group, name);
        return undefined;
      },
    ],
  ];

  return (method, segments) => {
    for (const [m, pattern, handler] of routes) {
      if (m !== method || pattern.length !== segments.length) continue;
      if (pattern.every((p, i) => p === "{}" || p === segments[i])) {
        const params = segments.filter((_, i) => pattern[i] === "{}");
        return (call: Call) => handler({ ...call, params });
      }
    }
    return undefined;
  };
}
