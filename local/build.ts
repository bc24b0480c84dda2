import { spawnSync } from "node:child_process";
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

/**
 * `npm run build`: bundles the Worker exactly as `wrangler deploy` would (dry run, no upload),
 * reports its size raw and gzipped and the packages that weigh most, and fails above the budget:
 * a broken or bloated bundle fails `npm test` here, not at deploy time.
 */
const outdir = "dist";
const metafile = join(outdir, "meta.json");
/** Startup time on Workers grows with the bundle; it was 303 KiB before zod lost its locales. */
const gzipBudget = 250 * 1024;
const topCount = 8;

const result = spawnSync("wrangler", ["deploy", "--dry-run", "--outdir", outdir, "--metafile", metafile], {
  stdio: "inherit",
});
if (result.status !== 0) process.exit(result.status ?? 1);

let raw = 0;
let gzipped = 0;
for (const file of await readdir(outdir)) {
  if (!/\.(m?js|wasm)$/.test(file)) continue;
  const path = join(outdir, file);
  raw += (await stat(path)).size;
  gzipped += gzipSync(await readFile(path), { level: 9 }).length;
}

/** esbuild's metafile: for every output file, how many of its bytes each input file contributed. */
type Metafile = { outputs: Record<string, { inputs: Record<string, { bytesInOutput: number }> }> };
const meta = JSON.parse(await readFile(metafile, "utf8")) as Metafile;
const byPackage = new Map<string, number>();
for (const output of Object.values(meta.outputs)) {
  for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
    // The last node_modules segment names the package that ships the file (scoped or not).
    const name = input.match(/.*node_modules\/((?:@[^/]+\/)?[^/]+)/)?.[1] ?? "(this project)";
    byPackage.set(name, (byPackage.get(name) ?? 0) + bytesInOutput);
  }
}

const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
console.log(`Worker bundle: ${kib(raw)} raw, ${kib(gzipped)} gzip (budget ${kib(gzipBudget)} gzip)`);
console.log(`Largest parts (raw bytes in the bundle):`);
for (const [name, bytes] of [...byPackage].sort((a, b) => b[1] - a[1]).slice(0, topCount)) {
  console.log(`  ${kib(bytes).padStart(11)}  ${name}`);
}
if (gzipped > gzipBudget) {
  console.error(`The bundle is over its ${kib(gzipBudget)} gzip budget: see what grew above.`);
  process.exit(1);
}
