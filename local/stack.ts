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
}

export const MYSQL = { host: "127.0.0.1", port: 3306, user: "root", password: "" };
const REDIS_SERVER = { host: "127.0.0.1", port: 6379 };
const AWS_REGION = "ap-northeast-2";

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

  constructor(config: StackConfig) {
    this.config = config;
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
    await mysql.end();
    this.fcmAccount = await loadOrCreateServiceAccount(this.config.fcm?.keyFile);
    for (const name of STANDINS) await this.startStandin(name);
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
  async startStandin(name: StandinName, overrides: { mysqlPort?: number } = {}): Promise<void> {
    const { ports, credentials: cr } = this.config;
    switch (name) {
      case "planetscale":
        this.planetscale = await startPlanetscaleStandin({
          port: this.planetscale?.port ?? ports.planetscale,
          mysql: { ...MYSQL, port: overrides.mysqlPort ?? MYSQL.port },
          database: this.config.database,
          username: cr.dbUser,
          password: cr.dbPassword,
        });
        break;
      case "redis":
        this.redis = await startRedisStandin({
          port: this.redis?.port ?? ports.redis,
          redis: REDIS_SERVER,
          token: cr.redisToken,
        });
        break;
      case "kafka":
        this.kafka = await startKafkaStandin({
          port: this.kafka?.port ?? ports.kafka,
          dataDir: this.config.kafkaDataDir,
          username: cr.kafkaUser,
          password: cr.kafkaPassword,
          topics: ["chat-messages"],
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
