import { createMiddleware } from "hono/factory";
import { createLogger } from "../../lib/logger";
import { getServices } from "../../lib/services";
import type { HonoEnv } from "../hono-env";

/** Builds the per-request logger and hands the shared services to handlers; logs one line per request. */
export const init = () =>
  createMiddleware<HonoEnv>(async (c, next) => {
    const logger = createLogger({ requestId: c.get("requestId") });
    c.set("logger", logger);
    c.set("services", getServices(c.env));
    const started = Date.now();
    await next();
    // Sale-day storms answer thousands of these a second; Workers' invocation log (observability,
    // wrangler.toml) already records each one, and a console line per request is a log event billed
    // on top (and, under `wrangler dev`, costs as much CPU as a whole hello-world request).
    // Quiet: a success, or a 409 (sold out, in flight), the sale's expected "no" that the crowd gets
    // thousands of times a second. Every other refusal and every slow answer keeps its line.
    const expected = c.res.status < 400 || c.res.status === 409;
    if (c.get("quietAccessLog") && expected && Date.now() - started < 1_000) return;
    logger.info("request", {
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      ms: Date.now() - started,
    });
  });
