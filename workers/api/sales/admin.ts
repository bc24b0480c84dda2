import { and, asc, count, eq, sql } from "drizzle-orm";
import { festivalDays, festivals } from "../../db/schema/festivals";
import { waitlistEntries } from "../../db/schema/sales";
import { AppError } from "../../lib/errors";
import type { Logger } from "../../lib/logger";
import { clearMicroCaches } from "../../lib/micro-cache";
import { withRetries } from "../../lib/retry";
import type { Services } from "../../lib/services";
import { expireDueOffers } from "./expiry";
import { loadQueueConfig, runQueue } from "./queue";
import type { SalesSettings, SalesView } from "./schemas";

const notFound = () => new AppError(404, "festival.not_found", "No such festival");

/**
 * Switching the queue on, or changing its rate, restarts the admission budget from now (or from the
 * sale opening, if that is later): a new epoch, so the Redis counter starts again from zero and
 * nobody is admitted in a burst for the time the queue was off or slower.
 */
export async function updateSalesSettings(
  s: Services,
  logger: Logger,
  festivalId: number,
  p: SalesSettings,
  now = new Date(),
): Promise<void> {
  // One statement, no FOR UPDATE: the festival row carries reserved_count, which every reservation
  // raises, so it must not stay locked across a round trip. The epoch columns are assigned first:
  // MySQL and MariaDB evaluate a single-table UPDATE's assignments left to right, so they still see
  // the old switch and rate.
  const enabled = p.queueEnabled ?? null;
  const rate = p.admissionRatePerMinute ?? null;
  const restart = sql`COALESCE(${enabled}, queue_enabled) AND (NOT queue_enabled OR COALESCE(${rate}, queue_rate_per_minute) <> queue_rate_per_minute)`;
  const res = await withRetries(logger, "sales.settings", () =>
    s.db.execute(sql`
      UPDATE festivals SET
        queue_opens_at = IF(${restart}, IF(${now} > sale_opens_at, ${now}, NULL), queue_opens_at),
        queue_epoch = IF(${restart}, queue_epoch + 1, queue_epoch),
        queue_enabled = COALESCE(${enabled}, queue_enabled),
        queue_rate_per_minute = COALESCE(${rate}, queue_rate_per_minute),
        queue_active_cap = COALESCE(${p.activeCap ?? null}, queue_active_cap),
        waitlist_offer_minutes = COALESCE(${p.offerMinutes ?? null}, waitlist_offer_minutes)
      WHERE id = ${festivalId}`),
  );
  if (res.rowsAffected === 0) {
    const [f] = await s.db.select({ id: festivals.id }).from(festivals).where(eq(festivals.id, festivalId));
    if (!f) throw notFound();
  }
  clearMicroCaches();
  logger.info("sales settings changed", { festivalId, ...p });
}

export async function salesView(s: Services, logger: Logger, festivalId: number): Promise<SalesView> {
  const cfg = await loadQueueConfig(s, festivalId);
  await expireDueOffers(s, logger, { festivalId });
  const [[f], days, counts, queue] = await Promise.all([
    s.db
      .select({ offerMinutes: festivals.waitlistOfferMinutes })
      .from(festivals)
      .where(eq(festivals.id, festivalId)),
    s.db
      .select()
      .from(festivalDays)
      .where(eq(festivalDays.festivalId, festivalId))
      .orderBy(asc(festivalDays.day)),
    s.db
      .select({ day: waitlistEntries.day, status: waitlistEntries.status, n: count() })
      .from(waitlistEntries)
      .where(and(eq(waitlistEntries.festivalId, festivalId), eq(waitlistEntries.live, 1)))
      .groupBy(waitlistEntries.day, waitlistEntries.status),
    // User 0 is nobody: the call only moves the line and reports its sizes.
    runQueue(s, cfg, "read", 0),
  ]);
  if (!f) throw notFound();
  const countOf = (day: string, status: string) =>
    counts.find((c) => c.day === day && c.status === status)?.n ?? 0;
  const dayViews = days.map((d) => ({
    day: d.day,
    capacity: d.capacity,
    reserved: d.reserved,
    held: d.held,
    waiting: countOf(d.day, "waiting"),
    offersOut: countOf(d.day, "offered"),
  }));
  return {
    festivalId,
    queue: {
      enabled: cfg.enabled,
      admissionRatePerMinute: cfg.ratePerMinute,
      activeCap: cfg.activeCap,
      opensAt: new Date(cfg.opensAt).toISOString(),
      waiting: queue.waiting,
      admittedActive: queue.admittedActive,
      admittedTotal: queue.admittedTotal,
    },
    waitlist: {
      offerMinutes: f.offerMinutes,
      waiting: dayViews.reduce((n, d) => n + d.waiting, 0),
      offersOut: dayViews.reduce((n, d) => n + d.offersOut, 0),
      days: dayViews,
    },
  };
}
