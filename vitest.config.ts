import { mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

// The Worker and its Durable Objects run inside workerd, wired to the stand-ins of one private stack
// (test/global-setup.ts starts it per project, so the two worker projects never share state).
const workerPool = cloudflareTest(({ inject }) => ({
  wrangler: { configPath: "./wrangler.toml" },
  miniflare: { bindings: inject("bindings") },
}));

// The same slim `zod` the bundle gets from wrangler.toml [alias] (why: workers/lib/zod.ts), so a
// `z.<name>` the bundle lacks fails here. The pattern is exact: "zod/v4" and the like stay zod's.
const workerResolve = {
  alias: [{ find: /^zod$/, replacement: fileURLToPath(new URL("workers/lib/zod.ts", import.meta.url)) }],
};

// wrangler.toml serves web/dist as static assets and the Workers pool refuses a missing folder;
// `npm run build` fills it, this only makes a run without a build possible.
mkdirSync(new URL("web/dist/", import.meta.url), { recursive: true });

export default defineConfig({
  test: {
    // Request logs are JSON lines; show them only for the tests that fail.
    silent: "passed-only",
    projects: [
      {
        // The stand-ins are Node servers: their conformance tests drive them with the official clients.
        test: {
          name: "standins",
          include: ["test/standins/**/*.test.ts"],
          environment: "node",
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        plugins: [workerPool],
        resolve: workerResolve,
        test: {
          name: "worker",
          include: ["test/worker/**/*.test.ts"],
          globalSetup: ["test/global-setup.ts"],
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        // Rooms past one object: the chat tests that speak only HTTP and WebSocket run again with rooms
        // that hold one socket themselves and two per shard, so most of their sockets sit on shards
        // (test/global-setup.ts sets the limits by this project's name), plus the shard tests.
        plugins: [workerPool],
        resolve: workerResolve,
        test: {
          name: "worker-shards",
          include: [
            "test/worker-shards/**/*.test.ts",
            "test/worker/chat.{happy,reconnect,moderation,limits,security,pushes}.test.ts",
          ],
          globalSetup: ["test/global-setup.ts"],
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        // The web app in Debian's Chromium (playwright-core) against a private stack and `wrangler dev`.
        test: {
          name: "browser",
          include: ["test/browser/**/*.test.ts"],
          environment: "node",
          globalSetup: ["test/browser/global-setup.ts"],
          // One Chromium at a time, after the other projects: the machine has two cores for everything.
          fileParallelism: false,
          sequence: { groupOrder: 2 },
          testTimeout: 120_000,
          hookTimeout: 300_000,
        },
      },
      {
        // Fault tests stop and restart stand-ins: they get their own stack and run one file at a
        // time, after the other projects, so no other test sees a dependency go down.
        plugins: [workerPool],
        resolve: workerResolve,
        test: {
          name: "worker-faults",
          include: ["test/worker-faults/**/*.test.ts"],
          globalSetup: ["test/global-setup.ts"],
          fileParallelism: false,
          sequence: { groupOrder: 1 },
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        // The chat persistence fault tests again, with the Worker speaking Upstash's Kafka REST dialect
        // to the same stand-in (test/global-setup.ts picks the dialect by this project's name).
        plugins: [workerPool],
        resolve: workerResolve,
        test: {
          name: "worker-faults-upstash",
          include: ["test/worker-faults/chat.persistence*.test.ts"],
          globalSetup: ["test/global-setup.ts"],
          fileParallelism: false,
          sequence: { groupOrder: 2 },
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
