import { eq } from "drizzle-orm";
import { festivals } from "../../db/schema/festivals";
import { notifications, pushDevices } from "../../db/schema/notifications";
import { createLogger, type Logger } from "../../lib/logger";
import type { Services } from "../../lib/services";
import { festivalVersion, isWorthTelling, startFanout } from "./festival-fanout";
import { notifySafely } from "./notify";

/**
 * What other areas' events become. Reservations call these after COMMIT; they never throw, so a
 * notification problem cannot fail or undo a reservation.
 */
const log = createLogger({ area: "notifications" });

interface ReservationFacts {
  id: number;
  userId: number;
  festivalId: number;
  day: string;
  quantity: number;
}

async function titleOf(s: Services, festivalId: number): Promise<string> {
  const [f] = await s.db
    .select({ title: festivals.title })
    .from(festivals)
    .where(eq(festivals.id, festivalId))
    .limit(1);
  return f?.title ?? "축제";
}

const RESERVATION_WORDING = {
  confirmed: { title: "예약 확정", body: "예약이 확정되었습니다." },
  cancelled: { title: "예약 취소", body: "예약이 취소되었습니다." },
} as const;

/** Tells the holder their reservation was confirmed or cancelled; never throws (the write already committed). */
async function notifyReservation(
  s: Services,
  logger: Logger,
  kind: keyof typeof RESERVATION_WORDING,
  r: ReservationFacts,
  festivalTitle?: string,
): Promise<void> {
  try {
    const title = festivalTitle ?? (await titleOf(s, r.festivalId));
    const wording = RESERVATION_WORDING[kind];
    await notifySafely(
      s,
      {
        userId: r.userId,
        type: `reservation.${kind}`,
        title: `${wording.title}: ${title}`,
        body: `${r.day} · ${r.quantity}매 ${wording.body}`,
        data: { reservationId: r.id, festivalId: r.festivalId, day: r.day },
        dedupeKey: `reservation.${kind}:${r.id}`,
      },
      logger,
    );
  } catch (err) {
    logger.error("reservation notification failed", { reservationId: r.id, error: err });
  }
}

export const notifyReservationConfirmed = (
  s: Services,
  logger: Logger,
  r: ReservationFacts,
  festivalTitle?: string,
) => notifyReservation(s, logger, "confirmed", r, festivalTitle);

export const notifyReservationCancelled = (s: Services, logger: Logger, r: ReservationFacts) =>
  notifyReservation(s, logger, "cancelled", r);

/** Holders hear of a change they care about (`changed` names the fields an admin changed). */
export async function tellFestivalChanged(s: Services, festivalId: number, changed: string[]): Promise<void> {
  if (!isWorthTelling(changed)) return;
  const version = await festivalVersion(s, festivalId).catch(() => String(Date.now()));
  await startFanout(s, log, { kind: "festival.changed", festivalId, version, changed, afterUserId: 0 });
}

export async function tellFestivalCancelled(s: Services, festivalId: number): Promise<void> {
  // A repeated cancel runs the hooks again: the fixed version makes it a no-op for those already told.
  await startFanout(s, log, {
    kind: "festival.cancelled",
    festivalId,
    version: "1",
    changed: [],
    afterUserId: 0,
  });
}

/** A deleted account gets no more pushes, and its inbox goes with it. */
export async function forgetDeletedAccount(s: Services, userId: number): Promise<void> {
  await s.db.delete(pushDevices).where(eq(pushDevices.userId, userId));
  await s.db.delete(notifications).where(eq(notifications.userId, userId));
}
