/**
 * `npm run bench -- <name> [...]`: runs the named benchmarks (all when none is named) and writes each
 * one's section of docs/benchmarks.md.
 */
export const BENCHES: Record<string, () => Promise<{ run(): Promise<void> }>> = {
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
  await (await load()).run();
}
process.exit(0);
