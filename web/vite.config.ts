import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import preact from "@preact/preset-vite";
import { defineConfig, type Plugin } from "vite";

const require = createRequire(import.meta.url);

/**
 * /v1/docs (the Worker's page) loads Swagger UI from these static files instead of a CDN, so the docs
 * work offline and under a CSP without inline scripts. They come from the pinned swagger-ui-dist
 * package at build time; no copy lives in the repo.
 */
function swaggerUiAssets(): Plugin {
  const dist = dirname(require.resolve("swagger-ui-dist/package.json"));
  return {
    name: "somsom-swagger-ui-assets",
    async generateBundle() {
      for (const file of ["swagger-ui.css", "swagger-ui-bundle.js"]) {
        this.emitFile({
          type: "asset",
          fileName: `vendor/swagger-ui/${file}`,
          source: await readFile(join(dist, file)),
        });
      }
      this.emitFile({
        type: "asset",
        fileName: "vendor/swagger-ui/init.js",
        source: `window.ui = SwaggerUIBundle({ dom_id: "#swagger-ui", url: "/v1/openapi.json" });\n`,
      });
    },
  };
}

export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  plugins: [preact(), swaggerUiAssets()],
  build: { outDir: "dist", emptyOutDir: true, target: "es2022" },
  // `npx vite -c web/vite.config.ts` for live reload against a running `npm run dev`.
  server: { proxy: { "/v1": { target: "http://127.0.0.1:8787", ws: true } } },
});
