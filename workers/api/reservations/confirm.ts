/**
 * The statements of one reservation (see service.ts for why they are shaped this way). Each is one
 * autocommit statement: no lock on a shared row outlives the statement that took it, so nothing
 * waits on a round trip, a slow Worker or a client that went away.
 */
import { and, eq, sql } from "drizzle-orm";
import { festivalDays, festivals } from "../../db/schema/festivals";
import { type Reservation, reservations, reservationUserTotals } from "../../db/schema/reservations";
import type { Db } from "../../lib/db";
import { errorText } from "../../lib/dependency-errors";

export interface PendingInput {
  festivalId: number;
  userId: number;
  day: string;
  quantity: number;
  at: Date;
  idempotency?: { keyHash: string; requestHash: string } | undefined;
}

/** MySQL refused a row for a unique key (errno 1062). */
export const isDuplicate = (err: unknown) => /\(errno 1062\)|Duplicate entry/.test(errorText(err));

/**
 * Step (a): the reservation as `pending` with its idempotency key, and the user's totals row (so the
 * confirming UPDATE can join it). Both in parallel: neither touches a shared row. Undefined when the
 * user already has a reservation with this key (the caller resolves that one instead).
 */
export async function insertPending(db: Db, p: PendingInput): Promise<number | undefined> {
  const [inserted] = await Promise.all([
    db
      .insert(reservations)
      .values({
        festivalId: p.festivalId,
        userId: p.userId,
        day: p.day,
        quantity: p.quantity,
        status: "pending",
        confirmedAt: p.at,
        createdAt: p.at,
        updatedAt: p.at,
        idempotencyKey: p.idempotency?.keyHash ?? null,
        requestHash: p.idempotency?.requestHash ?? null,
      })
      .$returningId()
      .catch((err: unknown) => {
        if (p.idempotency && isDuplicate(err)) return undefined;
        throw err;
      }),
    db
      .insert(reservationUserTotals)
      .ignore()
      .values({ festivalId: p.festivalId, userId: p.userId, quantity: 0 }),
  ]);
  return inserted?.[0]?.id;
}

export async function findByKey(db: Db, userId: number, keyHash: string): Promise<Reservation | undefined> {
  const [row] = await db
    .select()
    .from(reservations)
    .where(and(eq(reservations.userId, userId), eq(reservations.idempotencyKey, keyHash)))
    .limit(1);
  return row;
}

/**
 * Step (b), the only statement that touches the hot rows: confirms the pending row, raises the user's
 * total only within the per-user limit, and takes the places on the day (+ the festival's counter)
 * only if they fit and the festival is not cancelled. InnoDB evaluates the WHERE on the latest
 * committed rows under their locks, so of N racers exactly those that fit match. All values are
 * bound constants: a multi-table UPDATE does not promise the order of its assignments.
 * Returns whether it matched (false: see whyNot).
 */
export async function confirmPending(
  db: Db,
  r: { id: number; festivalId: number; userId: number; day: string; quantity: number },
): Promise<boolean> {
  const q = r.quantity;
  const res = await db.execute(sql`
    UPDATE reservations r
      JOIN reservation_user_totals t ON t.festival_id = ${r.festivalId} AND t.user_id = ${r.userId}
      JOIN festival_days d ON d.festival_id = ${r.festivalId} AND d.day = ${r.day}
      JOIN festivals f ON f.id = ${r.festivalId}
    SET r.status = 'confirmed', t.quantity = t.quantity + ${q},
        d.reserved = d.reserved + ${q}, f.reserved_count = f.reserved_count + ${q}
    WHERE r.id = ${r.id} AND r.status = 'pending' AND f.cancelled_at IS NULL
      AND t.quantity + ${q} <= f.per_user_limit
      AND d.reserved + d.held + ${q} <= d.capacity`);
  return res.rowsAffected > 0;
}

/**
 * The same step for a waitlist offer's holder: held → reserved, the entry claimed, in one statement.
 * `held` is the entry's held quantity as read before; a changed entry (topped up, expired) does not
 * match and the caller reads it again.
 */
