import type { LimitPolicy } from "../../lib/rate-limit";
import type { RouteLimit } from "../middleware/rate-limit";

/**
 * Sale-day limits. All fail open when Redis cannot count: the caller was authenticated against
 * Redis a moment before, the waiting room itself lives in Redis (so its routes answer
 * `queue.unavailable` on their own), and the waitlist and reservations keep their rules in MySQL
 * (capacity, per-user totals). A limiter outage must not turn into a sale-day outage.
 *
 * Per user: far above what a person (or the web app: it polls the queue every 2 s) does, far below
 * a script. Per address (writes only): sized for a festival Wi-Fi or a carrier NAT, where hundreds of
 * buyers share one address at the opening second; it caps one address driving many accounts.
 */
const policy = (name: string, limit: number): LimitPolicy => ({
  name,
  limit,
  window: "60 s",
  onRedisDown: "open",
});

export const SALE_LIMITS = {
  queueWrite: policy("queue.write", 20),
  queueRead: policy("queue.read", 120),
  queueStreamOpen: policy("queue.stream", 20),
  waitlistWrite: policy("waitlist.write", 20),
  waitlistRead: policy("waitlist.read", 120),
  reservationWrite: policy("reservation.write", 30),
  addressWrite: policy("sale.address", 600),
};

const byUser = (p: LimitPolicy): RouteLimit => ({ policy: p, by: "user" });
const byAddress: RouteLimit = { policy: SALE_LIMITS.addressWrite, by: "ip" };

/** Route limits, spread into `rateLimit(...)` after `requireAuth()`. */
export const QUEUE_WRITE_LIMITS = [byUser(SALE_LIMITS.queueWrite), byAddress];
export const QUEUE_READ_LIMITS = [byUser(SALE_LIMITS.queueRead)];
export const QUEUE_STREAM_LIMITS = [byUser(SALE_LIMITS.queueStreamOpen)];
export const WAITLIST_WRITE_LIMITS = [byUser(SALE_LIMITS.waitlistWrite), byAddress];
export const WAITLIST_READ_LIMITS = [byUser(SALE_LIMITS.waitlistRead)];
export const RESERVATION_WRITE_LIMITS = [byUser(SALE_LIMITS.reservationWrite), byAddress];
