import { and, eq } from "drizzle-orm";
import { reservations } from "../../db/schema/reservations";
import { AppError } from "../../lib/errors";
import type { Logger } from "../../lib/logger";
import type { Services } from "../../lib/services";
import { parseCheckInCode, verifyCheckInCode } from "./checkin-code";
import type { ReservationView } from "./schemas";
import { findReservation, toView } from "./service";

const invalid = () => new AppError(422, "checkin.invalid", "This is not a valid check-in code");

/**
 * Staff scan a code at the gate of `festivalId`. The code is accepted once: the status flips
 * confirmed → checked_in with one conditional UPDATE, so two gates scanning the same code at the
 * same moment cannot both let it in.
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
  const done = await s.db
    .update(reservations)
    .set({ status: "checked_in", checkedInAt: new Date() })
    .where(and(eq(reservations.id, r.id), eq(reservations.status, "confirmed")));
  const after = await findReservation(s, r.id);
  if (!after) throw invalid();
  if (done.rowsAffected === 0) {
    if (after.status === "checked_in") {
      throw new AppError(409, "checkin.already_used", "This code was already used", {
        details: { checkedInAt: after.checkedInAt?.toISOString() ?? null },
      });
    }
    throw new AppError(422, "checkin.reservation_cancelled", "This reservation was cancelled", {
      details: { cancelReason: after.cancelReason },
    });
  }
  logger.info("checked in", { reservationId: r.id, festivalId });
  return toView(env, after);
}
