import { KafkaError } from "./error";
import { base64ToUtf8, basicAuth, kafkaFetch, utf8ToBase64 } from "./http";
import type { KafkaConfig, KafkaConsumer, KafkaLog, KafkaRecord } from "./index";
import { nextOffsets } from "./offsets";

/**
 * KafkaLog in the Confluent REST Proxy API v2, which Confluent's REST Proxy, Aiven's Karapace and
 * Redpanda's HTTP Proxy all serve in front of a real Kafka. Shapes from the Confluent REST Proxy API
 * v2 reference (docs.confluent.io/platform/current/kafka-rest/api.html, "API v2") and Redpanda's HTTP
 * Proxy reference (docs.redpanda.com/api/doc/http-proxy/):
 *
 *   produce   POST /topics/{topic}  (Content-Type application/vnd.kafka.binary.v2+json)
 *             {records: [{key, value}]} → {offsets: [{partition, offset, error_code, error}]}; a 200 can
 *             still carry a per-record error (error_code 1 = not retriable, 2 = retriable)
 *   consume   POST /consumers/{group} {name, format, auto.offset.reset, auto.commit.enable}
 *             → {instance_id, base_uri}; then, always on that base_uri (an instance lives in one proxy
 *             node; behind a load balancer only its base_uri reaches it):
 *             POST {base_uri}/subscription {topics}; GET {base_uri}/records?timeout=&max_bytes=
 *             → [{topic, key, value, partition, offset}]; POST {base_uri}/offsets; DELETE {base_uri}
 *   errors    {error_code, message}: 40401 unknown topic, 40403 unknown consumer instance
 *
 * Instances are proxy state that expires after idling (consumer.instance.timeout.ms, 5 min by
 * default) or with a proxy restart: a 40403 makes the consumer create a new one, which starts from
 * the group's committed offsets (what the old one read but did not commit is read again).
 *
 * The binary format (base64 keys and values) and not the json one: a record that is not JSON would
 * make every GET records of its partition fail on the proxy, a poison record nobody could skip.
 *
 * Offset commits are where the proxies differ: Confluent's and Karapace's take {offsets} naming the
 * last record read and add one themselves (kafka-rest KafkaConsumerState.commitOffsets, Karapace
 * consumer_manager.commit_offsets); Redpanda's take {partitions} naming the next offset to read, as
 * Kafka stores it (pandaproxy/json/requests/partition_offsets.h, redpanda#9849). Hence "v2-redpanda".
 */

const V2 = "application/vnd.kafka.v2+json";
const BINARY = "application/vnd.kafka.binary.v2+json";
/** Slack on top of a long poll's own wait before the request counts as hung. */
const POLL_SLACK_MS = 5_000;
const CALL_TIMEOUT_MS = 5_000;
/** Bounds one GET records answer (and the Worker's memory); 500 chat records are well under it. */
const MAX_BYTES = 4 * 1024 * 1024;

interface ProduceAnswer {
  offsets?: { partition: number; offset: number; error_code?: number | null; error?: string | null }[];
}

interface WireRecord {
  topic: string;
  key: string | null;
  value: string | null;
  partition: number;
  offset: number;
}

