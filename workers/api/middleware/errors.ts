import type { ErrorHandler, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import { AppError, errorBody } from "../../lib/errors";
import { createLogger } from "../../lib/logger";
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
  (c.get("logger") ?? createLogger({ requestId })).error("unhandled error", {
    error: err,
    stack: err instanceof Error ? err.stack : undefined,
  });
  return c.json(errorBody(requestId, "internal", "Something went wrong on our side"), 500);
};

export const notFound: NotFoundHandler<HonoEnv> = (c) =>
  c.json(errorBody(c.get("requestId") ?? "unknown", "route.not_found", "No such route"), 404);
