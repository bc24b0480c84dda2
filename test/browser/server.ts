import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { upsertAdmin } from "../../local/admins.ts";
import { freePort } from "../../local/http.ts";
import { seedDemoData } from "../../local/seed.ts";
import { privateStack, randomSecret } from "../../local/stack.ts";
import { waitHttp, wranglerDev, wranglerLog } from "../../local/wrangler-dev.ts";

/**
 * The app as a browser meets it: a private local stack (own database, Redis prefix, Kafka log,
 * DynamoDB table) and `wrangler dev` serving the API and the built web app (web/dist) on a free port,
 * started the way `npm run dev` and the benchmarks start theirs.
 */
export interface AppServer {
  url: string;
  databaseUrl: string;
  stop(): Promise<void>;
}

export async function startAppServer(opts: { seed?: boolean } = {}): Promise<AppServer> {
  const work = await mkdtemp(join(tmpdir(), "somsom-web-"));
  const stack = privateStack("web", work);
  await stack.start();
  const databaseUrl = stack.bindings.DATABASE_URL as string;
  if (opts.seed) await seedDemoData(databaseUrl);
  const port = await freePort();
  const vars = { ...stack.bindings, JWT_SECRET: randomSecret(), CHECKIN_SECRET: randomSecret() };
  const wrangler = await wranglerDev({ port, work, vars, args: ["--test-scheduled"] });
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    wrangler.kill("SIGINT");
    await new Promise((r) => (wrangler.exitCode === null ? wrangler.once("exit", r) : r(null)));
    await stack.stop();
    await stack.dropData();
    await rm(work, { recursive: true, force: true });
  };
  try {
    // The machine is shared and busy: workerd's first start can take a while. Any answer means the
    // Worker serves; a degraded dependency (503) is the tests' business.
    await waitHttp(`${url}/v1/health`, 240_000, () => true);
  } catch (err) {
    console.error(`--- wrangler dev log\n${await wranglerLog({ port, work })}`);
    await stop();
    throw err;
  }
  return { url, databaseUrl, stop };
}

/** An admin made the way `npm run admin:create` makes one (sign-up never grants the role). */
export async function createAdmin(databaseUrl: string, email: string, password: string): Promise<void> {
  await upsertAdmin(databaseUrl, { email, password });
}
