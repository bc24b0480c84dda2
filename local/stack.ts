import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { createConnection } from "mysql2/promise";
import { ensureChatTable } from "../workers/lib/chat-table.ts";
import { createDynamo } from "../workers/lib/dynamo.ts";
import { type DynamoStandin, startDynamoStandin } from "./dynamo/server.ts";
import { type FcmStandin, startFcmStandin } from "./fcm/server.ts";
import {
  type LocalServiceAccount,
  loadOrCreateServiceAccount,
  serviceAccountJson,
} from "./fcm/service-account.ts";
import { CHAT_TOPICS, createKafkaTopic } from "./kafka-rest/admin.ts";
import { type KafkaStandin, startKafkaStandin } from "./kafka-rest/server.ts";
import { applyMigrations } from "./migrate.ts";
import { type PlanetscaleStandin, startPlanetscaleStandin } from "./planetscale/server.ts";
import { RespConnection } from "./resp.ts";
import { ensureRunning, MARIADB, REDIS } from "./system-services.ts";
import { type RedisStandin, startRedisStandin } from "./upstash-redis/server.ts";

/**
 * The whole local stack: the real engines (MariaDB, Redis) and the HTTP stand-ins in front of them.
 * `npm run dev` and the vitest global setup both start it through here, so they cannot drift apart.
 */
export interface StackConfig {
  database: string;
  redisPrefix: string;
  dynamoTable: string;
  kafkaDataDir: string;
  /** LevelDB folder for dynalite; undefined keeps DynamoDB in memory. */
  dynamoPath?: string;
  ports: { planetscale: number; redis: number; kafka: number; dynamo: number };
  /** Push stand-in: port (default 0, a free one) and where to keep its service-account key (default: a new key per start). */
  fcm?: { port?: number; keyFile?: string };
  credentials: {
    dbUser: string;
    dbPassword: string;
    redisToken: string;
    kafkaUser: string;
    kafkaPassword: string;
    awsAccessKeyId: string;
    awsSecretAccessKey: string;
  };
  log?: (line: string) => void;
  /**
   * Delay per request added by the PlanetScale and Upstash stand-ins, as production's network hop
   * to the database region adds it (default: STANDIN_LATENCY_MS, else 0). `setLatency` changes it live.
   */
  latencyMs?: number;
}

export const MYSQL = { host: "127.0.0.1", port: 3306, user: "root", password: "" };

const REDIS_SERVER = { host: "127.0.0.1", port: 6379 };
/** Enough for a few stacks' stand-in pools side by side (see Stack.start). */
const MAX_CONNECTIONS = 1000;
const AWS_REGION = "ap-northeast-2";

export const randomSecret = () => randomBytes(24).toString("hex");

/**
 * A stack no other run shares: its own database, Redis prefix and DynamoDB table (named after `tag`
 * and a run id), its Kafka log (and, with `dynamoOnDisk`, DynamoDB's LevelDB) under `work`, fresh
 * random credentials. The tests, the benchmarks and the browser tests each start one.
 */
export function privateStack(tag: string, work: string, opts: { dynamoOnDisk?: boolean } = {}): Stack {
  const id = `${Date.now().toString(36)}${randomBytes(3).toString("hex")}`;
  return new Stack({
    database: `somsom_${tag}_${id}`,
    redisPrefix: `${tag}:${id}:`,
    dynamoTable: `${tag}_${id}`,
    kafkaDataDir: join(work, "kafka"),
    dynamoPath: opts.dynamoOnDisk ? join(work, "dynamo") : undefined,
    ports: { planetscale: 0, redis: 0, kafka: 0, dynamo: 0 },
    credentials: {
      dbUser: tag,
      dbPassword: randomSecret(),
      redisToken: randomSecret(),
      kafkaUser: tag,
      kafkaPassword: randomSecret(),
      awsAccessKeyId: tag,
      awsSecretAccessKey: randomSecret(),
    },
  });
}

export type StandinName = "planetscale" | "redis" | "kafka" | "dynamo" | "fcm";
const STANDINS = ["planetscale", "redis", "kafka", "dynamo", "fcm"] as const;

export class Stack {
  readonly config: StackConfig;
  planetscale?: PlanetscaleStandin;
  redis?: RedisStandin;
  kafka?: KafkaStandin;
  dynamo?: DynamoStandin;
  fcm?: FcmStandin;
  fcmAccount?: LocalServiceAccount;

  latencyMs: number;

  constructor(config: StackConfig) {
    this.config = config;
    this.latencyMs = config.latencyMs ?? (Number(process.env.STANDIN_LATENCY_MS) || 0);
  }

  /** Worker bindings that point the official clients at this stack. */
  get bindings(): Record<string, string> {
    const { credentials: cr } = this.config;
    const must = <T>(x: T | undefined, what: string): T => {
      if (!x) throw new Error(`${what} is not running`);
      return x;
    };
    return {
      DATABASE_URL: must(this.planetscale, "planetscale").url,
      REDIS_URL: must(this.redis, "redis").url,
      REDIS_TOKEN: cr.redisToken,
      REDIS_PREFIX: this.config.redisPrefix,
      KAFKA_URL: must(this.kafka, "kafka").url,
      KAFKA_USERNAME: cr.kafkaUser,
      KAFKA_PASSWORD: cr.kafkaPassword,
      // The table below is created with TTL on this attribute, so every item must carry it.
      CHAT_TTL_ATTRIBUTE: "expiresAt",
      DYNAMO_ENDPOINT: must(this.dynamo, "dynamo").endpoint,
      DYNAMO_TABLE: this.config.dynamoTable,
      AWS_REGION,
      AWS_ACCESS_KEY_ID: cr.awsAccessKeyId,
      AWS_SECRET_ACCESS_KEY: cr.awsSecretAccessKey,
      FCM_ENDPOINT: must(this.fcm, "fcm").url,
      FCM_TOKEN_URL: must(this.fcm, "fcm").tokenUrl,
      FCM_SERVICE_ACCOUNT_JSON: serviceAccountJson(
        must(this.fcmAccount, "fcm"),
        must(this.fcm, "fcm").tokenUrl,
      ),
    };
  }

