import { eq, sql } from "drizzle-orm";
import { festivals } from "../../db/schema/festivals";
import { AppError } from "../../lib/errors";
import type { Logger } from "../../lib/logger";
import type { Services } from "../../lib/services";
import { todayIn } from "../../lib/time";
import { parseCheckInCode, verifyCheckInCode } from "./checkin-code";
import type { ReservationView } from "./schemas";
import { findReservation, toView } from "./service";

const invalid = () => new AppError(422, "checkin.invalid", "This is not a valid check-in code");

/**
 * Staff scan a code at the gate of `festivalId`. The code is accepted once, on its own day, while
 * the festival is not cancelled: one conditional UPDATE checks all of that under the row lock, so two
 * gates scanning the same code at the same moment cannot both let it in, and a cancellation that
 * commits meanwhile is not let through either. The reads before it only choose the answer.
 */
export async function checkIn(
  s: Services,
  env: Env,
  logger: Logger,
  festivalId: number,
  code: string,
): Promise<ReservationView> {
  const parsed = parseCheckInCode(code);
  if (!parsed) throw invalid();
  const r = await findReservation(s, parsed.reservationId);
  // An unknown id and a bad signature look the same: the answer tells a forger nothing.
  if (!r || !(await verifyCheckInCode(env.CHECKIN_SECRET, parsed, r.festivalId))) throw invalid();
  if (r.festivalId !== festivalId) {
    throw new AppError(422, "checkin.wrong_festival", "This code is for another festival", {
      details: { festivalId: r.festivalId },
    });
  }
  const [f] = await s.db
    .select({ cancelledAt: festivals.cancelledAt, timezone: festivals.timezone })
    .from(festivals)
    .where(eq(festivals.id, festivalId));
  if (!f || f.cancelledAt) throw festivalCancelled();
  const today = todayIn(f.timezone);
  const done = await s.db.execute(sql`
    UPDATE reservations r JOIN festivals f ON f.id = r.festival_id
    SET r.status = 'checked_in', r.checked_in_at = ${new Date()}
    WHERE r.id = ${r.id} AND r.status = 'confirmed' AND r.day = ${today} AND f.cancelled_at IS NULL`);
  const after = await findReservation(s, r.id);
  if (!after) throw invalid();
  if (done.rowsAffected === 0) {
    if (after.status === "checked_in") {
      throw new AppError(409, "checkin.already_used", "This code was already used", {
        details: { checkedInAt: after.checkedInAt?.toISOString() ?? null },
      });
    }
    if (after.status === "cancelled") {
      throw new AppError(422, "checkin.reservation_cancelled", "This reservation was cancelled", {
        details: { cancelReason: after.cancelReason },
      });
    }
    if (after.day !== today) {
      throw new AppError(422, "checkin.wrong_day", "This code is for another day", {
        details: { day: after.day, today },
      });
    }
    throw festivalCancelled();
  }
  logger.info("checked in", { reservationId: r.id, festivalId });
  return toView(env, after);
}

const festivalCancelled = () =>
  new AppError(422, "checkin.festival_cancelled", "This festival was cancelled");
