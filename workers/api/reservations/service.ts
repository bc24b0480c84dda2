/**
 * Reservations: how sale day stays exact.
 *
 * MySQL is the only source of truth. One reservation is one InnoDB transaction (the PlanetScale
 * driver pins a real connection for it), with its locks taken in one fixed order so contenders
 * queue instead of deadlocking:
 *
 *   1. per-user limit: `INSERT INTO reservation_user_totals ... ON DUPLICATE KEY UPDATE quantity =
 *      IF(quantity + q <= limit, quantity + q, quantity)`. The row lock serialises one user's
 *      parallel requests; 0 affected rows means the limit would be passed.
 *   2. the reservation row is inserted (a new row: nobody waits on it).
 *   3. capacity, last, so the festival's hottest lock is held for the fewest round trips:
 *      `UPDATE festival_days d JOIN festivals f SET d.reserved += q, f.reserved_count += q
 *       WHERE day matches AND f.cancelled_at IS NULL AND d.reserved + d.held + q <= d.capacity`.
 *      InnoDB re-reads the latest committed row under the lock, so of N racers exactly the ones
 *      that fit succeed; 0 affected rows means sold out (or cancelled meanwhile) and everything
 *      rolls back. The festival check inside the same statement means a reservation either
 *      commits before a festival cancellation (and its hook then cancels it) or fails.
 *   4. COMMIT. Only then is the answer 201 (DESIGN invariant 2).
 *
 * Cancelling (cancel.ts) locks the reservation row (FOR UPDATE), then the user total, then the
 * day, and lowers the counts in the same transaction that changes the status.
 * Deadlocks and lock wait timeouts still happen under contention: the whole transaction is retried
 * with jitter (tx.ts), then 503. A Redis sold-out flag (sold-out.ts) sheds load once a day is
 * full; it can only say "no" early, never "yes", so losing Redis neither oversells nor loses a
 * reservation. Joining the festival chat room happens after COMMIT and never undoes a reservation.
 *
 * Sale-day flow control lives in ../sales: while a festival's waiting room is on, the call needs an
 * admission token (checked before the transaction, no I/O); a user holding a waitlist offer for the
 * day claims it here instead (its held places become reserved in step 3, see sales/offers.ts).
 */
import { and, eq, sql } from "drizzle-orm";
import { type Festival, festivalDays, festivals } from "../../db/schema/festivals";
import { type Reservation, reservations, reservationUserTotals } from "../../db/schema/reservations";
import { waitlistEntries } from "../../db/schema/sales";
import type { Tx } from "../../lib/db";
import { AppError } from "../../lib/errors";
import type { Logger } from "../../lib/logger";
import { withRetries } from "../../lib/retry";
import type { Services } from "../../lib/services";
import { todayIn } from "../../lib/time";
import { joinChatRoom } from "../chat/rooms";
import { notifyReservationConfirmed } from "../notifications/events";
import { admissionDone, requireAdmission } from "../sales/admission";
import { announceOffers, hasOfferHint } from "../sales/announce";
import { claimOffer, type Offer } from "../sales/offers";
import { checkInCode } from "./checkin-code";
import type { ReservationView } from "./schemas";
import { markSoldOut, readSoldOut } from "./sold-out";

export async function toView(env: Env, r: Reservation): Promise<ReservationView> {
  return {
    id: r.id,
    festivalId: r.festivalId,
    userId: r.userId,
    day: r.day,
    quantity: r.quantity,
    status: r.status,
    confirmedAt: r.confirmedAt.toISOString(),
    cancelledAt: r.cancelledAt?.toISOString() ?? null,
    cancelReason: r.cancelReason ?? null,
    checkedInAt: r.checkedInAt?.toISOString() ?? null,
    checkInCode: r.status === "cancelled" ? null : await checkInCode(env.CHECKIN_SECRET, r.id, r.festivalId),
    createdAt: r.createdAt.toISOString(),
  };
}

