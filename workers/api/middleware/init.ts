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
    logger.info("request", {
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      ms: Date.now() - started,
    });
  });
