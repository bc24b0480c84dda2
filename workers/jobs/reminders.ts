/**
 * Reminders before a reserved festival day: each (reservation, offset) is sent exactly once.
 *
 * "Due" is computed at send time from what MySQL says now (the user's reminderOffsetsHours and
 * notifyReminders, the reservation still confirmed, the festival not cancelled), so a changed
 * preference or a cancellation needs no bookkeeping. The reminder for offset h is due at
 * dayStart - h, where dayStart is 00:00 of the reserved day in the festival's timezone, and is sent
 * while due <= now < dayStart.
 *
 * Exactly once across overlapping or crashed runs, with `reminder_deliveries` (PK reservation_id,
 * offset_hours) as the ledger:
 *   1. find: due pairs with no ledger row, or with a claim older than CLAIM_STALE_MS never finished;
 *   2. claim: INSERT IGNORE the row (status claimed, this run's claim_id), or take over a stale claim
 *      with a conditional UPDATE (WHERE status = 'claimed' AND claimed_at < now - stale). The
 *      primary key and InnoDB's row lock let exactly one run win each pair; the run then reads
 *      back the rows carrying its own claim_id, and only those are its to send;
 *   3. send: notify() with dedupeKey `reminder:<reservation>:<offset>`;
 *   4. mark: status sent (or skipped), only WHERE claim_id is still ours.
 * A run that dies between 2 and 4 leaves a claim that goes stale and the next run after
 * CLAIM_STALE_MS takes it over, so nothing is lost. If the dead run had already reached step 3,
 * notify's own idempotency (unique (user, dedupe_key) for the inbox row; a claimed push) stops the
 * retry from storing or pushing twice; the only window left is a crash between FCM accepting a push
 * and the push being marked, and that push carries a collapse key, so the phone shows one.
 * Two runs at once (Promise.all in the tests) meet at step 2: one inserts, the other's insert is
 * ignored and its read-back returns nothing for that pair.
 *
 * If several offsets of one reservation are due at once (cron was down, or the reservation was made
 * late), only the nearest is sent and the others are recorded as skipped; a reminder whose moment
 * passed before the reservation existed is skipped too (no "tomorrow!" one hour before).
 */
import { and, eq, inArray, sql } from "drizzle-orm";
import { zonedMidnight } from "../api/festivals/calendar";
import { notify } from "../api/notifications/notify";
import { reminderDeliveries } from "../db/schema/notifications";
import { reservations } from "../db/schema/reservations";
import type { Logger } from "../lib/logger";
import { getServices, type Services } from "../lib/services";
import type { Job } from "./index";

const HOUR_MS = 3_600_000;
export const CLAIM_STALE_MS = 5 * 60_000;
/** Largest offset a user can choose (NotificationPrefsSchema): bounds the scan window. */
const MAX_OFFSET_HOURS = 24 * 14;
const PAGE = 500;
interface Candidate {
  reservationId: number;
  userId: number;
  festivalId: number;
  day: string;
  quantity: number;
  confirmedAt: Date;
  title: string;
  timezone: string;
  offsetHours: number;
  claimed: boolean;
}

const mysqlTime = (d: Date) => d.toISOString().replace("T", " ").replace("Z", "");
const parseTime = (v: unknown) => new Date(`${String(v).replace(" ", "T")}Z`);

/**
 * Due-looking pairs, one page in reservation id order. The SQL is a coarse filter (day start from
 * the festival's starts_at plus whole days, two hours of slack for DST); the exact check is in JS.
 */
