import { and, asc, eq, inArray, lt, sql } from "drizzle-orm";
import { festivals } from "../../db/schema/festivals";
import { type CancelReason, reservations } from "../../db/schema/reservations";
import { waitlistEntries } from "../../db/schema/sales";
import { AppError } from "../../lib/errors";
import { addFollowUp, finishFollowUp } from "../../lib/follow-ups";
import { createLogger, type Logger } from "../../lib/logger";
import { withRetries } from "../../lib/retry";
import type { Services } from "../../lib/services";
import { todayIn } from "../../lib/time";
import { announceOffers } from "../sales/announce";
import { offerFreePlaces } from "../sales/offers";
import type { ReservationView } from "./schemas";
import {
  type FollowUpRef,
  findReservation,
  reservationNotFound,
  type ShownReservation,
  toView,
} from "./service";
import { clearSoldOut } from "./sold-out";

/**
 * Cancels those of `ids` that are still confirmed, one autocommit statement each: the status flips,
 * and the user's total, the day and the festival's counter go down, all in that statement, so no
 * lock on a shared row outlives it (the old transaction held the day row across round trips, and a
 * festival cancellation then stalled its sale for seconds). Freed places then go to the day's
 * waitlist first (sales/offers.ts; only when someone is waiting for places), then to the public.
 * Returns the ids it cancelled (a concurrent cancel or check-in may have won the others).
 */
export async function cancelReservations(
  s: Services,
  logger: Logger,
  ids: number[],
  reason: CancelReason,
): Promise<number[]> {
  if (!ids.length) return [];
  const rows = await s.db
    .select({
      id: reservations.id,
      festivalId: reservations.festivalId,
      userId: reservations.userId,
      day: reservations.day,
      quantity: reservations.quantity,
    })
    .from(reservations)
    .where(and(inArray(reservations.id, ids), eq(reservations.status, "confirmed")))
    .orderBy(asc(reservations.id));
  const freed: typeof rows = [];
  // A few at a time: they meet on the same day row, each for one statement only.
  for (let i = 0; i < rows.length; i += PARALLEL) {
    const batch = rows.slice(i, i + PARALLEL);
    const done = await Promise.all(
      batch.map((r) => withRetries(logger, "cancel", () => cancelOne(s, r, reason, new Date()))),
    );
    freed.push(...batch.filter((_, j) => done[j]));
  }
  const days = [...sumBy(freed, (r) => [r.festivalId, r.day] as const)].map(([[festivalId, day]]) => ({
    festivalId,
    day,
  }));
  for (const { festivalId, day } of days) await offerToWaitlist(s, logger, festivalId, day);
  await clearSoldOut(s, logger, days);
  return freed.map((r) => r.id);
}

const PARALLEL = 8;

/** One reservation: confirmed → cancelled with its places given back, or nothing (someone else won). */
async function cancelOne(
  s: Services,
  r: { id: number; festivalId: number; userId: number; day: string; quantity: number },
  reason: CancelReason,
  now: Date,
): Promise<boolean> {
  const res = await s.db.execute(sql`
    UPDATE reservations r
      JOIN reservation_user_totals t ON t.festival_id = ${r.festivalId} AND t.user_id = ${r.userId}
      JOIN festival_days d ON d.festival_id = ${r.festivalId} AND d.day = ${r.day}
      JOIN festivals f ON f.id = ${r.festivalId}
    SET r.status = 'cancelled', r.cancelled_at = ${now}, r.cancel_reason = ${reason}, r.updated_at = ${now},
        t.quantity = t.quantity - ${r.quantity},
        d.reserved = d.reserved - ${r.quantity}, f.reserved_count = f.reserved_count - ${r.quantity}
    WHERE r.id = ${r.id} AND r.status = 'confirmed' AND r.quantity = ${r.quantity}`);
  return res.rowsAffected > 0;
}

