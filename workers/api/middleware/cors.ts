import { cors } from "hono/cors";
import { createMiddleware } from "hono/factory";
import type { HonoEnv } from "../hono-env";

/**
 * Cross-origin access for web apps served from elsewhere than this Worker (the bundled web app is
 * same-origin and needs none). Only origins listed in `CORS_ORIGINS` (comma-separated, exact
 * `scheme://host[:port]`) get the allow headers; an empty list means no cross-origin use. Never `*`:
 * any site could then drive the API with a token it got hold of. No credentials: the API reads
 * bearer tokens from a header, never cookies.
 */
const allowlists = new Map<string, ReadonlySet<string>>();

function allowlist(raw: string): ReadonlySet<string> {
  let set = allowlists.get(raw);
  if (!set) {
    set = new Set(
      raw
        .split(",")
        .map((o) => o.trim())
        .filter(Boolean),
    );
    allowlists.set(raw, set);
  }
  return set;
}

const withCors = cors({
  origin: (origin) => origin,
  allowMethods: ["GET", "HEAD", "POST", "PATCH", "DELETE"],
  // X-Admission-Token: the sales waiting room's pass; If-None-Match: the festival reads' ETags.
  allowHeaders: ["Authorization", "Content-Type", "Idempotency-Key", "X-Admission-Token", "If-None-Match"],
  exposeHeaders: ["x-request-id", "Retry-After", "ETag", "Location", "Idempotent-Replayed"],
  maxAge: 600,
});

/** A listed origin gets the CORS headers (and its preflight a 204); any other gets none of them. */
export const corsFromAllowlist = () =>
  createMiddleware<HonoEnv>(async (c, next) => {
    // CORS does not govern WebSockets, and the 101 from the chat room cannot take more headers.
    if (c.req.header("upgrade")?.toLowerCase() === "websocket") return next();
    const allowed = allowlist(c.env.CORS_ORIGINS);
    const origin = c.req.header("origin");
    if (origin && allowed.has(origin)) return withCors(c, next);
    await next();
    // The same URL answers listed origins with CORS headers: a cache must not hand this answer to them.
    if (allowed.size) c.header("Vary", "Origin", { append: true });
  });
