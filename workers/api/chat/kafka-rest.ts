/**
 * The few Kafka REST calls the chat's persistence path makes, with a deadline on each and no retries.
 *
 * Why not `services.kafka` (@upstash/kafka 1.3.5): its client retries every failed call 5 times with
 * backoff (~15 s) before it throws, has no option to turn that down or to set a timeout, and takes no
 * custom fetch. A room object draining its outbox and the consumer cron own their backoff (they know
 * whether to wait 1 s or 60 s, and must not sit in one call while Kafka hangs), so they speak the same
 * documented REST endpoints directly: `produce`, `consume/{group}/{instance}`, `commit/...`,
 * `delete-consumer/...`, Basic auth, JSON bodies, errors as `{error, status}`.
 */

export interface KafkaRestConfig {
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

export interface PartitionOffset {
  topic: string;
  partition: number;
  offset: number;
}

/** Any failed call: network, timeout, or a non-2xx answer (`status` 0 when there was no answer). */
export class KafkaRestError extends Error {
  readonly status: number;
  constructor(message: string, status: number, options?: ErrorOptions) {
    super(message, options);
    this.name = "KafkaRestError";
    this.status = status;
  }
}

export interface KafkaRest {
  /** Appends records in order (records sharing a key keep their order); resolves once Kafka has them. */
  produce(records: { topic: string; key: string; value: string }[], timeoutMs: number): Promise<void>;
  /** One long poll of a consumer-group instance; explicit commits only, new groups start at the earliest. */
  consume(group: string, instanceId: string, topic: string, waitMs: number): Promise<KafkaRecord[]>;
  /** Offsets are "next to read": commit a record's offset + 1. */
  commit(group: string, instanceId: string, offsets: PartitionOffset[]): Promise<void>;
  removeInstance(group: string, instanceId: string): Promise<void>;
}

/** Slack on top of a long poll's own wait before the request counts as hung. */
const POLL_SLACK_MS = 5_000;
const CALL_TIMEOUT_MS = 5_000;

export const kafkaRestConfig = (env: Env): KafkaRestConfig => ({
  url: env.KAFKA_URL,
  username: env.KAFKA_USERNAME,
  password: env.KAFKA_PASSWORD,
});

export function createKafkaRest(cfg: KafkaRestConfig): KafkaRest {
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
      throw new KafkaRestError(`Kafka ${what} failed: ${err instanceof Error ? err.message : err}`, 0, {
        cause: err,
      });
    }
    const text = await res.text().catch(() => "");
    if (!res.ok) {
      let message = text.slice(0, 200);
      try {
        message = (JSON.parse(text) as { error?: string }).error ?? message;
      } catch {}
      throw new KafkaRestError(`Kafka ${what} answered ${res.status}: ${message}`, res.status);
    }
    try {
      return JSON.parse(text) as T;
    } catch (err) {
      throw new KafkaRestError(`Kafka ${what}: unreadable answer`, res.status, { cause: err });
    }
  }

  return {
    async produce(records, timeoutMs) {
      if (records.length) await call(["produce"], records, timeoutMs);
    },
    consume: (group, instanceId, topic, waitMs) =>
      call<KafkaRecord[]>(
        ["consume", group, instanceId],
        { topic, timeout: waitMs },
        waitMs + POLL_SLACK_MS,
        {
          "Kafka-Enable-Auto-Commit": "false",
          "Kafka-Auto-Offset-Reset": "earliest",
        },
      ),
    async commit(group, instanceId, offsets) {
      if (offsets.length) await call(["commit", group, instanceId], offsets, CALL_TIMEOUT_MS);
    },
    async removeInstance(group, instanceId) {
      await call(["delete-consumer", group, instanceId], undefined, CALL_TIMEOUT_MS);
    },
  };
}