async function findCandidates(s: Services, now: Date, afterId: number): Promise<Candidate[]> {
  const horizon = new Date(now.getTime() + (MAX_OFFSET_HOURS + 26) * HOUR_MS);
  const stale = new Date(now.getTime() - CLAIM_STALE_MS);
  const dayMin = new Date(now.getTime() - 2 * 24 * HOUR_MS).toISOString().slice(0, 10);
  const dayMax = horizon.toISOString().slice(0, 10);
  const result = await s.db.execute(sql`
    SELECT r.id AS reservation_id, r.user_id, r.festival_id, r.day, r.quantity, r.confirmed_at,
           f.title, f.timezone, o.h AS offset_hours, d.status AS delivery
    FROM festivals f
    JOIN reservations r ON r.festival_id = f.id AND r.status = 'confirmed'
    JOIN users u ON u.id = r.user_id AND u.notify_reminders = 1 AND u.deleted_at IS NULL
    CROSS JOIN JSON_TABLE(u.reminder_offsets_hours, '$[*]' COLUMNS (h INT PATH '$')) AS o
    LEFT JOIN reminder_deliveries d ON d.reservation_id = r.id AND d.offset_hours = o.h
    WHERE f.cancelled_at IS NULL
      AND f.ends_at > ${mysqlTime(now)}
      AND f.starts_at <= ${mysqlTime(horizon)}
      AND r.day BETWEEN ${dayMin} AND ${dayMax}
      AND r.id > ${afterId}
      AND (d.reservation_id IS NULL OR (d.status = 'claimed' AND d.claimed_at < ${mysqlTime(stale)}))
      AND f.starts_at + INTERVAL DATEDIFF(r.day, f.start_date) DAY - INTERVAL o.h HOUR
          <= ${mysqlTime(new Date(now.getTime() + 2 * HOUR_MS))}
      AND f.starts_at + INTERVAL DATEDIFF(r.day, f.start_date) DAY
          > ${mysqlTime(new Date(now.getTime() - 2 * HOUR_MS))}
    ORDER BY r.id, o.h
    LIMIT ${PAGE}`);
  return (result.rows as Record<string, unknown>[]).map((row) => ({
    reservationId: Number(row.reservation_id),
    userId: Number(row.user_id),
    festivalId: Number(row.festival_id),
    day: String(row.day),
    quantity: Number(row.quantity),
    confirmedAt: parseTime(row.confirmed_at),
    title: String(row.title),
    timezone: String(row.timezone),
    offsetHours: Number(row.offset_hours),
    claimed: row.delivery === "claimed",
  }));
}

interface Plan {
  c: Candidate;
  action: "send" | "skip";
}

/** The exact rule: due <= now < day start; per reservation only the nearest due offset is sent. */
function plan(candidates: Candidate[], now: Date): Plan[] {
  const byReservation = new Map<number, Candidate[]>();
  for (const c of candidates) {
    const start = zonedMidnight(c.day, c.timezone).getTime();
    if (start - c.offsetHours * HOUR_MS > now.getTime() || now.getTime() >= start) continue;
    const list = byReservation.get(c.reservationId) ?? [];
    list.push(c);
    byReservation.set(c.reservationId, list);
  }
  const plans: Plan[] = [];
  for (const list of byReservation.values()) {
    const nearest = Math.min(...list.map((c) => c.offsetHours));
    for (const c of list) {
      const due = zonedMidnight(c.day, c.timezone).getTime() - c.offsetHours * HOUR_MS;
      const late = c.confirmedAt.getTime() > due;
      plans.push({ c, action: c.offsetHours === nearest && !late ? "send" : "skip" });
    }
  }
  return plans;
}

const pairKey = (c: { reservationId: number; offsetHours: number }) => `${c.reservationId}:${c.offsetHours}`;

/** Step 2: returns the pairs this run now owns. */
async function claim(s: Services, plans: Plan[], claimId: string, now: Date): Promise<Set<string>> {
  const fresh = plans.filter((p) => !p.c.claimed);
  if (fresh.length) {
    await s.db
      .insert(reminderDeliveries)
      .ignore()
      .values(
        fresh.map((p) => ({
          reservationId: p.c.reservationId,
          offsetHours: p.c.offsetHours,
          status: "claimed" as const,
          claimId,
          claimedAt: now,
        })),
      );
  }
  const stale = new Date(now.getTime() - CLAIM_STALE_MS);
  for (const p of plans.filter((p) => p.c.claimed)) {
    await s.db.execute(sql`
      UPDATE reminder_deliveries SET claim_id = ${claimId}, claimed_at = ${mysqlTime(now)}, attempts = attempts + 1
      WHERE reservation_id = ${p.c.reservationId} AND offset_hours = ${p.c.offsetHours}
        AND status = 'claimed' AND claimed_at < ${mysqlTime(stale)}`);
  }
  const mine = await s.db
    .select({
      reservationId: reminderDeliveries.reservationId,
      offsetHours: reminderDeliveries.offsetHours,
    })
    .from(reminderDeliveries)
    .where(and(eq(reminderDeliveries.claimId, claimId), eq(reminderDeliveries.status, "claimed")));
  return new Set(mine.map(pairKey));
}

