import { sql } from "drizzle-orm";
import type { Services } from "../../lib/services";
import { IDEMPOTENCY_TTL_MS } from "../middleware/idempotency";

const CHUNK = 1000;
/** How far back each run looks: a bounded range of the (status, created_at) index, never the whole table. */
const WINDOW_MS = 7 * 86_400_000;

/**
 * A reservation keeps its request's Idempotency-Key hashes for the key's 24 h window (DESIGN.md),
 * then forgets them: the unique (user, key) index stops growing with every reservation ever made, and
 * a key reused after the window is a new request, as it is for every other route. Rows pass through
 * the [window end - 7 days, window end) range of created_at, which the job visits every minute.
 */
export async function forgetIdempotencyKeys(s: Services, now: Date): Promise<number> {
  const end = new Date(now.getTime() - IDEMPOTENCY_TTL_MS - 3_600_000);
  const start = new Date(end.getTime() - WINDOW_MS);
  const res = await s.db.execute(sql`
    UPDATE reservations SET idempotency_key = NULL, request_hash = NULL
    WHERE status IN ('confirmed', 'cancelled', 'checked_in') AND created_at >= ${start} AND created_at < ${end}
      AND idempotency_key IS NOT NULL
    LIMIT ${CHUNK}`);
  return res.rowsAffected;
}
