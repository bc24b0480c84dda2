import type { ErrorHandler, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import { isDependencyDown } from "../../lib/dependency-errors";
import { AppError, errorBody } from "../../lib/errors";
import { createLogger } from "../../lib/logger";
import { RedisCommandError, safeRedisError } from "../../lib/redis-errors";
import type { HonoEnv } from "../hono-env";

/** Every failure leaves as the DESIGN.md envelope; unexpected ones are logged and answered generically. */
export const onError: ErrorHandler<HonoEnv> = (err, c) => {
  const requestId = c.get("requestId") ?? "unknown";
  if (err instanceof AppError) {
    if (err.headers) for (const [k, v] of Object.entries(err.headers)) c.header(k, v);
    return c.json(errorBody(requestId, err.code, err.message, err.details), err.status);
  }
  if (err instanceof HTTPException && err.status < 500) {
    return c.json(errorBody(requestId, "request.invalid", err.message || "Invalid request"), err.status);
  }
  const logger = c.get("logger") ?? createLogger({ requestId });
  if (isDependencyDown(err)) {
    // DESIGN.md: a dependency that is down is a 503 the client may retry, not a 500.
    logger.warn("dependency unavailable", { error: loggable(err) });
    c.header("Retry-After", "1");
    return c.json(
      errorBody(requestId, "service.unavailable", "A service we depend on is unavailable; retry shortly"),
      503,
    );
  }
  // With the request id (the logger's base), so the answer's requestId finds this line.
  logger.error("unhandled error", {
    error: loggable(err),
    // A Redis error's stack starts with its message: name and code are all it may say.
    stack: err instanceof Error && !(err instanceof RedisCommandError) ? err.stack : undefined,
  });
  return c.json(errorBody(requestId, "internal", "Something went wrong on our side"), 500);
};

/** Redis errors as name and code only (their text may quote a command); others as they are (the logger redacts). */
const loggable = (err: unknown) => (err instanceof RedisCommandError ? safeRedisError(err) : err);

export const notFound: NotFoundHandler<HonoEnv> = (c) =>
  c.json(errorBody(c.get("requestId") ?? "unknown", "route.not_found", "No such route"), 404);
