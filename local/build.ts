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

// The slim `zod` (workers/lib/zod.ts) cannot be checked by tsc, which sees zod's full types: check here
// that every `z.<name>` the Worker code calls (type positions like `z.infer<...>` aside) is one it exports, so a missing builder fails the build.
const slim = await readFile("workers/lib/zod.ts", "utf8");
const exported = new Set(
  [...(slim.match(/export const z = \{([^}]*)\}/)?.[1] ?? "").matchAll(/(\w+)\s*[:,]/g)].map((m) => m[1]),
);
const missing = new Set<string>();
for (const dir of ["workers", "durable-objects"]) {
  for (const file of await readdir(dir, { recursive: true })) {
    if (!file.endsWith(".ts") || file.endsWith(".d.ts") || file === "lib/zod.ts") continue;
    const text = await readFile(join(dir, file), "utf8");
    for (const [, name] of text.matchAll(/\bz\.(\w+)\b(?!\s*<)/g))
      if (name && !exported.has(name)) missing.add(`z.${name} (${dir}/${file})`);
  }
}
if (missing.size) {
  console.error(`workers/lib/zod.ts lacks what the code calls: ${[...missing].join(", ")}`);
  process.exit(1);
}

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
