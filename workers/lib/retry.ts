import { errorText, isDependencyDown } from "./dependency-errors";
import { AppError } from "./errors";
import type { Logger } from "./logger";

/**
 * Runs a MySQL transaction again when InnoDB gave up on it under contention: deadlock (1213),
 * lock wait timeout (1205), MariaDB's snapshot conflict (1020), or a transaction the server
 * aborted. Those change nothing, so repeating is safe. After MAX_ATTEMPTS, or when the database
 * cannot be reached at all, the answer is 503 with Retry-After: never a 500 for load.
 */
const MAX_ATTEMPTS = 5;
const RETRYABLE = /\(errno (1213|1205|1020)\)|code = Aborted desc/;

export const isRetryable = (err: unknown) => RETRYABLE.test(errorText(err));

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function withRetries<T>(logger: Logger, what: string, run: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (err) {
      if (err instanceof AppError) throw err;
      const text = errorText(err);
      if (RETRYABLE.test(text) && attempt < MAX_ATTEMPTS) {
        logger.warn("transaction retried", { what, attempt, error: err });
        // Full jitter: contenders that collided once should not collide again in lockstep.
        await sleep(Math.random() * 25 * 2 ** attempt);
        continue;
      }
      if (RETRYABLE.test(text) || isDependencyDown(err)) {
        logger.error("transaction failed", { what, attempt, error: err });
        throw new AppError(503, "service.busy", "The service is busy; retry in a moment", {
          headers: {
            "Retry-After": "1",
          },
        });
      }
      throw err;
    }
  }
}
