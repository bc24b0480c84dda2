import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { TestProject } from "vitest/node";
import { startAppServer } from "./server.ts";

/**
 * The browser project's stack: the web app is built (so the tests see the current source), then a
 * private stack with the demo festivals and `wrangler dev` serving API and app together.
 */
export default async function setup(project: TestProject) {
  const root = fileURLToPath(new URL("../../", import.meta.url));
  execFileSync(
    fileURLToPath(new URL("../../node_modules/.bin/vite", import.meta.url)),
    ["build", "-c", "web/vite.config.ts", "--logLevel", "warn"],
    { cwd: root, stdio: "inherit" },
  );
  const server = await startAppServer({ seed: true });
  project.provide("appUrl", server.url);
  project.provide("appDatabaseUrl", server.databaseUrl);
  return () => server.stop();
}
