import { execFileSync } from "node:child_process";
import { appendFileSync, readFileSync } from "node:fs";
import { unstable_readConfig } from "wrangler";

/**
 * The deploy workflow's decisions (.github/workflows/deploy.yml), kept out of YAML so they can be
 * read and run by hand:
 *
 *   node local/deploy.ts plan                    → mode=first|migrate|gradual (+ the commit to migrate with)
 *   node local/deploy.ts uploaded                → the version the last wrangler command made
 *   node local/deploy.ts serving                 → the version serving most traffic now
 *   node local/deploy.ts wait-deployed <version> → waits until <version> is in the active deployment
 *   node local/deploy.ts probe <url> <version> [seconds]
 *                                                → GET <url>/v1/health on that version only, repeatedly
 *
 * Why a plan at all: `wrangler versions upload` refuses a version that carries a Durable Object
 * migration the deployed script has not applied (API error 10211: migrations are applied only by a
 * non-versioned `wrangler deploy`). So a pending migration goes out with `wrangler deploy`, on the
 * commit that brought it and nothing newer, and what came after it takes the gradual path.
 * Needs CLOUDFLARE_API_TOKEN and CLOUDFLARE_ACCOUNT_ID (those wrangler uses) and full git history.
 */

// wrangler's own reader (its types come from a package it bundles, hence the shape named here).
const config: { name?: string; migrations: { tag: string }[] } = unstable_readConfig(
  { config: "wrangler.toml" },
  { hideWarnings: true },
);
const workerName: string = config.name ?? fail("wrangler.toml has no name");

function fail(message: string): never {
  console.error(`deploy: ${message}`);
  process.exit(1);
}

/** Writes step outputs for GitHub Actions (and shows them, so a run by hand says the same). */
function output(values: Record<string, string>) {
  const lines = Object.entries(values).map(([k, v]) => `${k}=${v}`);
  console.log(lines.join("\n"));
  if (process.env.GITHUB_OUTPUT) appendFileSync(process.env.GITHUB_OUTPUT, `${lines.join("\n")}\n`);
}

const git = (...args: string[]) => execFileSync("git", args, { encoding: "utf8" }).trim();

/**
 * The `[[migrations]]` tags of a wrangler.toml text, in order. Used for past commits' files, which
 * wrangler's own reader cannot take from a string; the current file is cross-checked against it.
 */
function migrationTags(toml: string): string[] {
  const tags: string[] = [];
  let inMigration = false;
  for (const line of toml.split("\n")) {
    const header = line.match(/^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$/);
    if (header) {
      inMigration = line.trim().startsWith("[[") && header[1] === "migrations";
      continue;
    }
    const tag = inMigration && line.match(/^\s*tag\s*=\s*["']([^"']+)["']/);
    if (tag) tags.push(tag[1] as string);
  }
  return tags;
}

