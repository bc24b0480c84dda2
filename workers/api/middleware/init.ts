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
    const now = Date.now();
    const ms = now - started;
    const line = { method: c.req.method, path: c.req.path, status: c.res.status, ms };
    if (!c.get("quietAccessLog") || !expected) return logger.info("request", line);
    if (ms < 1_000) return;
    // A slow quiet answer: one line a second per isolate stands for the rest (counted in it). When a
    // sale outruns the machine every answer is slow, and a line each made it slower still (a profile of
    // the sale bench showed 8 % of the Worker's CPU in these lines).
    if (now - slow.loggedAt < 1_000) {
      slow.skipped++;
      return;
    }
    logger.info("request", { ...line, slowNotLogged: slow.skipped });
    slow.loggedAt = now;
    slow.skipped = 0;
  });

/** The isolate's slow quiet answers: when the last was logged, and how many were not since. */
const slow = { loggedAt: 0, skipped: 0 };
