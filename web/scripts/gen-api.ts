import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startAppServer } from "../../test/browser/server.ts";

/**
 * `npm run web:api`: web/src/api/schema.d.ts from the API's own OpenAPI document, so the web client's
 * request and response types can never drift from the routes. The document comes from
 * local/openapi.ts when it exists, else from a private `wrangler dev`. openapi-typescript needs
 * TypeScript 5's compiler API (the project compiles with TypeScript 7, which has none), so it runs
 * through `npm exec` with its own pinned TypeScript instead of being a dependency.
 */
const root = fileURLToPath(new URL("../../", import.meta.url));
const out = join(root, "web/src/api/schema.d.ts");
const work = await mkdtemp(join(tmpdir(), "somsom-openapi-"));
const doc = join(work, "openapi.json");
try {
  if (existsSync(join(root, "local/openapi.ts"))) {
    execFileSync(process.execPath, [join(root, "local/openapi.ts"), doc], { stdio: "inherit", cwd: root });
  } else {
    const server = await startAppServer();
    try {
      const res = await fetch(`${server.url}/v1/openapi.json`);
      if (!res.ok) throw new Error(`GET /v1/openapi.json: ${res.status}`);
      await writeFile(doc, await res.text());
    } finally {
      await server.stop();
    }
  }
  execFileSync(
    "npm",
    [
      "exec",
      "--yes",
      "--package=openapi-typescript@7.13.0",
      "--package=typescript@5.9.3",
      "--",
      "openapi-typescript",
      doc,
      "--output",
      out,
    ],
    { stdio: "inherit", cwd: work },
  );
  execFileSync(join(root, "node_modules/.bin/biome"), ["format", "--write", out], {
    stdio: "inherit",
    cwd: root,
  });
} finally {
  await rm(work, { recursive: true, force: true });
}
