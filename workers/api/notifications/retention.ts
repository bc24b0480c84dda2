import { and, desc, eq, inArray, lt, notInArray, sql } from "drizzle-orm";
import { pushDevices, reminderDeliveries } from "../../db/schema/notifications";
import type { Services } from "../../lib/services";

/**
 * What the notifications area keeps, and for how long (the retention job runs these each tick, a
 * bounded DELETE each, so a backlog drains over a few ticks without a long statement).
 */
export const NOTIFICATION_RETENTION_DAYS = 180;
/** A reminder is sent at most 14 days (the largest offset) before its day, which then passes: the ledger row is dead. */
export const REMINDER_LEDGER_DAYS = 30;
export const MAX_DEVICES_PER_USER = 10;
const DAY_MS = 86_400_000;
const CHUNK = 1000;

/** Inbox entries older than the retention, oldest first (a range of notifications_created_idx). */
export async function pruneNotifications(s: Services, now: Date): Promise<number> {
  const cutoff = new Date(now.getTime() - NOTIFICATION_RETENTION_DAYS * DAY_MS);
  const res = await s.db.execute(
    sql`DELETE FROM notifications WHERE created_at < ${cutoff} ORDER BY created_at LIMIT ${CHUNK}`,
  );
  return res.rowsAffected;
}

export async function pruneReminderLedger(s: Services, now: Date): Promise<number> {
  const res = await s.db
    .delete(reminderDeliveries)
    .where(
      and(
        inArray(reminderDeliveries.status, ["sent", "skipped"]),
        lt(reminderDeliveries.claimedAt, new Date(now.getTime() - REMINDER_LEDGER_DAYS * DAY_MS)),
      ),
    )
    .limit(CHUNK);
  return res.rowsAffected;
}

/** A user keeps their most recently seen devices; registering one more drops the oldest. */
export async function capDevices(s: Services, userId: number): Promise<void> {
  const keep = await s.db
    .select({ id: pushDevices.id })
    .from(pushDevices)
    .where(eq(pushDevices.userId, userId))
    .orderBy(desc(pushDevices.lastSeenAt), desc(pushDevices.id))
    .limit(MAX_DEVICES_PER_USER);
  if (keep.length < MAX_DEVICES_PER_USER) return;
  await s.db.delete(pushDevices).where(
    and(
      eq(pushDevices.userId, userId),
      notInArray(
        pushDevices.id,
        keep.map((d) => d.id),
      ),
    ),
  );
}
