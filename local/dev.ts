import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { copyFile, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { createConnection } from "mysql2/promise";
import { loadDevVars, ROOT, setDevVars } from "./dev-vars.ts";
import { seedDemoData } from "./seed.ts";
import { flushRedisPrefix, MYSQL, Stack } from "./stack.ts";

/**
 * `npm run dev`: the local stack (MariaDB + Redis + the four stand-ins), migrations, demo data,
 * then `wrangler dev` wired to it. Ctrl-C stops everything this started. `--reset` starts clean.
 */
const root = fileURLToPath(ROOT);
const dataDir = new URL(".local-data/", ROOT);
const reset = process.argv.includes("--reset");
const port = Number(process.env.PORT ?? 8787);
const DATABASE = "somsom_dev";
const log = (line: string) => console.log(`[dev] ${line}`);

async function ensureDevVars(): Promise<Record<string, string>> {
  const file = new URL(".dev.vars", ROOT);
  const existing = await loadDevVars(file);
  if (Object.keys(existing).length) return existing;
  await copyFile(new URL(".dev.vars.example", ROOT), file);
  // Real random secrets even locally, so a copied .dev.vars never carries a known key.
  const text = (await readFile(file, "utf8"))
    .replace(/^JWT_SECRET=.*$/m, `JWT_SECRET=${randomBytes(32).toString("hex")}`)
    .replace(/^CHECKIN_SECRET=.*$/m, `CHECKIN_SECRET=${randomBytes(32).toString("hex")}`);
  await writeFile(file, text);
  log("created .dev.vars from .dev.vars.example");
  return loadDevVars(file);
}

const portOf = (url: string | undefined, fallback: number) => (url ? Number(new URL(url).port) : fallback);

async function main() {
  if (reset) {
    await rm(dataDir, { recursive: true, force: true });
    const mysql = await createConnection(MYSQL).catch(() => undefined);
    await mysql?.query(`drop database if exists \`${DATABASE}\``);
    await mysql?.end();
    log("reset: local data removed");
  }
  await mkdir(dataDir, { recursive: true });
  const vars = await ensureDevVars();
  const db = new URL(vars.DATABASE_URL ?? "http://somsom:local@127.0.0.1:7101");
  const stack = new Stack({
    database: DATABASE,
    redisPrefix: "somsom:",
    dynamoTable: "somsom_chat_messages",
    kafkaDataDir: fileURLToPath(new URL("kafka/", dataDir)),
    dynamoPath: fileURLToPath(new URL("dynamo/", dataDir)),
    ports: {
      planetscale: portOf(vars.DATABASE_URL, 7101),
      redis: portOf(vars.REDIS_URL, 7102),
      kafka: portOf(vars.KAFKA_URL, 7103),
      dynamo: portOf(vars.DYNAMO_ENDPOINT, 7104),
    },
    fcm: {
      port: portOf(vars.FCM_ENDPOINT, 7105),
      keyFile: fileURLToPath(new URL("fcm-service-account.json", dataDir)),
    },
    credentials: {
      dbUser: decodeURIComponent(db.username),
      dbPassword: decodeURIComponent(db.password),
      redisToken: vars.REDIS_TOKEN ?? "",
      kafkaUser: vars.KAFKA_USERNAME ?? "",
      kafkaPassword: vars.KAFKA_PASSWORD ?? "",
      awsAccessKeyId: vars.AWS_ACCESS_KEY_ID ?? "local",
      awsSecretAccessKey: vars.AWS_SECRET_ACCESS_KEY ?? "local",
    },
    log,
  });
  if (reset) await flushRedisPrefix("somsom:");
  await stack.start();
  log("stand-ins up: PlanetScale, Upstash Redis, Kafka REST, DynamoDB, FCM");
  // The push key lives in the data dir; wrangler dev reads it (and the stand-in's URLs) from .dev.vars.
  const b = stack.bindings;
  const fcmVars = {
    FCM_ENDPOINT: b.FCM_ENDPOINT ?? "",
    FCM_TOKEN_URL: b.FCM_TOKEN_URL ?? "",
    FCM_SERVICE_ACCOUNT_JSON: b.FCM_SERVICE_ACCOUNT_JSON ?? "",
  };
  if (await setDevVars(fcmVars)) log("wrote the local FCM service account to .dev.vars");
  const seeded = await seedDemoData(stack.bindings.DATABASE_URL as string);
  if (seeded) log(seeded);

  const wrangler = spawn(
    "wrangler",
    [
      "dev",
      "--ip",
      "127.0.0.1",
      "--port",
      String(port),
      "--test-scheduled",
      "--persist-to",
      fileURLToPath(new URL("wrangler/", dataDir)),
      "--show-interactive-dev-session=false",
    ],
    // No network here for the `Request.cf` placeholder download: skip it instead of warning.
    {
      cwd: root,
      stdio: ["ignore", "inherit", "inherit"],
      env: { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false" },
    },
  );
  const base = `http://127.0.0.1:${port}`;
  // Miniflare does not fire cron triggers by itself: call the scheduled handler on a timer. Not through
  // /__scheduled: with the web app's [assets] that path is answered by the SPA fallback, never the Worker.
  const cron = setInterval(() => {
    fetch(`${base}/cdn-cgi/handler/scheduled?cron=${encodeURIComponent("* * * * *")}`).catch(() => {});
  }, 60_000);
  setTimeout(() => {
    log(`Web app     ${base}/`);
    log(`API         ${base}/v1/health`);
    log(`API docs    ${base}/v1/docs  (OpenAPI: ${base}/v1/openapi.json)`);
    log(`Chat        ws://127.0.0.1:${port}/v1/festivals/{id}/chat`);
    log("Ctrl-C stops everything started here.");
  }, 3_000);

  let stopping = false;
  const stop = async (code = 0) => {
    if (stopping) return;
    stopping = true;
    clearInterval(cron);
    wrangler.kill("SIGINT");
    await stack.stop();
    process.exit(code);
  };
  process.on("SIGINT", () => void stop());
  process.on("SIGTERM", () => void stop());
  wrangler.on("exit", (code) => void stop(code ?? 0));
}

main().catch((err) => {
  console.error(`[dev] ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
