import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
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
        // The Worker and its Durable Objects run inside workerd, wired to the stand-ins of one stack.
        plugins: [
          cloudflareTest(({ inject }) => ({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: { bindings: inject("bindings") },
          })),
        ],
        test: {
          name: "worker",
          include: ["test/worker/**/*.test.ts"],
          globalSetup: ["test/global-setup.ts"],
          // Request logs are JSON lines; show them only for the tests that fail.
          silent: "passed-only",
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
