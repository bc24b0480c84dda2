import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import os, { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { upsertAdmin } from "../local/admins.ts";
import { freePort } from "../local/http.ts";
import { randomSecret } from "../local/stack.ts";
import { type StackProcess, startStackProcess } from "../local/stack-process.ts";
import { waitHttp, wranglerDev, wranglerLog } from "../local/wrangler-dev.ts";

/** Shared plumbing of the benchmarks: a private stack, wrangler dev for the app and for hello-world, load, report. */
const ROOT = new URL("../", import.meta.url);

export interface BenchEnv {
  stack: StackProcess;
  appUrl: string;
  helloUrl: string;
  databaseUrl: string;
  /** The Worker's secrets, so a benchmark can mint tokens for many users without signing each up. */
  jwtSecret: string;
  /** Another baseline Worker (its wrangler config, e.g. bench/broadcast/wrangler.toml) on its own wrangler dev, stopped with the rest. */
  startWorker(config: string): Promise<string>;
  /**
   * The app again on its own `wrangler dev` and local state, with more vars (e.g. a chat room's
   * sharding): its URL, and `stop` to end it (the env's stop() ends it too).
   */
  startApp(vars: Record<string, string>): Promise<{ url: string; stop(): Promise<void> }>;
  stop(): Promise<void>;
}

/** `vars`: a benchmark's own Worker vars on top of wrangler.toml's (e.g. a raised chat send limit). */
export async function startBenchEnv(extraVars: Record<string, string> = {}): Promise<BenchEnv> {
  const work = await mkdtemp(join(tmpdir(), "somsom-bench-"));
  // Local observability off for every `wrangler dev` of the run, hello-world's included (README,
  // Benchmarks). Wrangler turns it on by default: every invocation then streams its trace events (each
  // subrequest's span, each log line) to a collector Worker in the same workerd process, on the thread
  // that also answers the requests; in production the platform collects them outside the isolate.
  // Measured in the reservations benchmark (the app's workerd, 0 ms): 16.8 s of CPU for the sale with
  // it, 11.3 s without; 23.9 s and 15.6 s for 5,000 confirmations. Hello-world gains as much or more
  // (its ceiling rose ~50 %), so the ratios do not improve by it: the absolute rates and latencies do.
  // BENCH_OBSERVABILITY=1 keeps it, to compare.
  if (!process.env.BENCH_OBSERVABILITY) process.env.X_LOCAL_OBSERVABILITY = "false";
  // Its own process: the load generator's event loop is not the stand-ins' (stack-process.ts).
  const stack = await startStackProcess("bench", work);
  const vars = {
    ...stack.bindings,
    JWT_SECRET: randomSecret(),
    CHECKIN_SECRET: randomSecret(),
    ...extraVars,
  };
  const ports = { app: await freePort(), hello: await freePort() };
  // --test-scheduled: a benchmark fires the cron jobs (chat consumer) through /cdn-cgi/handler/scheduled
  // (/__scheduled would be answered by the web app's SPA fallback).
  const appArgs = ["--test-scheduled", "-c", await snapshotApp(work)];
  const app = await wranglerDev({ port: ports.app, work, vars, args: appArgs });
  const hello = await wranglerDev({ port: ports.hello, work, args: ["-c", "bench/hello/wrangler.toml"] });
  const extra: ChildProcess[] = [];
  const appUrl = `http://127.0.0.1:${ports.app}`;
  const helloUrl = `http://127.0.0.1:${ports.hello}`;
  try {
    await Promise.all([waitHttp(`${appUrl}/v1/health`), waitHttp(helloUrl)]);
  } catch (err) {
    for (const port of Object.values(ports)) {
      console.error(`--- wrangler dev :${port} log\n${await wranglerLog({ port, work })}`);
    }
    app.kill("SIGINT");
    hello.kill("SIGINT");
    await stack.stop();
    await stack.dropData();
    throw err;
  }
  return {
    stack,
    appUrl,
    helloUrl,
    databaseUrl: stack.bindings.DATABASE_URL as string,
    jwtSecret: vars.JWT_SECRET,
    async startWorker(config) {
      const port = await freePort();
      extra.push(await wranglerDev({ port, work, args: ["-c", config] }));
      const url = `http://127.0.0.1:${port}`;
      await waitHttp(url).catch(async (err) => {
        console.error(`--- wrangler dev :${port} log\n${await wranglerLog({ port, work })}`);
        throw err;
      });
      return url;
    },
    async startApp(more) {
      const port = await freePort();
      const child = await wranglerDev({ port, work, vars: { ...vars, ...more }, args: appArgs });
      extra.push(child);
      const url = `http://127.0.0.1:${port}`;
      const stop = async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGINT");
        // Its sockets and workerd gone before the next one starts (bounded: a stuck one is left to stop()).
        await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000))]);
      };
      await waitHttp(`${url}/v1/health`).catch(async (err) => {
        console.error(`--- wrangler dev :${port} log\n${await wranglerLog({ port, work })}`);
        await stop();
        throw err;
      });
      return { url, stop };
    },
    async stop() {
      app.kill("SIGINT");
      hello.kill("SIGINT");
      for (const p of extra) p.kill("SIGINT");
      await stack.stop();
      await stack.dropData();
      // BENCH_KEEP=1 keeps the wrangler logs and data for a look after the run.
      if (process.env.BENCH_KEEP) console.log(`kept ${work}`);
      else await rm(work, { recursive: true, force: true });
    },
  };
}

