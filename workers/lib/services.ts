import { Redis } from "@upstash/redis/cloudflare";
import { createDb, type Db } from "./db";
import { createDynamo, type Dynamo } from "./dynamo.ts";
import { createFcm, type Fcm } from "./fcm";
import { createKafkaLog, type KafkaLog, kafkaConfig } from "./kafka";
import { withSafeErrors } from "./redis-errors";

/** Every external dependency, built once per isolate from env so tests swap nothing but env. */
export interface Services {
  db: Db;
  redis: Redis;
  /** The chat log, in the REST dialect KAFKA_DIALECT names (./kafka). */
  kafka: KafkaLog;
  dynamo: Dynamo;
  /** Push (FCM HTTP v1); `enabled` is false when no service-account key is configured. */
  fcm: Fcm;
  /** Prefixes Redis keys so deployments (and test runs) sharing a Redis never see each other's data. */
  key: (...parts: (string | number)[]) => string;
  /** How long a rate-limit check waits for Redis before its policy decides (RATE_LIMIT_TIMEOUT_MS). */
  limitTimeoutMs: number;
}

const cache = new WeakMap<Env, Services>();

export function getServices(env: Env): Services {
  let services = cache.get(env);
  if (!services) {
    services = buildServices(env);
    cache.set(env, services);
  }
  return services;
}

function buildServices(env: Env): Services {
  const prefix = env.REDIS_PREFIX ?? "";
  return {
    db: createDb(env.DATABASE_URL),
    // No auto-pipelining: the client is shared by every request of the isolate, and a batch built
    // from several requests' commands would be one subrequest that workerd ties to a single request.
    // Errors rewritten to their code: the client's own text quotes the whole command (redis-errors.ts).
    // Answers as plain JSON strings, not base64: every value this app keeps in Redis is UTF-8 text
    // (numbers, ids, JSON), and decoding base64 (an atob and a TextDecoder per string) was ~3 % of
    // the Worker's CPU on sale day, where every request makes one Redis call.
    redis: withSafeErrors(
      new Redis({
        url: env.REDIS_URL,
        token: env.REDIS_TOKEN,
        automaticDeserialization: false,
        enableAutoPipelining: false,
        responseEncoding: false,
      }),
    ),
    kafka: createKafkaLog(kafkaConfig(env)),
    dynamo: createDynamo({
      endpoint: env.DYNAMO_ENDPOINT,
      region: env.AWS_REGION,
      accessKeyId: env.AWS_ACCESS_KEY_ID,
      secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
      ttlAttribute: env.CHAT_TTL_ATTRIBUTE || undefined,
    }),
    fcm: createFcm({
      endpoint: env.FCM_ENDPOINT,
      tokenUrl: env.FCM_TOKEN_URL,
      serviceAccountJson: env.FCM_SERVICE_ACCOUNT_JSON,
    }),
    key: (...parts) => prefix + parts.join(":"),
    limitTimeoutMs: Number(env.RATE_LIMIT_TIMEOUT_MS) || 1_000,
  };
}