async function finish(s: Services, c: Candidate, claimId: string, status: "sent" | "skipped") {
  await s.db
    .update(reminderDeliveries)
    .set({ status, doneAt: new Date() })
    .where(
      and(
        eq(reminderDeliveries.reservationId, c.reservationId),
        eq(reminderDeliveries.offsetHours, c.offsetHours),
        eq(reminderDeliveries.claimId, claimId),
      ),
    );
}

const offsetLabel = (h: number) => (h % 24 === 0 ? `${h / 24}일` : `${h}시간`);

/** Sent = the inbox row exists; a push that failed is retried by the push-retry job, not here. */
async function send(s: Services, log: Logger, c: Candidate, claimId: string) {
  await notify(
    s,
    {
      userId: c.userId,
      type: "reservation.reminder",
      title: `${offsetLabel(c.offsetHours)} 전: ${c.title}`,
      body: `${c.day} · ${c.quantity}매 예약한 축제가 ${offsetLabel(c.offsetHours)} 뒤 시작합니다.`,
      data: {
        reservationId: c.reservationId,
        festivalId: c.festivalId,
        day: c.day,
        offsetHours: c.offsetHours,
      },
      dedupeKey: `reminder:${c.reservationId}:${c.offsetHours}`,
    },
    log,
  );
  await finish(s, c, claimId, "sent");
}

export async function runReminders(
  s: Services,
  log: Logger,
  now: Date,
): Promise<{ sent: number; skipped: number }> {
  const claimId = crypto.randomUUID();
  let sent = 0;
  let skipped = 0;
  let afterId = 0;
  for (;;) {
    const page = await findCandidates(s, now, afterId);
    if (!page.length) break;
    // Keep a reservation's offsets (five at most) on one page: a full page leaves its last one for the next.
    const full = page.length === PAGE;
    const lastId = page.at(-1)?.reservationId ?? afterId;
    const rows = full ? page.filter((c) => c.reservationId !== lastId) : page;
    afterId = full ? (rows.at(-1)?.reservationId ?? lastId) : lastId;
    const plans = plan(rows, now);

    const owned = plans.length ? await claim(s, plans, claimId, now) : new Set<string>();
    const mine = plans.filter((p) => owned.has(pairKey(p.c)));
    // A cancellation between the scan and now wins: re-read the status of what we are about to send.
    const ids = [...new Set(mine.filter((p) => p.action === "send").map((p) => p.c.reservationId))];
    const stillConfirmed = new Set(
      ids.length
        ? (
            await s.db
              .select({ id: reservations.id })
              .from(reservations)
              .where(and(inArray(reservations.id, ids), eq(reservations.status, "confirmed")))
          ).map((r) => r.id)
        : [],
    );
    for (const p of mine) {
      try {
        if (p.action === "skip" || !stillConfirmed.has(p.c.reservationId)) {
          await finish(s, p.c, claimId, "skipped");
          skipped++;
        } else {
          await send(s, log, p.c, claimId);
          sent++;
        }
      } catch (err) {
        // Left claimed: it goes stale and a later run takes it over.
        log.error("reminder failed; will be retried", { reservationId: p.c.reservationId, error: err });
      }
    }
    if (!full) break;
  }
  if (sent || skipped) log.info("reminders", { sent, skipped });
  return { sent, skipped };
}

export const reminderJob: Job = {
  name: "reminders",
  run: async (env, _ctx, log, scheduledTime) => {
    await runReminders(getServices(env), log, new Date(scheduledTime));
  },
};
