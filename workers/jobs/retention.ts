import { pruneNotifications, pruneReminderLedger } from "../api/notifications/retention";
import { forgetIdempotencyKeys } from "../api/reservations/retention";
import { getServices } from "../lib/services";
import type { Job } from "./index";

/**
 * Tables that would otherwise grow forever: old inbox entries, the reminder ledger of past days, the
 * idempotency keys stored on reservations past their 24 h window (device tokens are capped per user
 * when registered). One bounded statement each per tick; a backlog drains over several ticks.
 */
export const retentionJob: Job = {
  name: "retention",
  async run(env, _ctx, log, scheduledTime) {
    const s = getServices(env);
    const now = new Date(Math.max(scheduledTime, Date.now()));
    const [notifications, reminders, keys] = await Promise.all([
      pruneNotifications(s, now),
      pruneReminderLedger(s, now),
      forgetIdempotencyKeys(s, now),
    ]);
    if (notifications + reminders + keys) log.info("retention", { notifications, reminders, keys });
  },
};