/**
 * A copy of the Worker's sources as they are now, for `wrangler dev` to run: it rebuilds and restarts
 * on every change to the files it bundles, which drops every WebSocket and Durable Object mid-run
 * when the tree is being edited during a benchmark. Dependencies and the web app's assets are linked.
 */
async function snapshotApp(work: string): Promise<string> {
  const dir = join(work, "app");
  await mkdir(dir);
  for (const path of ["wrangler.toml", "tsconfig.json", "package.json", "workers", "durable-objects"]) {
    await cp(new URL(path, ROOT), join(dir, path), { recursive: true });
  }
  await symlink(fileURLToPath(new URL("node_modules", ROOT)), join(dir, "node_modules"));
  await symlink(fileURLToPath(new URL("web", ROOT)), join(dir, "web"));
  if (!process.env.BENCH_ASSETS) await dropAssets(join(dir, "wrangler.toml"));
  return join(dir, "wrangler.toml");
}

/**
 * The benchmarks call the API only. With `[assets]` configured, local workerd runs Cloudflare's asset
 * router as another JS worker in front of ours on the same thread, for every request; in production
 * that routing happens in Cloudflare's edge before the Worker (run_worker_first), on no CPU of ours and
 * billed to nobody. So the benchmarked app runs without it (BENCH_ASSETS=1 keeps it, to compare).
 */
