import { pruneNotifications, pruneReminderLedger } from "../api/notifications/retention";
import { forgetIdempotencyKeys } from "../api/reservations/retention";
import { withRetries } from "../lib/retry";
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
    // Each a ranged UPDATE/DELETE: on sale day it can lose a deadlock to a sale batch writing new rows
    // beside its range, which changes nothing, so it runs again within the budget.
    const [notifications, reminders, keys] = await Promise.all([
      withRetries(log, "retention.notifications", () => pruneNotifications(s, now)),
      withRetries(log, "retention.reminders", () => pruneReminderLedger(s, now)),
      withRetries(log, "retention.keys", () => forgetIdempotencyKeys(s, now)),
    ]);
    if (notifications + reminders + keys) log.info("retention", { notifications, reminders, keys });
  },
};
