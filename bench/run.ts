import { type BenchEnv, startBenchEnv } from "./harness.ts";

/**
 * `npm run bench -- <name> [...]`: runs the named benchmarks (all when none is named) and writes each
 * one's section of docs/benchmarks.md. Each gets a fresh private stack and `wrangler dev` pair.
 */
export const BENCHES: Record<
  string,
  () => Promise<{ run(env: BenchEnv): Promise<void>; vars?: Record<string, string> }>
> = {
  festivals: () => import("./festivals.ts"),
  reservations: () => import("./reservations.ts"),
  chat: () => import("./chat.ts"),
  queue: () => import("./queue.ts"),
  history: () => import("./history.ts"),
};

const names = process.argv.slice(2).filter((a) => !a.startsWith("-"));
const chosen = names.length ? names : Object.keys(BENCHES);
for (const name of chosen) {
  const load = BENCHES[name];
  if (!load) {
    console.error(`unknown benchmark ${name}; known: ${Object.keys(BENCHES).join(", ")}`);
    process.exit(2);
  }
  console.log(`== bench ${name}`);
  const bench = await load();
  const env = await startBenchEnv(bench.vars);
  try {
    await bench.run(env);
  } finally {
    await env.stop();
  }
}
process.exit(0);
