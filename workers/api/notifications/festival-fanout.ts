import { and, asc, eq, gt, isNull, or } from "drizzle-orm";
import { festivals } from "../../db/schema/festivals";
import { reservations } from "../../db/schema/reservations";
import { users } from "../../db/schema/users";
import { addFollowUp, continueFollowUp, finishFollowUp } from "../../lib/follow-ups";
import type { Logger } from "../../lib/logger";
import type { Services } from "../../lib/services";
import { notifySafely } from "./notify";

/**
 * Telling every holder of a festival about a change or a cancellation. The hook (in the admin's
 * request) sends a first batch at once; a festival with more holders leaves its continuation in the
 * outbox row (follow_ups) that the cron works through, batch by batch. Each holder's
 * notification has a dedupe key, so a batch repeated after a crash notifies nobody twice.
 */
export interface FestivalFanout {
  kind: "festival.changed" | "festival.cancelled";
  festivalId: number;
  /** Tells one change from the next (the festival's updated_at), so each change is told once. */
  version: string;
  changed: string[];
  /** Holders are visited in user id order; this is where the previous batch stopped. */
  afterUserId: number;
}

export const fanoutKey = (s: Services) => s.key("notifications", "fanout");

/** Fields a holder cares about; a new description or tag list is not worth a push. */
const LABELS: Record<string, string> = {
  title: "이름",
  venue: "장소",
  startDate: "일정",
  endDate: "일정",
  timezone: "시간대",
};
export const isWorthTelling = (changed: string[]) => changed.some((f) => f in LABELS);

const CONCURRENCY = 8;

async function recipients(s: Services, f: FestivalFanout, limit: number): Promise<number[]> {
  const active =
    f.kind === "festival.cancelled"
      ? // The reservations hook may already have cancelled them (hooks run in registration order).
        or(
          eq(reservations.status, "confirmed"),
          and(eq(reservations.status, "cancelled"), eq(reservations.cancelReason, "festival_cancelled")),
        )
      : eq(reservations.status, "confirmed");
  const rows = await s.db
    .selectDistinct({ userId: reservations.userId })
    .from(reservations)
    .innerJoin(users, eq(users.id, reservations.userId))
    .where(
      and(
        eq(reservations.festivalId, f.festivalId),
        active,
        gt(reservations.userId, f.afterUserId),
        eq(users.notifyFestivalUpdates, true),
        isNull(users.deletedAt),
      ),
    )
    .orderBy(asc(reservations.userId))
    .limit(limit);
  return rows.map((r) => r.userId);
}

function message(f: FestivalFanout, title: string, cancelReason: string | null) {
  if (f.kind === "festival.cancelled") {
    return {
      title: `축제 취소: ${title}`,
      body: `${title}이(가) 취소되어 예약이 취소되었습니다.${cancelReason ? ` 사유: ${cancelReason}` : ""}`,
    };
  }
  const what = [...new Set(f.changed.map((c) => LABELS[c]).filter(Boolean))].join(", ");
  return { title: `축제 정보 변경: ${title}`, body: `예약하신 축제의 ${what}이(가) 바뀌었습니다.` };
}

/** Notifies up to `budget` holders; returns where to continue, or null when everyone was told. */
export async function runFanout(
  s: Services,
  log: Logger,
  f: FestivalFanout,
  budget: number,
): Promise<FestivalFanout | null> {
  const [festival] = await s.db
    .select({ title: festivals.title, cancelReason: festivals.cancelReason })
    .from(festivals)
    .where(eq(festivals.id, f.festivalId))
    .limit(1);
  if (!festival) return null;
  const text = message(f, festival.title, festival.cancelReason);
  let after = f.afterUserId;
  let left = budget;
  while (left > 0) {
    const batch = await recipients(s, { ...f, afterUserId: after }, Math.min(left, 200));
    if (!batch.length) return null;
    for (let i = 0; i < batch.length; i += CONCURRENCY) {
      await Promise.all(
        batch.slice(i, i + CONCURRENCY).map((userId) =>
          notifySafely(
            s,
            {
              userId,
              type: f.kind,
              ...text,
              data: { festivalId: f.festivalId, changed: f.changed.join(",") },
              dedupeKey: `${f.kind}:${f.festivalId}:${f.version}`,
            },
            log,
          ),
        ),
      );
    }
    after = batch.at(-1) ?? after;
    left -= batch.length;
  }
  return { ...f, afterUserId: after };
}

/**
 * The hook's part: the fan-out becomes an outbox row ("festival.fanout", run by workers/api/
 * follow-ups.ts), then a first batch is sent now and the row keeps where it stopped. A Worker that
 * dies at any point leaves the row to the cron. Never throws (the change is committed).
 */
export async function startFanout(s: Services, log: Logger, f: FestivalFanout, inlineBudget = 100) {
  try {
    const id = await addFollowUp(s.db, {
      kind: "festival.fanout",
      payload: { ...f },
      dedupeKey: `${f.kind}:${f.festivalId}:${f.version}`,
    });
    const rest = await runFanout(s, log, f, inlineBudget);
    if (rest) await continueFollowUp(s.db, id, { ...rest }, new Date());
    else await finishFollowUp(s.db, id);
  } catch (err) {
    log.error("festival notification fan-out failed; the cron retries it", {
      festivalId: f.festivalId,
      error: err,
    });
  }
}

export async function festivalVersion(s: Services, festivalId: number): Promise<string> {
  const [row] = await s.db
    .select({ updatedAt: festivals.updatedAt })
    .from(festivals)
    .where(eq(festivals.id, festivalId));
  return String(row?.updatedAt.getTime() ?? Date.now());
}
