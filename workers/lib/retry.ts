import { errorText, isDependencyDown } from "./dependency-errors";
import { AppError } from "./errors";
import type { Logger } from "./logger";

/**
 * Runs a database step again when InnoDB gave up on it under contention: deadlock (1213), lock wait
 * timeout (1205), MariaDB's snapshot conflict (1020), or a transaction the server aborted. Those
 * change nothing, so repeating is safe (every caller's step is a single statement or a whole
 * transaction). The limit is a time budget, not a count: on a busy machine five quick attempts can
 * all land inside one burst, and an admin's write must not fail because the sale is busy. Past the
 * budget, or when the database cannot be reached at all, the answer is 503 with Retry-After: never a
 * 500 for load.
 */
export const RETRY_BUDGET_MS = 10_000;
const MAX_BACKOFF_MS = 500;
const RETRYABLE = /\(errno (1213|1205|1020)\)|code = Aborted desc/;

export const isRetryable = (err: unknown) => RETRYABLE.test(errorText(err));

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export const busy = () =>
  new AppError(503, "service.busy", "The service is busy; retry in a moment", {
    headers: { "Retry-After": "1" },
  });

export async function withRetries<T>(
  logger: Logger,
  what: string,
  run: () => Promise<T>,
  budgetMs = RETRY_BUDGET_MS,
): Promise<T> {
  const deadline = Date.now() + budgetMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (err) {
      if (err instanceof AppError) throw err;
      const retryable = isRetryable(err);
      // Full jitter: contenders that collided once should not collide again in lockstep.
      const pause = Math.random() * Math.min(MAX_BACKOFF_MS, 10 * 2 ** attempt);
      if (retryable && Date.now() + pause < deadline) {
        if (attempt % 5 === 1) logger.warn("database step retried", { what, attempt, error: err });
        await sleep(pause);
        continue;
      }
      if (retryable || isDependencyDown(err)) {
        logger.error("database step failed", { what, attempt, error: err });
        throw busy();
      }
      throw err;
    }
  }
}