export async function findReservation(s: Services, id: number): Promise<Reservation | undefined> {
  const [row] = await s.db.select().from(reservations).where(eq(reservations.id, id)).limit(1);
  return row;
}

const festivalNotFound = () => new AppError(404, "festival.not_found", "No such festival");

function notOnSale(f: Festival, reason: "cancelled" | "not_yet_open" | "closed") {
  return new AppError(422, "reservation.not_on_sale", "This festival is not on sale", {
    details: {
      reason,
      saleOpensAt: f.saleOpensAt.toISOString(),
      saleClosesAt: f.saleClosesAt.toISOString(),
    },
  });
}

const soldOut = (day: string, remaining: number) =>
  new AppError(409, "reservation.sold_out", "Not enough places left on this day", {
    details: { day, remaining },
  });

function limitExceeded(limit: number, alreadyReserved: number, requested: number) {
  return new AppError(422, "reservation.limit_exceeded", "This would pass the festival's per-user limit", {
    details: {
      limit,
      alreadyReserved,
      requested,
    },
  });
}

export async function reserve(
  s: Services,
  env: Env,
  logger: Logger,
  userId: number,
  festivalId: number,
  input: { day: string; quantity: number; admissionToken?: string | undefined },
): Promise<ReservationView> {
  const { day, quantity } = input;
  const flag = await readSoldOut(s, festivalId, day);
  // A waitlist offer's places are held, so its day looks full: the hint lets its holder through.
  if (flag?.soldOut && !(await hasOfferHint(s, festivalId, day, userId))) throw soldOut(day, 0);

  const [found] = await withRetries(logger, "reserve.read", () =>
    s.db
      .select({ festival: festivals, capacity: festivalDays.capacity, offerId: waitlistEntries.id })
      .from(festivals)
      .leftJoin(festivalDays, and(eq(festivalDays.festivalId, festivals.id), eq(festivalDays.day, day)))
      // The user's waitlist offer for this day, if any: reserving the day claims it.
      .leftJoin(
        waitlistEntries,
        and(
          eq(waitlistEntries.festivalId, festivals.id),
          eq(waitlistEntries.userId, userId),
          eq(waitlistEntries.day, day),
          eq(waitlistEntries.status, "offered"),
        ),
      )
      .where(eq(festivals.id, festivalId))
      .limit(1),
  );
  if (!found) throw festivalNotFound();
  const f = found.festival;
  const now = new Date();
  if (f.cancelledAt) throw notOnSale(f, "cancelled");
  if (now < f.saleOpensAt) throw notOnSale(f, "not_yet_open");
  if (now >= f.saleClosesAt) throw notOnSale(f, "closed");
  if (found.capacity === null || day < f.startDate || day > f.endDate || day < todayIn(f.timezone, now)) {
    throw new AppError(422, "reservation.invalid_day", "The festival has no places to sell on this day", {
      details: {
        day,
        startDate: f.startDate,
        endDate: f.endDate,
      },
    });
  }
  const offerId = found.offerId;
  // An offer holder already waited their turn; everyone else needs an admission while the queue is on.
  const admitted = offerId
    ? false
    : await requireAdmission(env, f, userId, input.admissionToken, now.getTime());
  if (quantity > f.perUserLimit) throw limitExceeded(f.perUserLimit, 0, quantity);

  let offers: Offer[] = [];
  const outcome = await withRetries(logger, "reserve", () =>
    s.db
      .transaction(async (tx) => {
        offers = [];
        const total = await tx.execute(sql`
        INSERT INTO reservation_user_totals (festival_id, user_id, quantity) VALUES (${festivalId}, ${userId}, ${quantity})
        ON DUPLICATE KEY UPDATE quantity = IF(quantity + ${quantity} <= ${f.perUserLimit}, quantity + ${quantity}, quantity)`);
        if (total.rowsAffected === 0) {
          const [held] = await tx
            .select({ quantity: reservationUserTotals.quantity })
            .from(reservationUserTotals)
            .where(
              and(eq(reservationUserTotals.festivalId, festivalId), eq(reservationUserTotals.userId, userId)),
            );
          throw limitExceeded(f.perUserLimit, held?.quantity ?? 0, quantity);
        }
        const confirmedAt = new Date();
        const [inserted] = await tx
          .insert(reservations)
          .values({
            festivalId,
            userId,
            day,
            quantity,
            status: "confirmed",
            confirmedAt,
            createdAt: confirmedAt,
          })
          .$returningId();
        const id = (inserted as { id: number }).id;
        if (offerId) {
          // Held → reserved for the offer holder (sales/offers.ts), in this transaction.
          const claim = await claimOffer(
            tx,
            { entryId: offerId, userId, festivalId, day, quantity, reservationId: id },
            confirmedAt,
          );
          if (!claim.taken) throw await whyNotTaken(tx, festivalId, day);
          offers = claim.offers;
          return { ok: true as const, id, confirmedAt };
        }
        const taken = await tx.execute(sql`
        UPDATE festival_days d JOIN festivals f ON f.id = d.festival_id
        SET d.reserved = d.reserved + ${quantity}, f.reserved_count = f.reserved_count + ${quantity}
        WHERE d.festival_id = ${festivalId} AND d.day = ${day} AND f.cancelled_at IS NULL
          AND d.reserved + d.held + ${quantity} <= d.capacity`);
        if (taken.rowsAffected === 0) throw await whyNotTaken(tx, festivalId, day);
        return { ok: true as const, id, confirmedAt };
      })
      .catch((err: unknown) => {
        if (err instanceof NotTaken) return { ok: false as const, ...err.why };
        throw err;
      }),
  );

  if (!outcome.ok) {
    if (outcome.cancelled) throw notOnSale(f, "cancelled");
    if (outcome.remaining <= 0) await markSoldOut(s, festivalId, day, flag);
    throw soldOut(day, Math.max(0, outcome.remaining));
  }

  if (admitted) await admissionDone(s, logger, f, userId);
  await announceOffers(s, logger, offers);
  try {
    // Many buyers join one room in the same second: its membership writes contend too.
    await withRetries(logger, "join chat room", () => joinChatRoom(s, festivalId, userId));
  } catch (err) {
    logger.error("joining the festival chat room failed; the reservation stands", {
      festivalId,
      userId,
      error: err,
      cause: (err as { cause?: unknown }).cause,
    });
  }
  logger.info("reservation confirmed", { reservationId: outcome.id, festivalId, day, quantity });
  await notifyReservationConfirmed(s, logger, { id: outcome.id, userId, festivalId, day, quantity }, f.title);
  const row: Reservation = {
    id: outcome.id,
    festivalId,
    userId,
    day,
    quantity,
    status: "confirmed",
    confirmedAt: outcome.confirmedAt,
    cancelledAt: null,
    cancelReason: null,
    checkedInAt: null,
    createdAt: outcome.confirmedAt,
    updatedAt: outcome.confirmedAt,
  };
  return toView(env, row);
}

/** Carries the sold-out facts out of the transaction callback, whose throw is what rolls it back. */
class NotTaken extends Error {
  readonly why: { remaining: number; cancelled: boolean };
  constructor(why: { remaining: number; cancelled: boolean }) {
    super("not taken");
    this.why = why;
  }
}

async function whyNotTaken(tx: Tx, festivalId: number, day: string): Promise<NotTaken> {
  const [state] = await tx
    .select({
      remaining:
        sql<number>`${festivalDays.capacity} - ${festivalDays.reserved} - ${festivalDays.held}`.mapWith(
          Number,
        ),
      cancelledAt: festivals.cancelledAt,
    })
    .from(festivalDays)
    .innerJoin(festivals, eq(festivals.id, festivalDays.festivalId))
    .where(and(eq(festivalDays.festivalId, festivalId), eq(festivalDays.day, day)));
  return new NotTaken({ remaining: state?.remaining ?? 0, cancelled: !!state?.cancelledAt });
}

export const reservationNotFound = () => new AppError(404, "reservation.not_found", "No such reservation");
