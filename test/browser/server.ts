import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { openSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Client } from "@planetscale/database";
import { seedDemoData } from "../../local/seed.ts";
import { Stack } from "../../local/stack.ts";
import { hashPassword } from "../../workers/api/auth/password.ts";

/**
 * The app as a browser meets it: a private local stack (own database, Redis prefix, Kafka log,
 * DynamoDB table) and `wrangler dev` serving the API and the built web app (web/dist) on a free port,
 * started the way `npm run dev` and the benchmarks start theirs.
 */
const root = fileURLToPath(new URL("../../", import.meta.url));

export interface AppServer {
  url: string;
  databaseUrl: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

async function waitHttp(url: string, timeoutMs: number) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
      await res.arrayBuffer();
      // Any answer means the Worker serves; a degraded dependency (503) is the tests' business.
      return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} did not come up`);
}

export async function startAppServer(opts: { seed?: boolean } = {}): Promise<AppServer> {
  const id = `${Date.now().toString(36)}${randomBytes(2).toString("hex")}`;
  const work = await mkdtemp(join(tmpdir(), "somsom-web-"));
  const secret = () => randomBytes(16).toString("hex");
  const stack = new Stack({
    database: `somsom_web_${id}`,
    redisPrefix: `web:${id}:`,
    dynamoTable: `web_${id}`,
    kafkaDataDir: join(work, "kafka"),
    ports: { planetscale: 0, redis: 0, kafka: 0, dynamo: 0 },
    credentials: {
      dbUser: "web",
      dbPassword: secret(),
      redisToken: secret(),
      kafkaUser: "web",
      kafkaPassword: secret(),
      awsAccessKeyId: "web",
      awsSecretAccessKey: secret(),
    },
  });
  await stack.start();
  const databaseUrl = stack.bindings.DATABASE_URL as string;
  if (opts.seed) await seedDemoData(databaseUrl);
  const port = await freePort();
  // Secrets go through an env file (never the command line); it also keeps a developer's .dev.vars out.
  const envFile = join(work, "worker.env");
  const vars = { ...stack.bindings, JWT_SECRET: secret(), CHECKIN_SECRET: secret() };
  await writeFile(
    envFile,
    Object.entries(vars)
      .map(([k, v]) => `${k}=${v}\n`)
      .join(""),
  );
  const logFile = join(work, "wrangler.log");
  const logFd = openSync(logFile, "a");
  const wrangler: ChildProcess = spawn(
    join(root, "node_modules/.bin/wrangler"),
    [
      "dev",
      "--test-scheduled",
      "--ip",
      "127.0.0.1",
      "--port",
      String(port),
      "--inspector-port",
      String(await freePort()),
      "--persist-to",
      join(work, "wrangler"),
      "--env-file",
      envFile,
      "--show-interactive-dev-session=false",
      "--log-level",
      "error",
    ],
    {
      cwd: root,
      stdio: ["ignore", logFd, logFd],
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" },
    },
  );
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    wrangler.kill("SIGINT");
    await new Promise((r) => (wrangler.exitCode === null ? wrangler.once("exit", r) : r(null)));
    await stack.stop();
    await stack.dropData();
    await rm(work, { recursive: true, force: true });
  };
  try {
    // The machine is shared and busy: workerd's first start can take a while.
    await waitHttp(`${url}/v1/health`, 240_000);
  } catch (err) {
    console.error(`--- wrangler dev log\n${await readFile(logFile, "utf8").catch(() => "")}`);
    await stop();
    throw err;
  }
  return { url, databaseUrl, stop };
}

/** An admin made the way `npm run admin:create` makes one (sign-up never grants the role). */
export async function createAdmin(databaseUrl: string, email: string, password: string): Promise<void> {
  await new Client({ url: databaseUrl }).connection().execute(
    `insert into users (email, nickname, password_hash, role, reminder_offsets_hours, created_at, updated_at)
       values (?, 'admin', ?, 'admin', '[24,1]', utc_timestamp(3), utc_timestamp(3))`,
    [email, await hashPassword(password)],
  );
}
