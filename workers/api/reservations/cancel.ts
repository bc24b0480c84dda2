import { and, asc, eq, inArray, sql } from "drizzle-orm";
import { festivals } from "../../db/schema/festivals";
import { type CancelReason, type Reservation, reservations } from "../../db/schema/reservations";
import { AppError } from "../../lib/errors";
import { createLogger, type Logger } from "../../lib/logger";
import { withRetries } from "../../lib/retry";
import type { Services } from "../../lib/services";
import { todayIn } from "../../lib/time";
import { notifyReservationCancelled } from "../notifications/events";
import { announceOffers } from "../sales/announce";
import { type Offer, offerFreePlaces } from "../sales/offers";
import type { ReservationView } from "./schemas";
import { findReservation, reservationNotFound, toView } from "./service";
import { clearSoldOut } from "./sold-out";

// Lock order, as in reserve(): reservation rows, then user totals, then days + festival (sorted),
// then (sales/offers.ts) the waitlist entries that the freed places are offered to.

/**
 * Cancels those of `ids` that are still confirmed, freeing their places in the same transaction,
 * where they go first to the day's waitlist (held for the next entries), then to the public.
 * Returns the ids it cancelled (a concurrent cancel or check-in may have won the others).
 */
export async function cancelReservations(
  s: Services,
  logger: Logger,
  ids: number[],
  reason: CancelReason,
): Promise<number[]> {
  if (!ids.length) return [];
  let offers: Offer[] = [];
  const freed = await withRetries(logger, "cancel", () =>
    s.db.transaction(async (tx) => {
      offers = [];
      const rows = await tx
        .select({
          id: reservations.id,
          festivalId: reservations.festivalId,
          userId: reservations.userId,
          day: reservations.day,
          quantity: reservations.quantity,
        })
        .from(reservations)
        .where(and(inArray(reservations.id, ids), eq(reservations.status, "confirmed")))
        .orderBy(asc(reservations.id))
        .for("update");
      if (!rows.length) return rows;
      await tx
        .update(reservations)
        .set({ status: "cancelled", cancelledAt: new Date(), cancelReason: reason })
        .where(
          inArray(
            reservations.id,
            rows.map((r) => r.id),
          ),
        );
      for (const [[festivalId, userId], quantity] of sumBy(rows, (r) => [r.festivalId, r.userId] as const)) {
        await tx.execute(sql`
          UPDATE reservation_user_totals SET quantity = quantity - ${quantity}
          WHERE festival_id = ${festivalId} AND user_id = ${userId}`);
      }
      for (const [[festivalId, day], quantity] of sumBy(rows, (r) => [r.festivalId, r.day] as const)) {
        await tx.execute(sql`
          UPDATE festival_days d JOIN festivals f ON f.id = d.festival_id
          SET d.reserved = d.reserved - ${quantity}, f.reserved_count = f.reserved_count - ${quantity}
          WHERE d.festival_id = ${festivalId} AND d.day = ${day}`);
        offers.push(...(await offerFreePlaces(tx, festivalId, day, new Date())));
      }
      return rows;
    }),
  );
  await announceOffers(s, logger, offers);
  await clearSoldOut(
    s,
    logger,
    [...sumBy(freed, (r) => [r.festivalId, r.day] as const)].map(([[festivalId, day]]) => ({
      festivalId,
      day,
    })),
  );
  return freed.map((r) => r.id);
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

/** A user cancels their own reservation: another user's is a 404, like one that does not exist. */
export async function cancelOwn(
  s: Services,
  env: Env,
  logger: Logger,
  userId: number,
  reservationId: number,
): Promise<ReservationView> {
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
  const done = await cancelReservations(s, logger, [r.id], "user");
  const after = await findReservation(s, r.id);
  if (!after) throw reservationNotFound();
  if (!done.length) throw notCancellable(after);
  logger.info("reservation cancelled", { reservationId: r.id, reason: "user" });
  await notifyReservationCancelled(s, logger, after);
  return toView(env, after);
}

function notCancellable(r: Reservation) {
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

/** A cancelled festival cancels every confirmed reservation it still has, in batches. */
export async function cancelFestivalReservations(s: Services, festivalId: number): Promise<number> {
  const logger = hookLogger();
  let total = 0;
  for (;;) {
    const batch = await s.db
      .select({ id: reservations.id })
      .from(reservations)
      .where(and(eq(reservations.festivalId, festivalId), eq(reservations.status, "confirmed")))
      .orderBy(asc(reservations.id))
      .limit(BATCH);
    if (!batch.length) break;
    total += (
      await cancelReservations(
        s,
        logger,
        batch.map((r) => r.id),
        "festival_cancelled",
      )
    ).length;
  }
  logger.info("festival reservations cancelled", { festivalId, count: total });
  return total;
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