export async function confirmPendingClaim(
  db: Db,
  r: { id: number; festivalId: number; userId: number; day: string; quantity: number },
  offer: { entryId: number; held: number },
  now: Date,
): Promise<boolean> {
  const q = r.quantity;
  const res = await db.execute(sql`
    UPDATE reservations r
      JOIN waitlist_entries w ON w.id = ${offer.entryId}
      JOIN reservation_user_totals t ON t.festival_id = ${r.festivalId} AND t.user_id = ${r.userId}
      JOIN festival_days d ON d.festival_id = ${r.festivalId} AND d.day = ${r.day}
      JOIN festivals f ON f.id = ${r.festivalId}
    SET r.status = 'confirmed', t.quantity = t.quantity + ${q},
        w.status = 'claimed', w.live = NULL, w.held_quantity = 0, w.reservation_id = ${r.id}, w.closed_at = ${now},
        d.reserved = d.reserved + ${q}, d.held = d.held - ${offer.held},
        f.reserved_count = f.reserved_count + ${q}
    WHERE r.id = ${r.id} AND r.status = 'pending' AND f.cancelled_at IS NULL
      AND w.status = 'offered' AND w.user_id = ${r.userId} AND w.festival_id = ${r.festivalId} AND w.day = ${r.day}
      AND w.held_quantity = ${offer.held} AND w.offer_expires_at > ${now}
      AND t.quantity + ${q} <= f.per_user_limit
      AND d.held >= ${offer.held} AND d.reserved + d.held - ${offer.held} + ${q} <= d.capacity`);
  return res.rowsAffected > 0;
}

export interface WhyNot {
  /** The row is confirmed after all: a repeat with the same key confirmed it first. */
  confirmed: boolean;
  /** The row is gone (the sweeper, or a repeat that failed it). */
  gone: boolean;
  cancelled: boolean;
  remaining: number;
  userTotal: number;
  limit: number;
}

/** Why confirmPending did not match, read in one statement (no locks: it only explains). */
export async function whyNot(
  db: Db,
  r: { id: number; festivalId: number; userId: number; day: string },
): Promise<WhyNot> {
  const [state] = await db
    .select({
      remaining:
        sql<number>`${festivalDays.capacity} - ${festivalDays.reserved} - ${festivalDays.held}`.mapWith(
          Number,
        ),
      cancelledAt: festivals.cancelledAt,
      limit: festivals.perUserLimit,
      userTotal: reservationUserTotals.quantity,
      status: reservations.status,
    })
    .from(festivals)
    .innerJoin(festivalDays, and(eq(festivalDays.festivalId, festivals.id), eq(festivalDays.day, r.day)))
    .leftJoin(
      reservationUserTotals,
      and(eq(reservationUserTotals.festivalId, festivals.id), eq(reservationUserTotals.userId, r.userId)),
    )
    .leftJoin(reservations, eq(reservations.id, r.id))
    .where(eq(festivals.id, r.festivalId));
  const status = state?.status ?? null;
  return {
    confirmed: status !== null && status !== "pending",
    gone: status === null,
    cancelled: !!state?.cancelledAt,
    remaining: state?.remaining ?? 0,
    userTotal: state?.userTotal ?? 0,
    limit: state?.limit ?? 0,
  };
}

/** Step (c): a refused reservation leaves no row (only while still pending: never a confirmed one). */
export async function dropPending(db: Db, id: number): Promise<boolean> {
  const res = await db
    .delete(reservations)
    .where(and(eq(reservations.id, id), eq(reservations.status, "pending")));
  return res.rowsAffected > 0;
}

/** Pendings older than this lost their Worker: a live request resolves its row within the retry budget. */
export const PENDING_GRACE_MS = 2 * 60_000;

/** The sweeper: pendings whose Worker died before confirming are deleted (they hold no places). */
export async function sweepPendings(db: Db, now = new Date()): Promise<number> {
  const res = await db.execute(sql`
    DELETE FROM reservations WHERE status = 'pending' AND created_at < ${new Date(now.getTime() - PENDING_GRACE_MS)}
    ORDER BY created_at LIMIT 1000`);
  return res.rowsAffected;
}