async function cloudflare<T>(path: string): Promise<{
  status: number;
  body: { success: boolean; result: T; errors?: { code: number; message: string }[] };
}> {
  const token = process.env.CLOUDFLARE_API_TOKEN ?? fail("CLOUDFLARE_API_TOKEN is not set");
  const res = await fetch(`${API}${path}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  return { status: res.status, body: await res.json() };
}

// The same override wrangler honours (a staging API, or a stand-in when trying this by hand).
const API = process.env.CLOUDFLARE_API_BASE_URL ?? "https://api.cloudflare.com/client/v4";

/** Worker-not-found codes, as wrangler itself treats them when it looks up the same thing. */
const NOT_FOUND_CODES = new Set([10007, 10090, 10092]);

/**
 * The tag of the last migration applied to the deployed script; null when the script does not
 * exist yet, "" when it exists without any migration. The endpoint is the one wrangler reads before
 * it decides to upload migrations, so the two never disagree.
 */
async function deployedMigrationTag(): Promise<string | null> {
  const account = process.env.CLOUDFLARE_ACCOUNT_ID ?? fail("CLOUDFLARE_ACCOUNT_ID is not set");
  const { status, body } = await cloudflare<{
    default_environment?: { script?: { migration_tag?: string } };
  }>(`/accounts/${account}/workers/services/${workerName}`);
  if (body.success) return body.result.default_environment?.script?.migration_tag ?? "";
  if (status === 404 || body.errors?.some((e) => NOT_FOUND_CODES.has(e.code))) return null;
  fail(`could not read the deployed script (${status}): ${JSON.stringify(body.errors)}`);
}

/**
 * The oldest first-parent commit whose wrangler.toml already has every pending tag: the commit that
 * brought the newest migration. Deploying it applies them all, with none of the later changes.
 */
function migrationCommit(pending: string[]): string {
  const commits = git("log", "--first-parent", "--format=%H", "HEAD", "--", "wrangler.toml").split("\n");
  let found: string | undefined;
  for (const sha of commits) {
    const tags = migrationTags(git("show", `${sha}:wrangler.toml`));
    if (!pending.every((t) => tags.includes(t))) break;
    found = sha;
  }
  return found ?? fail(`no commit on this branch has the migrations ${pending.join(", ")} (shallow clone?)`);
}

async function plan() {
  const tags = config.migrations.map((m) => m.tag);
  const parsed = migrationTags(readFileSync("wrangler.toml", "utf8"));
  if (parsed.join() !== tags.join()) {
    fail(`migration tags read two ways differ: wrangler ${tags.join()} vs ${parsed.join()}`);
  }
  const deployed = await deployedMigrationTag();
  const latest = tags.at(-1) ?? "";
  const base = { worker: workerName, deployed_tag: deployed ?? "", latest_tag: latest };
  if (deployed === null) {
    // Nothing serves yet: no traffic to split, and the first upload must apply every migration.
    console.error(`deploy: ${workerName} does not exist yet: first deploy with wrangler deploy`);
    return output({ ...base, mode: "first", migration_commit: git("rev-parse", "HEAD"), gradual: "false" });
  }
  const from = deployed ? tags.indexOf(deployed) : -1;
  if (deployed && from === -1) {
    fail(
      `the deployed migration tag ${deployed} is not in wrangler.toml (${tags.join()}): tags are append-only`,
    );
  }
  const pending = tags.slice(from + 1);
  if (!pending.length) {
    console.error(`deploy: no pending migration (deployed ${deployed || "none"}): gradual deploy`);
    return output({ ...base, mode: "gradual", migration_commit: "", gradual: "true" });
  }
  const sha = migrationCommit(pending);
  console.error(`deploy: migrations ${pending.join(", ")} pending: wrangler deploy of ${sha} first`);
  // When HEAD is that commit, the migration deploy is the whole deploy.
  const gradual = String(sha !== git("rev-parse", "HEAD"));
  output({ ...base, mode: "migrate", migration_commit: sha, pending: pending.join(","), gradual });
}

interface Deployment {
  versions: { version_id: string; percentage: number }[];
}

function deployment(): Deployment {
  const out = execFileSync("npx", ["wrangler", "deployments", "status", "--json"], { encoding: "utf8" });
  return JSON.parse(out.slice(out.indexOf("{"))) as Deployment;
}

/** wrangler writes what it did to WRANGLER_OUTPUT_FILE_PATH (ND-JSON); the version id is there. */
function uploaded() {
  const file = process.env.WRANGLER_OUTPUT_FILE_PATH ?? fail("WRANGLER_OUTPUT_FILE_PATH is not set");
  const entries = readFileSync(file, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { type: string; version_id?: string });
  const made = entries
    .filter((e) => (e.type === "deploy" || e.type === "version-upload") && e.version_id)
    .at(-1);
  output({ version: made?.version_id ?? fail(`no version in ${file}`) });
}

function serving() {
  const top = [...deployment().versions].sort((a, b) => b.percentage - a.percentage)[0];
  output({ version: top?.version_id ?? "" });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A version override applies only to a version in the active deployment (Cloudflare's rule). */
async function waitDeployed(version: string) {
  for (let i = 0; i < 30; i++) {
    if (deployment().versions.some((v) => v.version_id === version)) {
      // The docs allow "up to a couple of seconds" for a new deployment to be seen everywhere.
      await sleep(5_000);
      return;
    }
    await sleep(2_000);
  }
  fail(`version ${version} never appeared in the active deployment`);
}

/**
 * Health of one version, whatever the traffic split: the override header pins each request to it,
 * so a 10 % canary is checked on 100 % of these probes, not on the 10 % that happen to land on it.
 */
async function probe(url: string, version: string, seconds: number) {
  const override = `${workerName}="${version}"`;
  const until = Date.now() + seconds * 1000;
  let probes = 0;
  do {
    const res = await fetch(`${url.replace(/\/$/, "")}/v1/health`, {
      headers: { "Cloudflare-Workers-Version-Overrides": override, "cache-control": "no-store" },
    }).catch((error: unknown) => fail(`health of ${version} did not answer: ${error}`));
    const body = await res.text();
    if (res.status !== 200) fail(`health of ${version} answered ${res.status}: ${body.slice(0, 500)}`);
    // A Worker that names its version (version metadata binding) proves the override took effect.
    const answered = res.headers.get("x-worker-version");
    if (answered && answered !== version) fail(`the override reached ${answered}, not ${version}`);
    probes++;
    if (Date.now() < until) await sleep(10_000);
  } while (Date.now() < until);
  console.error(`deploy: ${probes} health probes of ${version} answered 200`);
}

const [command, ...args] = process.argv.slice(2);
switch (command) {
  case "plan":
    await plan();
    break;
  case "uploaded":
    uploaded();
    break;
  case "serving":
    serving();
    break;
  case "wait-deployed":
    await waitDeployed(args[0] ?? fail("wait-deployed <version>"));
    break;
  case "probe":
    await probe(
      args[0] ?? fail("probe <url> <version> [seconds]"),
      args[1] ?? fail("probe <url> <version> [seconds]"),
      Number(args[2] ?? 0),
    );
    break;
  default:
    fail(
      "usage: node local/deploy.ts plan | uploaded | serving | wait-deployed <version> | probe <url> <version> [seconds]",
    );
}
