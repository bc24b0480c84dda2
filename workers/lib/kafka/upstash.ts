import { KafkaError } from "./error";
import { basicAuth, kafkaFetch } from "./http";
import type { KafkaConfig, KafkaLog, KafkaRecord } from "./index";
import { nextOffsets } from "./offsets";

/**
 * KafkaLog in Upstash's Kafka REST dialect: `produce`, `consume/{group}/{instance}`, `commit/...`,
 * `delete-consumer/...`, `topics`, `offsets/latest`, Basic auth, JSON bodies, errors as `{error, status}`.
 * Upstash's hosted Kafka closed in March 2025; this stays for any endpoint that still speaks it.
 *
 * Why not @upstash/kafka (1.3.5): its client retries every failed call 5 times with backoff (~15 s)
 * before it throws, has no option to turn that down or to set a timeout, and takes no custom fetch.
 * A room object draining its outbox and the consumer cron own their backoff (they know whether to
 * wait 1 s or 60 s, and must not sit in one call while Kafka hangs), so they speak the same
 * documented REST endpoints directly. (The stand-in's conformance test still drives it with that
 * client, so the dialect stays the one it speaks.)
 */

/** Slack on top of a long poll's own wait before the request counts as hung. */
const POLL_SLACK_MS = 5_000;
const CALL_TIMEOUT_MS = 5_000;

export function createUpstashKafka(cfg: KafkaConfig): KafkaLog {
  const base = cfg.url.replace(/\/+$/, "");
  const authorization = basicAuth(cfg.username, cfg.password);

  const call = <T>(
    path: string[],
    body: unknown,
    timeoutMs: number,
    headers: Record<string, string> = {},
    method = "POST",
  ) =>
    kafkaFetch<T>(
      path[0] ?? "call",
      [base, ...path.map(encodeURIComponent)].join("/"),
      { method, headers: { authorization, "content-type": "application/json", ...headers }, body },
      timeoutMs,
    );

  const topics = async (timeoutMs: number) =>
    (await call<Record<string, number>>(["topics"], undefined, timeoutMs, {}, "GET")) ?? {};

  async function drop(group: string, instanceId: string) {
    try {
      await call(["delete-consumer", group, instanceId], undefined, CALL_TIMEOUT_MS);
    } catch (err) {
      if (!(err instanceof KafkaError && err.status === 404)) throw err;
    }
  }

  return {
    async produce(topic, records, timeoutMs) {
      const body = records.map((r) => ({ topic, key: r.key, value: r.value }));
      if (body.length) await call(["produce"], body, timeoutMs);
    },
    consumer: ({ group, instanceId, topic }) => {
      let polled = false;
      // After close() the next poll uses a new name: the old instance may have outlived a failed
      // delete with a fetch position past records the caller never received (a lost answer).
      let generation = 0;
      const name = () => (generation ? `${instanceId}-${generation}` : instanceId);
      return {
        get ref() {
          return polled ? `${group}/${name()}` : undefined;
        },
        // Upstash creates the instance on its first consume (and again after it was removed).
        async poll(waitMs) {
          polled = true;
          return (
            (await call<KafkaRecord[]>(
              ["consume", group, name()],
              { topic, timeout: waitMs },
              waitMs + POLL_SLACK_MS,
              { "Kafka-Enable-Auto-Commit": "false", "Kafka-Auto-Offset-Reset": "earliest" },
            )) ?? []
          );
        },
        // Upstash commits name the next offset to read, per partition.
        async commit(records) {
          const offsets = nextOffsets(records);
          if (offsets.length) await call(["commit", group, name()], offsets, CALL_TIMEOUT_MS);
        },
        async close() {
          const at = name();
          generation += 1;
          polled = false;
          await drop(group, at);
        },
      };
    },
    async dropConsumer(ref) {
      const [group = "", instanceId = ""] = ref.split("/");
      await drop(group, instanceId);
    },
    async partitionOffsets(topic, timeoutMs) {
      const count = (await topics(timeoutMs))[topic] ?? 0;
      const wanted = Array.from({ length: count }, (_, partition) => ({ topic, partition }));
      const at = async (which: "earliest" | "latest") =>
        new Map(
          count
            ? (
                (await call<{ partition: number; offset: number }[]>(
                  ["offsets", which],
                  wanted,
                  timeoutMs,
                )) ?? []
              ).map((o) => [o.partition, o.offset])
            : [],
        );
      const [earliest, latest] = await Promise.all([at("earliest"), at("latest")]);
      return new Map([...latest].map(([p, end]) => [p, { start: earliest.get(p) ?? 0, end }]));
    },
    async ping(topic, timeoutMs) {
      if (!(topic in (await topics(timeoutMs)))) {
        throw new KafkaError(`Kafka topic ${topic} does not exist`, 404);
      }
    },
  };
}
