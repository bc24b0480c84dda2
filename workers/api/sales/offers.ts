/**
 * Waitlist offers, as single autocommit statements (no lock on the day row outlives a statement).
 * Every change to `festival_days.held` is one statement that also keeps `reserved + held <=
 * capacity` and re-checks the entry it changes, so an offer can neither oversell nor be made twice:
 *
 *  - offerFreePlaces: after places were freed (cancellation, expiry, capacity raised, offer
 *    declined) the day's free places become `held` for the line in strict arrival order: the first
 *    entry not fully served gets what it still needs (or all that is free), and only then the next.
 *    An entry is offered from its first held place; later places top it up (and renew its expiry).
 *    So a group waiting for 4 is not overtaken by singles behind it, and the places it collects are
 *    never stuck: its offer expires like any other.
 *  - closeEntry: expiry, leaving and declining close the entry and give back its held places.
 *  - the claim (held → reserved) is the reservation's own confirming statement
 *    (reservations/confirm.ts confirmPendingClaim).
 */
import { and, asc, eq, gt, lt, or, sql } from "drizzle-orm";
import { festivalDays, festivals } from "../../db/schema/festivals";
import { type WaitlistEntry, waitlistEntries } from "../../db/schema/sales";
import type { Db } from "../../lib/db";
import { AppError } from "../../lib/errors";
import { todayIn } from "../../lib/time";

export interface Offer {
  entryId: number;
  festivalId: number;
  userId: number;
  day: string;
  /** Places held for the entry now. */
  quantity: number;
  /** Places it asked for. */
  requested: number;
  expiresAt: Date;
}

/** An offered entry as the announcements see it. */
export const toOffer = (e: WaitlistEntry): Offer => ({
  entryId: e.id,
  festivalId: e.festivalId,
  userId: e.userId,
  day: e.day,
  quantity: e.heldQuantity,
  requested: e.quantity,
  expiresAt: e.offerExpiresAt ?? new Date(0),
});

/**
 * Hands the day's free places to its line, strict arrival order, one entry per autocommit statement:
 * the statement adds to `held` only while `reserved + held + give <= capacity` and only if the entry
 * still holds what we read, so racing offerers (two cancellations, an expiry) can neither oversell
 * nor give twice; the loser reads again and goes on. No lock outlives its statement. Places freed
 * while nobody is offering them are public until the next statement here takes them for the line.
 */
export async function offerFreePlaces(db: Db, festivalId: number, day: string, now: Date): Promise<Offer[]> {
  const offers = new Map<number, Offer>();
  // Each round serves one entry or sees a race; the bound only guards against a livelock.
  for (let round = 0; round < 200; round++) {
    const [[d], [c]] = await Promise.all([
      db
        .select({
          capacity: festivalDays.capacity,
          reserved: festivalDays.reserved,
          held: festivalDays.held,
          cancelledAt: festivals.cancelledAt,
          saleClosesAt: festivals.saleClosesAt,
          offerMinutes: festivals.waitlistOfferMinutes,
          timezone: festivals.timezone,
        })
        .from(festivalDays)
        .innerJoin(festivals, eq(festivals.id, festivalDays.festivalId))
        .where(and(eq(festivalDays.festivalId, festivalId), eq(festivalDays.day, day))),
      db
        .select({
          id: waitlistEntries.id,
          userId: waitlistEntries.userId,
          quantity: waitlistEntries.quantity,
          heldQuantity: waitlistEntries.heldQuantity,
        })
        .from(waitlistEntries)
        .where(inLine(festivalId, day, now))
        .orderBy(asc(waitlistEntries.id))
        .limit(1),
    ]);
    // No offers once they could not be claimed: the reservation call refuses outside the sale.
    if (!d || d.cancelledAt || now >= d.saleClosesAt || day < todayIn(d.timezone, now)) break;
    const free = d.capacity - d.reserved - d.held;
    if (free <= 0 || !c) break;
    const give = Math.min(c.quantity - c.heldQuantity, free);
    const expiresAt = new Date(Math.min(now.getTime() + d.offerMinutes * 60_000, d.saleClosesAt.getTime()));
    const res = await db.execute(sql`
      UPDATE festival_days d JOIN waitlist_entries w ON w.id = ${c.id}
      SET d.held = d.held + ${give}, w.held_quantity = ${c.heldQuantity + give}, w.status = 'offered',
          w.offered_at = ${now}, w.offer_expires_at = ${expiresAt}, w.reminded_at = NULL, w.updated_at = ${now}
      WHERE d.festival_id = ${festivalId} AND d.day = ${day} AND d.reserved + d.held + ${give} <= d.capacity
        AND w.held_quantity = ${c.heldQuantity} AND w.live = 1
        AND (w.status = 'waiting' OR (w.status = 'offered' AND w.offer_expires_at > ${now}))`);
    if (res.rowsAffected > 0) {
      offers.set(c.id, {
        entryId: c.id,
        festivalId,
        userId: c.userId,
        day,
        quantity: c.heldQuantity + give,
        requested: c.quantity,
        expiresAt,
      });
    }
  }
  return [...offers.values()];
}

/**
 * Entries still in line for places: waiting, or offered and not yet expired (an offer past its expiry
 * is no longer in line: topping it up would renew it and pass over everyone behind it).
 */
const inLine = (festivalId: number, day: string, now: Date) =>
  and(
    eq(waitlistEntries.festivalId, festivalId),
    eq(waitlistEntries.day, day),
    or(
      eq(waitlistEntries.status, "waiting"),
      and(eq(waitlistEntries.status, "offered"), gt(waitlistEntries.offerExpiresAt, now)),
    ),
    lt(waitlistEntries.heldQuantity, waitlistEntries.quantity),
  );

/**
 * Closes a live entry and gives its held places back, in one statement (expired, left, declined).
 * `expect` is the entry as read; false when it changed meanwhile (the caller reads it again).
 */
export async function closeEntry(
  db: Db,
  e: Pick<WaitlistEntry, "id" | "festivalId" | "day" | "heldQuantity">,
  status: "expired" | "left" | "cancelled",
  now: Date,
  onlyIfDueBy?: Date,
): Promise<boolean> {
  const res = await db.execute(sql`
    UPDATE waitlist_entries w JOIN festival_days d ON d.festival_id = ${e.festivalId} AND d.day = ${e.day}
    SET w.status = ${status}, w.live = NULL, w.held_quantity = 0, w.closed_at = ${now}, w.updated_at = ${now},
        d.held = GREATEST(d.held - ${e.heldQuantity}, 0)
    WHERE w.id = ${e.id} AND w.live = 1 AND w.held_quantity = ${e.heldQuantity}
      ${onlyIfDueBy ? sql`AND w.status = 'offered' AND w.offer_expires_at <= ${onlyIfDueBy}` : sql``}`);
  return res.rowsAffected > 0;
}

export const offerExpired = () =>
  new AppError(
    409,
    "waitlist.offer_expired",
    "Your waitlist offer expired; the places went to the next in line",
  );