  async start(): Promise<this> {
    const log = this.config.log ?? (() => {});
    await ensureRunning(MARIADB);
    await ensureRunning(REDIS);
    const mysql = await createConnection(MYSQL);
    await mysql.query(
      `create database if not exists \`${this.config.database}\` character set utf8mb4 collate utf8mb4_unicode_ci`,
    );
    // Each stack's PlanetScale stand-in pools up to 40 connections, and a test run, a benchmark and
    // `npm run dev` may share this server: MariaDB's default of 151 then refuses some ("Too many
    // connections"), which production's pooled PlanetScale never does. A local server only.
    await mysql
      .query(`set global max_connections = greatest(@@global.max_connections, ${MAX_CONNECTIONS})`)
      .catch((err: unknown) => log(`max_connections left as it is: ${String(err)}`));
    await mysql.end();
    this.fcmAccount = await loadOrCreateServiceAccount(this.config.fcm?.keyFile);
    for (const name of STANDINS) await this.startStandin(name);
    // The operator's step: produce never creates a topic (see local/kafka-rest/server.ts).
    const kafkaAuth = {
      username: this.config.credentials.kafkaUser,
      password: this.config.credentials.kafkaPassword,
    };
    for (const topic of CHAT_TOPICS)
      await createKafkaTopic(this.bindings.KAFKA_URL as string, kafkaAuth, topic);
    const migrated = await applyMigrations(this.bindings.DATABASE_URL as string, log);
    if (migrated.length) log(`migrations applied: ${migrated.join(", ")}`);
    const b = this.bindings;
    const dynamo = createDynamo({
      endpoint: b.DYNAMO_ENDPOINT as string,
      region: AWS_REGION,
      accessKeyId: this.config.credentials.awsAccessKeyId,
      secretAccessKey: this.config.credentials.awsSecretAccessKey,
    });
    await ensureChatTable(dynamo, this.config.dynamoTable, { ttlAttribute: "expiresAt" });
    return this;
  }

  /** Starts one stand-in on its configured port (or the port it had, so a restart keeps its URL). */
  async startStandin(
    name: StandinName,
    overrides: { mysqlPort?: number; redisPort?: number } = {},
  ): Promise<void> {
    const { ports, credentials: cr } = this.config;
    switch (name) {
      case "planetscale":
        this.planetscale = await startPlanetscaleStandin({
          port: this.planetscale?.port ?? ports.planetscale,
          mysql: { ...MYSQL, port: overrides.mysqlPort ?? MYSQL.port },
          database: this.config.database,
          latencyMs: this.latencyMs,
          username: cr.dbUser,
          password: cr.dbPassword,
        });
        break;
      case "redis":
        this.redis = await startRedisStandin({
          port: this.redis?.port ?? ports.redis,
          redis: { ...REDIS_SERVER, port: overrides.redisPort ?? REDIS_SERVER.port },
          token: cr.redisToken,
          latencyMs: this.latencyMs,
        });
        break;
      case "kafka":
        this.kafka = await startKafkaStandin({
          port: this.kafka?.port ?? ports.kafka,
          dataDir: this.config.kafkaDataDir,
          username: cr.kafkaUser,
          password: cr.kafkaPassword,
        });
        break;
      case "dynamo":
        this.dynamo = await startDynamoStandin({
          port: this.dynamo?.port ?? ports.dynamo,
          ...(this.config.dynamoPath ? { path: this.config.dynamoPath } : {}),
        });
        break;
      case "fcm": {
        const account = this.fcmAccount ?? (await loadOrCreateServiceAccount(this.config.fcm?.keyFile));
        this.fcmAccount = account;
        this.fcm = await startFcmStandin({
          port: this.fcm?.port ?? this.config.fcm?.port ?? 0,
          projectId: account.projectId,
          serviceAccount: { clientEmail: account.clientEmail, publicKeyPem: account.publicKeyPem },
        });
        break;
      }
    }
  }

  /** The injected round trip of the database and Redis stand-ins, from now on (benchmarks compare 0 and 20 ms). */
  setLatency(ms: number): void {
    this.latencyMs = ms;
    this.planetscale?.setLatency(ms);
    this.redis?.setLatency(ms);
  }

  async stopStandin(name: StandinName): Promise<void> {
    await this[name]?.close();
  }

  async stop(): Promise<void> {
    await Promise.allSettled(STANDINS.map((n) => this.stopStandin(n)));
  }

  /** Removes everything this stack wrote to the shared engines (test runs). */
  async dropData(): Promise<void> {
    const mysql = await createConnection(MYSQL);
    await mysql.query(`drop database if exists \`${this.config.database}\``);
    await mysql.end();
    await flushRedisPrefix(this.config.redisPrefix);
  }
}

/** Deletes every key under a prefix (a test run's keys, or the dev data on --reset). */
export async function flushRedisPrefix(prefix: string) {
  const conn = await RespConnection.connect({ host: "127.0.0.1", port: 6379 });
  let cursor = "0";
  do {
    const [next, keys] = (await conn.send(["SCAN", cursor, "MATCH", `${prefix}*`, "COUNT", "500"])) as [
      Buffer,
      Buffer[],
    ];
    cursor = next.toString();
    if (keys.length) await conn.send(["DEL", ...keys]);
  } while (cursor !== "0");
  conn.close();
}
