import { eq, inArray } from "drizzle-orm";
import { festivals } from "../../db/schema/festivals";
import { notifications, pushDevices } from "../../db/schema/notifications";
import { createLogger, type Logger } from "../../lib/logger";
import type { Services } from "../../lib/services";
import { festivalVersion, isWorthTelling, runFanout, startFanout } from "./festival-fanout";
import { type NotifyInput, notify } from "./notify";
import { notifyMany } from "./notify-many";

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

const DEFAULT_TITLE = "축제";

async function titleOf(s: Services, festivalId: number): Promise<string> {
  const [f] = await s.db
    .select({ title: festivals.title })
    .from(festivals)
    .where(eq(festivals.id, festivalId))
    .limit(1);
  return f?.title ?? DEFAULT_TITLE;
}

const RESERVATION_WORDING = {
  confirmed: { title: "예약 확정", body: "예약이 확정되었습니다." },
  cancelled: { title: "예약 취소", body: "예약이 취소되었습니다." },
} as const;

function reservationNotice(
  kind: keyof typeof RESERVATION_WORDING,
  r: ReservationFacts,
  festivalTitle: string,
): NotifyInput {
  const wording = RESERVATION_WORDING[kind];
  return {
    userId: r.userId,
    type: `reservation.${kind}`,
    title: `${wording.title}: ${festivalTitle}`,
    body: `${r.day} · ${r.quantity}매 ${wording.body}`,
    data: { reservationId: r.id, festivalId: r.festivalId, day: r.day },
    dedupeKey: `reservation.${kind}:${r.id}`,
  };
}

/**
 * For the outbox (workers/api/follow-ups.ts): throws when the inbox row could not be written, so the
 * follow-up stays and is retried; the dedupe key makes the retry store and push it once.
 */
export async function tellReservation(
  s: Services,
  logger: Logger,
  kind: keyof typeof RESERVATION_WORDING,
  r: ReservationFacts,
): Promise<void> {
  await notify(s, reservationNotice(kind, r, await titleOf(s, r.festivalId)), logger);
}

/**
 * tellReservation for many reservations at once (the sale's follow-ups, batched): one title read for
 * all their festivals and one notifyMany, with the same notices and dedupe keys, so a single run and
 * a batch run of one reservation store one notice. Throws as tellReservation does.
 */
export async function tellReservations(
  s: Services,
  logger: Logger,
  kind: keyof typeof RESERVATION_WORDING,
  rs: ReservationFacts[],
): Promise<void> {
  if (!rs.length) return;
  const found = await s.db
    .select({ id: festivals.id, title: festivals.title })
    .from(festivals)
    .where(inArray(festivals.id, [...new Set(rs.map((r) => r.festivalId))]));
  const titles = new Map(found.map((f) => [f.id, f.title]));
  const notices = rs.map((r) => reservationNotice(kind, r, titles.get(r.festivalId) ?? DEFAULT_TITLE));
  await notifyMany(s, notices, logger);
}

/** Holders hear of a change they care about (`changed` names the fields an admin changed). */
export async function tellFestivalChanged(s: Services, festivalId: number, changed: string[]): Promise<void> {
  if (!isWorthTelling(changed)) return;
  const version = await festivalVersion(s, festivalId).catch(() => String(Date.now()));
  await startFanout(s, log, { kind: "festival.changed", festivalId, version, changed, afterUserId: 0 });
}

/**
 * A step of the festival-cancellation job (hooks.ts): up to 1000 holders told, from `afterUserId` on.
 * The fixed version makes a resumed or repeated job a no-op for those already told.
 */
export async function tellFestivalCancelled(s: Services, festivalId: number, afterUserId: number) {
  const rest = await runFanout(
    s,
    log,
    { kind: "festival.cancelled", festivalId, version: "1", changed: [], afterUserId },
    1000,
  );
  return rest ? rest.afterUserId : null;
}

/** A deleted account gets no more pushes, and its inbox goes with it. */
export async function forgetDeletedAccount(s: Services, userId: number): Promise<void> {
  await s.db.delete(pushDevices).where(eq(pushDevices.userId, userId));
  await s.db.delete(notifications).where(eq(notifications.userId, userId));
}
