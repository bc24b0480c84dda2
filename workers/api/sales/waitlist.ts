import { and, count, desc, eq, lt, sql } from "drizzle-orm";
import { festivalDays, festivalSaleColumns, festivals } from "../../db/schema/festivals";
import { reservationUserTotals } from "../../db/schema/reservations";
import { type WaitlistEntry, waitlistEntries } from "../../db/schema/sales";
import { AppError } from "../../lib/errors";
import type { Logger } from "../../lib/logger";
import { withRetries } from "../../lib/retry";
import type { Services } from "../../lib/services";
import { todayIn } from "../../lib/time";
import { announceRelease } from "./announce";
import { expireDueOffers } from "./expiry";
import { closeEntry, type Offer, offerFreePlaces } from "./offers";
import type { WaitlistEntryView, WaitlistList } from "./schemas";

async function positionOf(s: Services, e: WaitlistEntry): Promise<number | null> {
  if (e.status !== "waiting") return null;
  const [r] = await s.db
    .select({ n: count() })
    .from(waitlistEntries)
    .where(
      and(
        eq(waitlistEntries.festivalId, e.festivalId),
        eq(waitlistEntries.day, e.day),
        eq(waitlistEntries.status, "waiting"),
        lt(waitlistEntries.id, e.id),
      ),
    );
  return (r?.n ?? 0) + 1;
}

async function toView(s: Services, e: WaitlistEntry): Promise<WaitlistEntryView> {
  return {
    id: e.id,
    festivalId: e.festivalId,
    day: e.day,
    quantity: e.quantity,
    status: e.status,
    position: await positionOf(s, e),
    offer:
      e.status === "offered" && e.offeredAt && e.offerExpiresAt
        ? {
            quantity: e.heldQuantity,
            offeredAt: e.offeredAt.toISOString(),
            expiresAt: e.offerExpiresAt.toISOString(),
          }
        : null,
    reservationId: e.reservationId ?? null,
    createdAt: e.createdAt.toISOString(),
  };
}

const liveEntry = (festivalId: number, userId: number, day: string) =>
  and(
    eq(waitlistEntries.festivalId, festivalId),
    eq(waitlistEntries.userId, userId),
    eq(waitlistEntries.day, day),
    eq(waitlistEntries.live, 1),
  );

/**
 * Joins the line of a day that cannot serve `quantity` now. One live entry per user and day (the
 * unique index): joining again answers that entry.
 */
export async function joinWaitlist(
  s: Services,
  logger: Logger,
  festivalId: number,
  userId: number,
  input: { day: string; quantity: number },
  now = new Date(),
): Promise<{ entry: WaitlistEntryView; created: boolean }> {
  const { day, quantity } = input;
  const [found] = await s.db
    .select({ ...festivalSaleColumns, used: reservationUserTotals.quantity })
    .from(festivals)
    .leftJoin(
      reservationUserTotals,
      and(eq(reservationUserTotals.festivalId, festivals.id), eq(reservationUserTotals.userId, userId)),
    )
    .where(eq(festivals.id, festivalId))
    .limit(1);
  if (!found) throw new AppError(404, "festival.not_found", "No such festival");
  const reason = found.cancelledAt
    ? "cancelled"
    : now < found.saleOpensAt
      ? "not_yet_open"
      : now >= found.saleClosesAt
        ? "closed"
        : null;
  if (reason)
    throw new AppError(422, "waitlist.not_on_sale", "This festival is not on sale", { details: { reason } });
  if (day < found.startDate || day > found.endDate || day < todayIn(found.timezone, now)) {
    throw new AppError(422, "waitlist.invalid_day", "The festival has no places to sell on this day", {
      details: { day },
    });
  }
  const used = found.used ?? 0;
  if (used + quantity > found.perUserLimit) {
    throw new AppError(422, "waitlist.limit_exceeded", "This would pass the festival's per-user limit", {
      details: {
        limit: found.perUserLimit,
        alreadyReserved: used,
        requested: quantity,
      },
    });
  }

  // One statement decides and inserts: INSERT ... SELECT reads the day row under a lock that lasts
  // this statement only (never a round trip), so a cancellation either committed before (its freed
  // places count here and we refuse) or runs after (and its offer sees this entry).
  const inserted = await withRetries(logger, "waitlist.join", () =>
    s.db.execute(sql`
      INSERT IGNORE INTO waitlist_entries (festival_id, user_id, day, quantity, held_quantity, status, live, created_at, updated_at)
      SELECT ${festivalId}, ${userId}, d.day, ${quantity}, 0, 'waiting', 1, ${now}, ${now}
      FROM festival_days d
      WHERE d.festival_id = ${festivalId} AND d.day = ${day} AND d.capacity - d.reserved - d.held < ${quantity}`),
  );
  const [entry] = await s.db
    .select()
    .from(waitlistEntries)
    .where(liveEntry(festivalId, userId, day));
  const result = entry
    ? { entry, created: inserted.rowsAffected === 1 }
    : await (async () => {
        const [d] = await s.db
          .select()
          .from(festivalDays)
          .where(and(eq(festivalDays.festivalId, festivalId), eq(festivalDays.day, day)));
        if (!d)
          throw new AppError(422, "waitlist.invalid_day", "The festival has no places to sell on this day", {
            details: { day },
          });
        throw new AppError(409, "waitlist.places_available", "Places are available: reserve them directly", {
          details: { day, remaining: d.capacity - d.reserved - d.held },
        });
      })();
  if (result.created) logger.info("waitlist joined", { festivalId, day, quantity, entryId: result.entry.id });
  return { entry: await toView(s, result.entry), created: result.created };
}

/** The caller's entries in this festival, newest first (offers due are expired first). */
export async function myWaitlist(
  s: Services,
  logger: Logger,
  festivalId: number,
  userId: number,
): Promise<WaitlistList> {
  await expireDueOffers(s, logger, { festivalId });
  const rows = await s.db
    .select()
    .from(waitlistEntries)
    .where(and(eq(waitlistEntries.festivalId, festivalId), eq(waitlistEntries.userId, userId)))
    .orderBy(desc(waitlistEntries.id))
    .limit(100);
  return { items: await Promise.all(rows.map((e) => toView(s, e))), nextCursor: null };
}

/** Leaves (or declines an offer): held places pass to the next in line right after. */
export async function leaveWaitlist(
  s: Services,
  logger: Logger,
  festivalId: number,
  userId: number,
  day: string,
  status: "left" | "cancelled" = "left",
): Promise<void> {
  const now = new Date();
  let out: { released: number; offers: Offer[] } | undefined;
  // The entry as read, closed only if unchanged; a changed one (topped up meanwhile) is read again.
  for (let round = 0; round < 5 && !out; round++) {
    const [e] = await s.db
      .select()
      .from(waitlistEntries)
      .where(liveEntry(festivalId, userId, day));
    if (!e) break;
    if (!(await withRetries(logger, "waitlist.leave", () => closeEntry(s.db, e, status, now)))) continue;
    out = {
      released: e.heldQuantity,
      offers: e.heldQuantity
        ? await withRetries(logger, "waitlist.offer", () => offerFreePlaces(s.db, festivalId, day, now))
        : [],
    };
  }
  if (!out) throw new AppError(404, "waitlist.not_found", "You are not on this day's waitlist");
  await announceRelease(s, logger, { festivalId, day }, out.released, out.offers);
}