export function createV2Kafka(cfg: KafkaConfig): KafkaLog {
  const base = cfg.url.replace(/\/+$/, "");
  const authorization = basicAuth(cfg.username, cfg.password);
  const call = <T>(
    what: string,
    method: string,
    url: string,
    opts: { body?: unknown; type?: string; accept?: string; timeoutMs?: number } = {},
  ) =>
    kafkaFetch<T>(
      what,
      url,
      {
        method,
        headers: {
          authorization,
          accept: opts.accept ?? V2,
          ...(opts.body === undefined ? {} : { "content-type": opts.type ?? V2 }),
        },
        body: opts.body,
      },
      opts.timeoutMs ?? CALL_TIMEOUT_MS,
    );
  const topicUrl = (topic: string) => `${base}/topics/${encodeURIComponent(topic)}`;

  async function drop(uri: string) {
    try {
      await call("delete consumer", "DELETE", uri);
    } catch (err) {
      if (!(err instanceof KafkaError && err.status === 404)) throw err;
    }
  }

  function consumer({ group, instanceId, topic }: { group: string; instanceId: string; topic: string }) {
    let uri: string | undefined;
    let generation = 0;

    async function create(): Promise<string> {
      // A new name per instance: a create whose answer was lost must not make the next one a 409.
      generation += 1;
      const created = await call<{ instance_id: string; base_uri: string }>(
        "create consumer",
        "POST",
        `${base}/consumers/${encodeURIComponent(group)}`,
        {
          body: {
            name: `${instanceId}-${generation}`,
            format: "binary",
            "auto.offset.reset": "earliest",
            "auto.commit.enable": "false",
            // Asks a GET records to answer once it has any record: Confluent's proxy otherwise
            // collects until consumer.request.timeout.ms (1 s by default; KafkaConsumerReadTask), up
            // to that much more on every message's way into DynamoDB. Recent Confluent versions take
            // it from the proxy's own fetch.min.bytes setting instead (README). A string, as
            // Redpanda's reference types it.
            "fetch.min.bytes": "1",
          },
        },
      );
      if (!created?.base_uri) throw new KafkaError("Kafka create consumer: no base_uri in the answer", 200);
      const at = new URL(created.base_uri, `${base}/`).href;
      try {
        await call("subscribe", "POST", `${at}/subscription`, { body: { topics: [topic] } });
      } catch (err) {
        await drop(at).catch(() => {});
        throw err;
      }
      uri = at;
      return at;
    }

    async function fetchRecords(at: string, waitMs: number): Promise<KafkaRecord[]> {
      const answer = await call<WireRecord[] | { records?: WireRecord[] }>(
        "poll",
        "GET",
        `${at}/records?timeout=${Math.max(0, Math.round(waitMs))}&max_bytes=${MAX_BYTES}`,
        { accept: BINARY, timeoutMs: waitMs + POLL_SLACK_MS },
      );
      const records = Array.isArray(answer) ? answer : (answer?.records ?? []);
      return records.map((r) => ({
        topic: r.topic,
        partition: r.partition,
        offset: r.offset,
        key: r.key === null ? "" : base64ToUtf8(r.key),
        value: r.value === null ? "" : base64ToUtf8(r.value),
      }));
    }

    const member: KafkaConsumer = {
      get ref() {
        return uri;
      },
      async poll(waitMs) {
        const at = uri ?? (await create());
        try {
          return await fetchRecords(at, waitMs);
        } catch (err) {
          if (!(err instanceof KafkaError && err.instanceGone)) throw err;
          // Expired or lost with its proxy node: a new member resumes from the committed offsets.
          uri = undefined;
          return fetchRecords(await create(), waitMs);
        }
      },
      async commit(records) {
        const next = nextOffsets(records);
        if (!next.length) return;
        if (!uri) throw new KafkaError("Kafka commit: the consumer instance is gone", 404, { code: 40403 });
        const body =
          cfg.dialect === "v2-redpanda"
            ? { partitions: next }
            : { offsets: next.map((o) => ({ ...o, offset: o.offset - 1 })) };
        try {
          await call("commit", "POST", `${uri}/offsets`, { body });
        } catch (err) {
          if (err instanceof KafkaError && err.instanceGone) uri = undefined;
          throw err;
        }
      },
      async close() {
        const at = uri;
        uri = undefined;
        if (at) await drop(at);
      },
    };
    return member;
  }

  return {
    async produce(topic, records, timeoutMs) {
      if (!records.length) return;
      const answer = await call<ProduceAnswer>("produce", "POST", topicUrl(topic), {
        type: BINARY,
        body: { records: records.map((r) => ({ key: utf8ToBase64(r.key), value: utf8ToBase64(r.value) })) },
        timeoutMs,
      });
      const failed = answer?.offsets?.find((o) => o.error_code != null);
      if (failed) {
        // 1: Kafka refused the record for good (e.g. too large); 2: worth retrying.
        const status = failed.error_code === 1 ? 422 : 503;
        throw new KafkaError(`Kafka produce: a record failed: ${failed.error ?? failed.error_code}`, status, {
          code: failed.error_code ?? undefined,
        });
      }
    },
    consumer,
    dropConsumer: drop,
    async partitionOffsets(topic, timeoutMs) {
      const partitions =
        (await call<{ partition: number }[]>("partitions", "GET", `${topicUrl(topic)}/partitions`, {
          timeoutMs,
        })) ?? [];
      const ends = await Promise.all(
        partitions.map(async ({ partition }) => {
          // {beginning_offset, end_offset}: Confluent's GET /topics/{t}/partitions/{p}/offsets.
          const o = await call<{ beginning_offset: number; end_offset: number }>(
            "partition offsets",
            "GET",
            `${topicUrl(topic)}/partitions/${partition}/offsets`,
            { timeoutMs },
          );
          return [partition, { start: o?.beginning_offset ?? 0, end: o?.end_offset ?? 0 }] as const;
        }),
      );
      return new Map(ends);
    },
    async ping(topic, timeoutMs) {
      await call("topic", "GET", topicUrl(topic), { timeoutMs });
    },
  };
}