/** Freed places go to the line first; a day nobody waits on skips the offer transaction entirely. */
async function offerToWaitlist(s: Services, logger: Logger, festivalId: number, day: string) {
  const [waiting] = await s.db
    .select({ id: waitlistEntries.id })
    .from(waitlistEntries)
    .where(
      and(
        eq(waitlistEntries.festivalId, festivalId),
        eq(waitlistEntries.day, day),
        eq(waitlistEntries.live, 1),
        lt(waitlistEntries.heldQuantity, waitlistEntries.quantity),
      ),
    )
    .limit(1);
  if (!waiting) return;
  const offers = await withRetries(logger, "waitlist.offer", () =>
    offerFreePlaces(s.db, festivalId, day, new Date()),
  );
  await announceOffers(s, logger, offers);
}

/** Quantities summed per key, in key order: every transaction then locks rows in the same order. */
function sumBy<R extends { quantity: number }, K extends readonly [number, number | string]>(
  rows: R[],
  key: (r: R) => K,
): [K, number][] {
  const sums = new Map<string, [K, number]>();
  for (const r of rows) {
    const k = key(r);
    const entry = sums.get(JSON.stringify(k));
    if (entry) entry[1] += r.quantity;
    else sums.set(JSON.stringify(k), [k, r.quantity]);
  }
  return [...sums.values()].sort(([a], [b]) => a[0] - b[0] || (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
}

export interface CancelOutcome {
  view: ReservationView;
  /** The holder's notice, an outbox row the route runs before answering (workers/api/follow-ups.ts). */
  followUp: FollowUpRef;
}

/**
 * Cancels one confirmed reservation and queues the holder's notice: the outbox row goes first (the
 * cancel is one autocommit statement, with no transaction to share), so a Worker that dies right
 * after the cancel leaves the notice to the cron; if the cancel did not happen, the row is dropped
 * (or its handler finds the reservation not cancelled and does nothing).
 */
async function cancelWithNotice(
  s: Services,
  env: Env,
  logger: Logger,
  r: ShownReservation,
  reason: CancelReason,
): Promise<CancelOutcome> {
  const followUp = { kind: "reservation.cancelled", payload: { reservationId: r.id } };
  const id = await withRetries(logger, "cancel.outbox", () => addFollowUp(s.db, followUp));
  const done = await cancelReservations(s, logger, [r.id], reason);
  const after = await findReservation(s, r.id);
  if (!after) throw reservationNotFound();
  if (!done.length) {
    await finishFollowUp(s.db, id).catch(() => {});
    throw notCancellable(after);
  }
  logger.info("reservation cancelled", { reservationId: r.id, reason });
  return { view: await toView(env, after), followUp: { id, ...followUp } };
}

/** A user cancels their own reservation: another user's is a 404, like one that does not exist. */
export async function cancelOwn(
  s: Services,
  env: Env,
  logger: Logger,
  userId: number,
  reservationId: number,
): Promise<CancelOutcome> {
  const r = await findReservation(s, reservationId);
  if (!r || r.userId !== userId) throw reservationNotFound();
  if (r.status !== "confirmed") throw notCancellable(r);
  const [f] = await s.db
    .select({ timezone: festivals.timezone })
    .from(festivals)
    .where(eq(festivals.id, r.festivalId));
  if (r.day < todayIn(f?.timezone ?? "UTC")) {
    throw new AppError(422, "reservation.cancel_closed", "A reservation for a past day cannot be cancelled", {
      details: { day: r.day },
    });
  }
  return cancelWithNotice(s, env, logger, r, "user");
}

/**
 * An admin cancels any user's confirmed reservation (a past day too: the admin decides). Its places
 * are free again and go to the day's waitlist first, as with the holder's own cancel.
 */
export async function cancelByAdmin(
  s: Services,
  env: Env,
  logger: Logger,
  reservationId: number,
): Promise<CancelOutcome> {
  const r = await findReservation(s, reservationId);
  if (!r) throw reservationNotFound();
  if (r.status !== "confirmed") throw notCancellable(r);
  return cancelWithNotice(s, env, logger, r, "admin");
}

function notCancellable(r: ShownReservation) {
  return new AppError(
    409,
    "reservation.not_cancellable",
    `This reservation is ${r.status.replace("_", " ")}`,
    {
      details: { status: r.status },
    },
  );
}

const BATCH = 200;
const hookLogger = () => createLogger({ area: "reservations" });

/** Reservations one step of a festival's cancellation flips (one statement, its locks for that statement). */
export const FESTIVAL_CHUNK = 500;

/**
 * One step of the festival-cancellation job (hooks.ts): up to FESTIVAL_CHUNK confirmed reservations
 * flip to cancelled in ONE set-based statement, instead of one multi-table UPDATE each (20k holders
 * were 20k statements inside the admin's request). The counters are not touched per row: once none
 * is left, they are recounted from the rows in three statements. That is exact because nothing can
 * add to them any more: the confirming UPDATE refuses a cancelled festival, check-in refuses it, and
 * a user's own cancel that wins a row first only lowers counters the recount sets anyway.
 * Returns 0 to be called again, null when done.
 */
export async function cancelFestivalReservations(s: Services, festivalId: number): Promise<number | null> {
  const logger = hookLogger();
  const now = new Date();
  const res = await withRetries(logger, "festival_cancel.chunk", () =>
    s.db.execute(sql`
      UPDATE reservations SET status = 'cancelled', cancelled_at = ${now}, cancel_reason = 'festival_cancelled',
        updated_at = ${now}
      WHERE festival_id = ${festivalId} AND status = 'confirmed' ORDER BY id LIMIT ${FESTIVAL_CHUNK}`),
  );
  if (res.rowsAffected >= FESTIVAL_CHUNK) return 0;
  await withRetries(logger, "festival_cancel.recount", () => recount(s, festivalId));
  logger.info("festival reservations cancelled", { festivalId });
  return null;
}

const ACTIVE = sql`('confirmed', 'checked_in')`;

async function recount(s: Services, festivalId: number): Promise<void> {
  await s.db.execute(sql`
    UPDATE festival_days d SET d.reserved = (SELECT COALESCE(SUM(r.quantity), 0) FROM reservations r
      WHERE r.festival_id = d.festival_id AND r.day = d.day AND r.status IN ${ACTIVE})
    WHERE d.festival_id = ${festivalId}`);
  await s.db.execute(sql`
    UPDATE reservation_user_totals t SET t.quantity = (SELECT COALESCE(SUM(r.quantity), 0) FROM reservations r
      WHERE r.festival_id = t.festival_id AND r.user_id = t.user_id AND r.status IN ${ACTIVE})
    WHERE t.festival_id = ${festivalId}`);
  await s.db.execute(sql`
    UPDATE festivals f SET f.reserved_count = (SELECT COALESCE(SUM(r.quantity), 0) FROM reservations r
      WHERE r.festival_id = f.id AND r.status IN ${ACTIVE})
    WHERE f.id = ${festivalId}`);
}

/** A deleted account gives back the places of its reservations for days still to come. */
export async function cancelFutureReservationsOf(s: Services, userId: number): Promise<number> {
  const logger = hookLogger();
  const rows = await s.db
    .select({ id: reservations.id, day: reservations.day, timezone: festivals.timezone })
    .from(reservations)
    .innerJoin(festivals, eq(festivals.id, reservations.festivalId))
    .where(and(eq(reservations.userId, userId), eq(reservations.status, "confirmed")));
  const future = rows.filter((r) => r.day >= todayIn(r.timezone)).map((r) => r.id);
  let total = 0;
  for (let i = 0; i < future.length; i += BATCH) {
    total += (await cancelReservations(s, logger, future.slice(i, i + BATCH), "account_deleted")).length;
  }
  return total;
}
