import { KafkaError } from "./error";
import type { KafkaConfig, KafkaLog, KafkaRecord } from "./index";

/**
 * KafkaLog in Upstash's Kafka REST dialect: `produce`, `consume/{group}/{instance}`, `commit/...`,
 * `delete-consumer/...`, Basic auth, JSON bodies, errors as `{error, status}`.
 *
 * Why not `services.kafka` (@upstash/kafka 1.3.5): its client retries every failed call 5 times with
 * backoff (~15 s) before it throws, has no option to turn that down or to set a timeout, and takes no
 * custom fetch. A room object draining its outbox and the consumer cron own their backoff (they know
 * whether to wait 1 s or 60 s, and must not sit in one call while Kafka hangs), so they speak the same
 * documented REST endpoints directly.
 */

/** Slack on top of a long poll's own wait before the request counts as hung. */
const POLL_SLACK_MS = 5_000;
const CALL_TIMEOUT_MS = 5_000;

export function createUpstashKafka(cfg: KafkaConfig): KafkaLog {
  const base = cfg.url.replace(/\/+$/, "");
  const credentials = new TextEncoder().encode(`${cfg.username}:${cfg.password}`);
  const authorization = `Basic ${btoa(String.fromCharCode(...credentials))}`;

  async function call<T>(
    path: string[],
    body: unknown,
    timeoutMs: number,
    headers: Record<string, string> = {},
  ): Promise<T> {
    const what = path[0] ?? "call";
    let res: Response;
    try {
      res = await fetch([base, ...path.map(encodeURIComponent)].join("/"), {
        method: "POST",
        headers: { authorization, "content-type": "application/json", ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      throw new KafkaError(`Kafka ${what} failed: ${err instanceof Error ? err.message : err}`, 0, {
        cause: err,
      });
    }
    const text = await res.text().catch(() => "");
    if (!res.ok) {
      let message = text.slice(0, 200);
      try {
        message = (JSON.parse(text) as { error?: string }).error ?? message;
      } catch {}
      throw new KafkaError(`Kafka ${what} answered ${res.status}: ${message}`, res.status);
    }
    try {
      return JSON.parse(text) as T;
    } catch (err) {
      throw new KafkaError(`Kafka ${what}: unreadable answer`, res.status, { cause: err });
    }
  }

  return {
    async produce(topic, records, timeoutMs) {
      const body = records.map((r) => ({ topic, key: r.key, value: r.value }));
      if (body.length) await call(["produce"], body, timeoutMs);
    },
    consumer: ({ group, instanceId, topic }) => ({
      // Upstash creates the instance on its first consume.
      poll: (waitMs) =>
        call<KafkaRecord[]>(
          ["consume", group, instanceId],
          { topic, timeout: waitMs },
          waitMs + POLL_SLACK_MS,
          {
            "Kafka-Enable-Auto-Commit": "false",
            "Kafka-Auto-Offset-Reset": "earliest",
          },
        ),
      async commit(records) {
        const offsets = nextOffsets(records);
        if (offsets.length) await call(["commit", group, instanceId], offsets, CALL_TIMEOUT_MS);
      },
      async close() {
        await call(["delete-consumer", group, instanceId], undefined, CALL_TIMEOUT_MS);
      },
    }),
  };
}

/** Upstash commits name the next offset to read, per partition. */
function nextOffsets(records: readonly KafkaRecord[]) {
  const next = new Map<string, { topic: string; partition: number; offset: number }>();
  for (const r of records) {
    const key = `${r.topic}/${r.partition}`;
    const offset = Math.max(next.get(key)?.offset ?? 0, r.offset + 1);
    next.set(key, { topic: r.topic, partition: r.partition, offset });
  }
  return [...next.values()];
}
