import { type ChildProcess, spawn } from "node:child_process";
import { openSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "./http.ts";

/** `wrangler dev` as a child process on a private stack: what the benchmarks and the browser tests run. */
const root = fileURLToPath(new URL("../", import.meta.url));

export interface WranglerDevOptions {
  port: number;
  /** Its env file, log (`<port>.log`) and local state (`<port>/`) go here. */
  work: string;
  /** Bindings and secrets: through an env file, never the command line; it also keeps a developer's .dev.vars out. */
  vars?: Record<string, string>;
  /** More `wrangler dev` arguments, e.g. `--test-scheduled` or `-c other/wrangler.toml`. */
  args?: string[];
}

export async function wranglerDev(opts: WranglerDevOptions): Promise<ChildProcess> {
  const envFile = join(opts.work, `${opts.port}.env`);
  const logFd = openSync(join(opts.work, `${opts.port}.log`), "a");
  await writeFile(
    envFile,
    Object.entries(opts.vars ?? {})
      .map(([k, v]) => `${k}=${v}\n`)
      .join(""),
  );
  return spawn(
    join(root, "node_modules/.bin/wrangler"),
    [
      "dev",
      ...(opts.args ?? []),
      "--ip",
      "127.0.0.1",
      "--port",
      String(opts.port),
      // Two wrangler dev processes at once need distinct inspector ports.
      "--inspector-port",
      String(await freePort()),
      "--persist-to",
      join(opts.work, String(opts.port)),
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
}

/** What a `wrangler dev` wrote, for the error when it did not come up. */
export const wranglerLog = (opts: Pick<WranglerDevOptions, "port" | "work">) =>
  readFile(join(opts.work, `${opts.port}.log`), "utf8").catch(() => "");

/**
 * Resolves once `url` gives an answer `accept` takes (by default a 2xx); workerd's first start can take
 * a while on a busy machine.
 */
export async function waitHttp(
  url: string,
  timeoutMs = 60_000,
  accept: (res: Response) => boolean = (res) => res.ok,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
      await res.arrayBuffer();
      if (accept(res)) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} did not come up`);
}
