import { mkdir, writeFile } from "node:fs/promises";
import { registerHooks } from "node:module";
import { dirname } from "node:path";

/**
 * `node local/openapi.ts [out.json]`: writes the API's OpenAPI document (to stdout without a path),
 * built in Node by the Worker's own app from the route schemas, with no server, bindings or build.
 * `npm run lint:openapi` lints it; the web app generates its typed client from it.
 */

// The Worker's modules import without extensions (bundler resolution) and from
// `cloudflare:workers`; building the document reads neither `env` nor Durable Objects, so a stub
// serves for that module.
const CLOUDFLARE_WORKERS_STUB = "data:text/javascript,export const env = {}; export class DurableObject {}";
registerHooks({
  resolve(specifier, context, next) {
    if (specifier === "cloudflare:workers") return { url: CLOUDFLARE_WORKERS_STUB, shortCircuit: true };
    if (!/^\.\.?\//.test(specifier) || /\.[cm]?[jt]s(on)?$/.test(specifier)) return next(specifier, context);
    try {
      return next(`${specifier}.ts`, context);
    } catch {
      return next(`${specifier}/index.ts`, context);
    }
  },
});

interface DocApp {
  getOpenAPI31Document(config: unknown): unknown;
}
// A computed specifier keeps the Worker's modules (workerd types) out of the Node typecheck.
const appModule = new URL("../workers/api/app.ts", import.meta.url).href;
const { createApp, OPENAPI_CONFIG } = (await import(appModule)) as {
  createApp(): DocApp;
  OPENAPI_CONFIG: unknown;
};

const json = `${JSON.stringify(createApp().getOpenAPI31Document(OPENAPI_CONFIG), null, 2)}\n`;
const out = process.argv[2];
if (out) {
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, json);
} else process.stdout.write(json);
