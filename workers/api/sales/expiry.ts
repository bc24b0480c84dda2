import { and, asc, eq, inArray, isNull, lte, sql } from "drizzle-orm";
import { waitlistEntries } from "../../db/schema/sales";
import type { Logger } from "../../lib/logger";
import { withRetries } from "../../lib/retry";
import type { Services } from "../../lib/services";
import { announceExpired, announceExpiring, announceRelease, writeOfferHints } from "./announce";
import { closeEntry, offerFreePlaces, toOffer } from "./offers";

const DUE_BATCH = 200;
/** The "expiring soon" notice goes this long before expiry (to offers that lasted at least as long). */
export const REMIND_BEFORE_MS = 5 * 60_000;

/**
 * Offers past their expiry end, and their places pass to the next waiting entries (one statement
 * per offer, then the day's offers). The cron job runs it for every festival; reads of one festival's waitlist run
 * it for that festival, so expiry never waits for the next minute.
 */
export async function expireDueOffers(
  s: Services,
  logger: Logger,
  opts: { festivalId?: number; now?: Date } = {},
): Promise<number> {
  const now = opts.now ?? new Date();
  const due = await s.db
    .select({ id: waitlistEntries.id, festivalId: waitlistEntries.festivalId, day: waitlistEntries.day })
    .from(waitlistEntries)
    .where(
      and(
        eq(waitlistEntries.status, "offered"),
        lte(waitlistEntries.offerExpiresAt, now),
        opts.festivalId ? eq(waitlistEntries.festivalId, opts.festivalId) : undefined,
      ),
    )
    .orderBy(asc(waitlistEntries.offerExpiresAt))
    .limit(DUE_BATCH);
  const groups = new Map<string, { festivalId: number; day: string; ids: number[] }>();
  for (const r of due) {
    const k = `${r.festivalId}|${r.day}`;
    const g = groups.get(k) ?? { festivalId: r.festivalId, day: r.day, ids: [] };
    g.ids.push(r.id);
    groups.set(k, g);
  }
  let expired = 0;
  for (const g of groups.values()) {
    // Each due offer closes in its own statement (its held places back to the day), then the day's
    // free places go to the next in line: no lock is held across a round trip.
    const rows = await s.db
      .select()
      .from(waitlistEntries)
      .where(
        and(
          inArray(waitlistEntries.id, g.ids),
          eq(waitlistEntries.status, "offered"),
          lte(waitlistEntries.offerExpiresAt, now),
        ),
      )
      .orderBy(asc(waitlistEntries.id));
    const closed: typeof rows = [];
    for (const r of rows) {
      if (await withRetries(logger, "waitlist.expire", () => closeEntry(s.db, r, "expired", now, now)))
        closed.push(r);
    }
    if (!closed.length) continue;
    const offers = await withRetries(logger, "waitlist.offer", () =>
      offerFreePlaces(s.db, g.festivalId, g.day, now),
    );
    expired += closed.length;
    for (const r of closed) await announceExpired(s, logger, toOffer(r));
    const released = closed.reduce((n, r) => n + r.heldQuantity, 0);
    await announceRelease(s, logger, g, released, offers);
  }
  if (expired)
    logger.info("waitlist offers expired", { count: expired, festivalId: opts.festivalId ?? null });
  return expired;
}

/** "Your offer expires soon", once per offer (the conditional UPDATE claims it). */
export async function remindExpiringOffers(s: Services, logger: Logger, now = new Date()): Promise<number> {
  const soon = new Date(now.getTime() + REMIND_BEFORE_MS);
  const rows = await s.db
    .select()
    .from(waitlistEntries)
    .where(
      and(
        eq(waitlistEntries.status, "offered"),
        lte(waitlistEntries.offerExpiresAt, soon),
        isNull(waitlistEntries.remindedAt),
        sql`${waitlistEntries.offerExpiresAt} > ${now}`,
        lte(waitlistEntries.offeredAt, new Date(now.getTime() - REMIND_BEFORE_MS)),
      ),
    )
    .limit(DUE_BATCH);
  let sent = 0;
  for (const r of rows) {
    const claimed = await s.db
      .update(waitlistEntries)
      .set({ remindedAt: now })
      .where(
        and(
          eq(waitlistEntries.id, r.id),
          isNull(waitlistEntries.remindedAt),
          eq(waitlistEntries.status, "offered"),
        ),
      );
    if (claimed.rowsAffected !== 1) continue;
    await announceExpiring(s, logger, toOffer(r));
    sent++;
  }
  return sent;
}

/** Rewrites the Redis hints of live offers (a hint lost to a Redis hiccup is back within a minute). */
export async function refreshOfferHints(s: Services, logger: Logger, now = new Date()): Promise<void> {
  const rows = await s.db
    .select()
    .from(waitlistEntries)
    .where(and(eq(waitlistEntries.status, "offered"), sql`${waitlistEntries.offerExpiresAt} > ${now}`))
    .limit(1000);
  await writeOfferHints(s, logger, rows.map(toOffer), now.getTime());
}
