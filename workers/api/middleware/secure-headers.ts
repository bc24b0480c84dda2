import { createMiddleware } from "hono/factory";
import { secureHeaders } from "hono/secure-headers";
import type { HonoEnv } from "../hono-env";

/**
 * Hono answers only /v1/* (the web app and Swagger UI's files are Workers Static Assets and never
 * reach it). Its answers are JSON, which no browser should render, frame or run: the tightest CSP.
 * The one page it serves, /v1/docs, loads Swagger UI's files from /vendor/swagger-ui/ on the same
 * origin with no inline script (app.ts), fetches /v1/openapi.json and calls the API from the page.
 */
const API_CSP = { defaultSrc: ["'none'"], frameAncestors: ["'none'"] };
const DOCS_CSP = {
  defaultSrc: ["'none'"],
  scriptSrc: ["'self'"],
  styleSrc: ["'self'"],
  // Swagger UI's icons are data: URIs in its stylesheet.
  imgSrc: ["'self'", "data:"],
  connectSrc: ["'self'"],
  fontSrc: ["'self'"],
  frameAncestors: ["'none'"],
  baseUri: ["'none'"],
  formAction: ["'none'"],
};

const common = { xFrameOptions: "DENY", referrerPolicy: "no-referrer" } as const;
const api = secureHeaders({ ...common, contentSecurityPolicy: API_CSP });
const docs = secureHeaders({ ...common, contentSecurityPolicy: DOCS_CSP });

export const DOCS_PATH = "/v1/docs";

// A WebSocket upgrade is answered by the chat room's 101, whose headers cannot change and which no
// browser renders; its refusals are JSON like any other answer and lose nothing without these.
export const securityHeaders = () =>
  createMiddleware<HonoEnv>((c, next) => {
    if (c.req.header("upgrade")?.toLowerCase() === "websocket") return next();
    return (c.req.path === DOCS_PATH ? docs : api)(c, next);
  });

/** Tokens must not be kept by a browser cache or a proxy (OWASP ASVS 8.2.1). */
export const noStore = () =>
  createMiddleware<HonoEnv>(async (c, next) => {
    await next();
    c.header("Cache-Control", "no-store");
  });
