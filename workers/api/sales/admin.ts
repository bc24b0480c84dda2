import { and, asc, count, eq } from "drizzle-orm";
import { festivalDays, festivals } from "../../db/schema/festivals";
import { waitlistEntries } from "../../db/schema/sales";
import { AppError } from "../../lib/errors";
import type { Logger } from "../../lib/logger";
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
  await withRetries(logger, "sales.settings", () =>
    s.db.transaction(async (tx) => {
      const [f] = await tx.select().from(festivals).where(eq(festivals.id, festivalId)).for("update");
      if (!f) throw notFound();
      const enabled = p.queueEnabled ?? f.queueEnabled;
      const rate = p.admissionRatePerMinute ?? f.queueRatePerMinute;
      const restart = enabled && (!f.queueEnabled || rate !== f.queueRatePerMinute);
      await tx
        .update(festivals)
        .set({
          queueEnabled: enabled,
          queueRatePerMinute: rate,
          queueActiveCap: p.activeCap ?? f.queueActiveCap,
          waitlistOfferMinutes: p.offerMinutes ?? f.waitlistOfferMinutes,
          ...(restart && {
            queueOpensAt: now > f.saleOpensAt ? now : null,
            queueEpoch: f.queueEpoch + 1,
          }),
        })
        .where(eq(festivals.id, festivalId));
    }),
  );
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