async function dropAssets(config: string): Promise<void> {
  const text = await readFile(config, "utf8");
  // The table's lines: up to the next blank line or table header.
  const without = text.replace(/^\[assets\]\n(?:(?!\[)[^\n]+\n)*/m, "");
  if (without === text) throw new Error("wrangler.toml has no [assets] table to drop");
  await writeFile(config, without);
}

/** An admin made the way `npm run admin:create` makes one, signed in through the API. */
export async function adminToken(env: BenchEnv): Promise<string> {
  const email = `bench-admin-${randomBytes(3).toString("hex")}@example.com`;
  const password = "bench-password-1";
  await upsertAdmin(env.databaseUrl, { email, password, nickname: "bench" });
  const res = await fetch(`${env.appUrl}/v1/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password }),
  });
  if (!res.ok) throw new Error(`admin login: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { accessToken: string }).accessToken;
}

export interface LoadResult {
  requests: number;
  errors: number;
  seconds: number;
  perSecond: number;
  p50: number;
  p99: number;
  statuses: Record<number, number>;
}

export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

/**
 * Closed-loop load: `concurrency` clients each send their next request when the previous answers,
 * until `total` requests were sent. `make(i)` builds request i; a status outside `ok` counts as an error.
 */
export async function runLoad(opts: {
  total: number;
  concurrency: number;
  make: (i: number) => { url: string; init?: RequestInit };
  ok?: (status: number) => boolean;
  onResponse?: (status: number, body: string, i: number) => void;
}): Promise<LoadResult> {
  const latencies: number[] = [];
  const statuses: Record<number, number> = {};
  let next = 0;
  let errors = 0;
  const ok = opts.ok ?? ((s: number) => s >= 200 && s < 300);
  const started = performance.now();
  const client = async () => {
    while (next < opts.total) {
      const i = next++;
      const { url, init } = opts.make(i);
      const t0 = performance.now();
      try {
        const res = await fetch(url, init);
        const body = await res.text();
        latencies.push(performance.now() - t0);
        statuses[res.status] = (statuses[res.status] ?? 0) + 1;
        if (!ok(res.status)) errors++;
        opts.onResponse?.(res.status, body, i);
      } catch {
        errors++;
        statuses[0] = (statuses[0] ?? 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, client));
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    requests: opts.total,
    errors,
    seconds,
    perSecond: opts.total / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    statuses,
  };
}

/** The same load against the hello-world Worker: the ceiling every table compares with. */
export const helloLoad = (env: BenchEnv, total: number, concurrency: number) =>
  runLoad({ total, concurrency, make: () => ({ url: env.helloUrl }) });

export const fmt = (n: number, digits = 1) => n.toFixed(digits);

function loadRow(name: string, r: LoadResult, baseline?: LoadResult): string {
  const ratio = baseline ? `${fmt((r.perSecond / baseline.perSecond) * 100)} %` : "—";
  return `| ${name} | ${r.requests} | ${fmt(r.perSecond)} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${ratio} | ${r.errors} |`;
}

/** The report's table: the hello-world run first, then each scenario with its throughput against it. */
export function loadTable(hello: LoadResult, scenarios: Record<string, LoadResult>): string[] {
  return [
    "| scenario | requests | req/s | p50 ms | p99 ms | throughput vs hello-world | errors |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    loadRow("hello-world Worker", hello),
    ...Object.entries(scenarios).map(([name, r]) => loadRow(name, r, hello)),
  ];
}

/** Replaces this benchmark's section of docs/benchmarks.md, keeping the other benchmarks' sections. */
/** `bench`: the benchmark that writes the section, when one benchmark writes several (chat). */
export async function writeReport(name: string, title: string, lines: string[], bench = name): Promise<void> {
  const file = new URL("docs/benchmarks.md", ROOT);
  let doc = await readFile(file, "utf8").catch(
    () =>
      "# Benchmarks\n\nEach section is written by `npm run bench -- <name>` and says the command and machine that produced it.\nNumbers come from `wrangler dev` (workerd) on one 2-core machine with the stand-ins on the same machine: compare ratios, not absolute values with production.\n",
  );
  const start = `<!-- bench:${name} -->`;
  const end = `<!-- /bench:${name} -->`;
  const section = [
    start,
    `## ${title}`,
    "",
    `Command: \`npm run bench -- ${bench}\` · ${new Date().toISOString()} · ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
    "",
    ...lines,
    end,
  ].join("\n");
  const re = new RegExp(`${start}[\\s\\S]*?${end}`);
  doc = re.test(doc) ? doc.replace(re, section) : `${doc.trimEnd()}\n\n${section}\n`;
  await writeFile(file, doc);
  console.log(section);
}

/** A festival made through the admin API, one day `daysAhead` from now, on sale now. */
export async function createFestival(
  env: BenchEnv,
  admin: string,
  opts: { title: string; capacity: number; perUserLimit?: number; daysAhead?: number },
): Promise<{ id: number; day: string }> {
  const now = Date.now();
  const day = new Date(now + 9 * 3_600_000 + (opts.daysAhead ?? 7) * 86_400_000).toISOString().slice(0, 10);
  const res = await fetch(`${env.appUrl}/v1/festivals`, {
    method: "POST",
    headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" },
    body: JSON.stringify({
      title: opts.title,
      description: "benchmark festival",
      category: "music",
      region: "서울",
      venue: { name: "Bench Hall", address: "Seoul", lat: 37.5, lng: 127 },
      startDate: day,
      endDate: day,
      timezone: "Asia/Seoul",
      capacity: opts.capacity,
      perUserLimit: opts.perUserLimit ?? 2,
      saleOpensAt: new Date(now - 60_000).toISOString(),
      saleClosesAt: new Date(now + ((opts.daysAhead ?? 7) - 1) * 86_400_000).toISOString(),
    }),
  });
  if (res.status !== 201) throw new Error(`create festival: ${res.status} ${await res.text()}`);
  return { id: ((await res.json()) as { id: number }).id, day };
}

/**
 * The injected round trip of the PlanetScale and Upstash stand-ins each sale-day scenario runs at:
 * 0 (everything on this machine) and 20 ms (an edge Worker to a database region; PlanetScale quotes
 * ~3-4 ms inside a region and tens of ms across). `BENCH_LATENCIES=0,50` overrides.
 */
export const LATENCIES_MS = (process.env.BENCH_LATENCIES ?? "0,20").split(",").map(Number);

/** Runs `scenario` once per injected latency (set only around the measured load), in order. */
export async function atLatencies<T>(
  env: BenchEnv,
  scenario: (ms: number, measure: <R>(load: () => Promise<R>) => Promise<R>) => Promise<T>,
): Promise<{ ms: number; result: T }[]> {
  const out: { ms: number; result: T }[] = [];
  for (const ms of LATENCIES_MS) {
    const measure = async <R>(load: () => Promise<R>) => {
      await env.stack.setLatency(ms);
      try {
        return await load();
      } finally {
        await env.stack.setLatency(0);
      }
    };
    out.push({ ms, result: await scenario(ms, measure) });
  }
  return out;
}
