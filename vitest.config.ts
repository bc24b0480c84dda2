import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

// The Worker and its Durable Objects run inside workerd, wired to the stand-ins of one private stack
// (test/global-setup.ts starts it per project, so the two worker projects never share state).
const workerPool = cloudflareTest(({ inject }) => ({
  wrangler: { configPath: "./wrangler.toml" },
  miniflare: { bindings: inject("bindings") },
}));

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
        test: {
          name: "worker",
          include: ["test/worker/**/*.test.ts"],
          globalSetup: ["test/global-setup.ts"],
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        // Fault tests stop and restart stand-ins: they get their own stack and run one file at a
        // time, after the other projects, so no other test sees a dependency go down.
        plugins: [workerPool],
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
    ],
  },
});
