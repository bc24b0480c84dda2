/**
 * Waitlist offers inside the caller's InnoDB transaction. Every change to `festival_days.held` is a
 * statement that also keeps `reserved + held <= capacity`, taken under the day row's lock, so an
 * offer can neither oversell nor be made twice:
 *
 *  - offerFreePlaces: after places were freed (cancellation, expiry, capacity raised, offer
 *    declined) the day's free places become `held` for the line in strict arrival order: the first
 *    entry not fully served gets what it still needs (or all that is free), and only then the next.
 *    An entry is offered from its first held place; later places top it up (and renew its expiry).
 *    So a group waiting for 4 is not overtaken by singles behind it, and the places it collects are
 *    never stuck: its offer expires like any other. This runs in the cancelling transaction itself:
 *    the public never sees the freed places.
 *  - claimOffer: the reservation call converts the user's offer, held → reserved, in its transaction.
 *
 * Lock order, shared with reservations: [reservation rows → user totals →] offered entry → day row
 * (+ festival) → waiting entries. The expiry job and a claim both take the offered entry first.
 */
import { and, asc, eq, gt, inArray, lt, or, sql } from "drizzle-orm";
import { festivalDays, festivals } from "../../db/schema/festivals";
import { type WaitlistEntry, waitlistEntries } from "../../db/schema/sales";
import type { Tx } from "../../lib/db";
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

export async function offerFreePlaces(tx: Tx, festivalId: number, day: string, now: Date): Promise<Offer[]> {
  const [d] = await tx
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
    .where(and(eq(festivalDays.festivalId, festivalId), eq(festivalDays.day, day)))
    .for("update");
  // No offers once they could not be claimed: the reservation call refuses outside the sale.
  if (!d || d.cancelledAt || now >= d.saleClosesAt || day < todayIn(d.timezone, now)) return [];
  let free = d.capacity - d.reserved - d.held;
  if (free <= 0) return [];
  const candidates = await tx
    .select({
      id: waitlistEntries.id,
      userId: waitlistEntries.userId,
      quantity: waitlistEntries.quantity,
      heldQuantity: waitlistEntries.heldQuantity,
    })
    .from(waitlistEntries)
    .where(
      and(
        eq(waitlistEntries.festivalId, festivalId),
        eq(waitlistEntries.day, day),
        // An offer past its expiry is no longer in line (the job or the next read expires it): topping
        // it up would renew it and pass over everyone behind it.
        or(
          eq(waitlistEntries.status, "waiting"),
          and(eq(waitlistEntries.status, "offered"), gt(waitlistEntries.offerExpiresAt, now)),
        ),
        lt(waitlistEntries.heldQuantity, waitlistEntries.quantity),
      ),
    )
    .orderBy(asc(waitlistEntries.id))
    // Each entry served takes at least one place.
    .limit(free)
    .for("update");
  const served: ((typeof candidates)[number] & { give: number })[] = [];
  for (const c of candidates) {
    const give = Math.min(c.quantity - c.heldQuantity, free);
    served.push({ ...c, give });
    free -= give;
    if (free === 0) break;
  }
  if (!served.length) return [];
  const expiresAt = new Date(Math.min(now.getTime() + d.offerMinutes * 60_000, d.saleClosesAt.getTime()));
  const offer = { status: "offered" as const, offeredAt: now, offerExpiresAt: expiresAt, remindedAt: null };
  // All but possibly the last are now fully served: one statement for them.
  const full = served.filter((c) => c.heldQuantity + c.give === c.quantity).map((c) => c.id);
  if (full.length) {
    await tx
      .update(waitlistEntries)
      .set({ ...offer, heldQuantity: sql`${waitlistEntries.quantity}` })
      .where(inArray(waitlistEntries.id, full));
  }
  for (const c of served.filter((c) => c.heldQuantity + c.give < c.quantity)) {
    await tx
      .update(waitlistEntries)
      .set({ ...offer, heldQuantity: c.heldQuantity + c.give })
      .where(eq(waitlistEntries.id, c.id));
  }
  const total = served.reduce((n, c) => n + c.give, 0);
  const res = await tx.execute(sql`
    UPDATE festival_days SET held = held + ${total}
    WHERE festival_id = ${festivalId} AND day = ${day} AND reserved + held + ${total} <= capacity`);
  // Cannot happen under the row lock; if it ever did, the rollback keeps the invariant.
  if (res.rowsAffected !== 1) throw new Error("waitlist offer would pass the day's capacity");
  return served.map((c) => ({
    entryId: c.id,
    festivalId,
    userId: c.userId,
    day,
    quantity: c.heldQuantity + c.give,
    requested: c.quantity,
    expiresAt,
  }));
}

/** Gives back an entry's held places (offer expired or declined); the caller re-offers them. */
export async function releaseHeld(tx: Tx, festivalId: number, day: string, quantity: number): Promise<void> {
  if (quantity <= 0) return;
  await tx.execute(sql`
    UPDATE festival_days SET held = GREATEST(held - ${quantity}, 0)
    WHERE festival_id = ${festivalId} AND day = ${day}`);
}

export const offerExpired = () =>
  new AppError(
    409,
    "waitlist.offer_expired",
    "Your waitlist offer expired; the places went to the next in line",
  );

/**
 * Converts the user's offer for this day into the reservation `reservationId` (already inserted by
 * the caller). Returns false when capacity does not allow it (more places asked than held and none
 * free); the caller rolls back and answers sold out. Asking for fewer places than held releases the
 * rest to the next in line, in the same transaction.
 */
export async function claimOffer(
  tx: Tx,
  a: {
    entryId: number;
    userId: number;
    festivalId: number;
    day: string;
    quantity: number;
    reservationId: number;
  },
  now: Date,
): Promise<{ taken: boolean; offers: Offer[] }> {
  const [e] = await tx.select().from(waitlistEntries).where(eq(waitlistEntries.id, a.entryId)).for("update");
  if (
    e?.status !== "offered" ||
    e.userId !== a.userId ||
    e.festivalId !== a.festivalId ||
    e.day !== a.day ||
    !e.offerExpiresAt ||
    e.offerExpiresAt <= now
  ) {
    throw offerExpired();
  }
  const taken = await tx.execute(sql`
    UPDATE festival_days d JOIN festivals f ON f.id = d.festival_id
    SET d.reserved = d.reserved + ${a.quantity}, d.held = d.held - ${e.heldQuantity},
        f.reserved_count = f.reserved_count + ${a.quantity}
    WHERE d.festival_id = ${a.festivalId} AND d.day = ${a.day} AND f.cancelled_at IS NULL
      AND d.held >= ${e.heldQuantity} AND d.reserved + d.held - ${e.heldQuantity} + ${a.quantity} <= d.capacity`);
  if (taken.rowsAffected === 0) return { taken: false, offers: [] };
  await tx
    .update(waitlistEntries)
    .set({ status: "claimed", live: null, heldQuantity: 0, reservationId: a.reservationId, closedAt: now })
    .where(eq(waitlistEntries.id, e.id));
  const offers = a.quantity < e.heldQuantity ? await offerFreePlaces(tx, a.festivalId, a.day, now) : [];
  return { taken: true, offers };
}
