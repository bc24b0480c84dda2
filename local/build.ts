import { spawnSync } from "node:child_process";
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

/**
 * `npm run build`: bundles the Worker exactly as `wrangler deploy` would (dry run, no upload) and
 * reports its size raw and gzipped; a broken bundle fails `npm test` here, not at deploy time.
 */
const outdir = "dist";
const result = spawnSync("wrangler", ["deploy", "--dry-run", "--outdir", outdir], { stdio: "inherit" });
if (result.status !== 0) process.exit(result.status ?? 1);

let raw = 0;
let gzipped = 0;
for (const file of await readdir(outdir)) {
  if (!/\.(m?js|wasm)$/.test(file)) continue;
  const path = join(outdir, file);
  raw += (await stat(path)).size;
  gzipped += gzipSync(await readFile(path), { level: 9 }).length;
}
const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
console.log(
  `Worker bundle: ${kib(raw)} raw, ${kib(gzipped)} gzip (Workers limit: 3 MiB gzip on Free, 10 MiB on Paid)`,
);
