import { createLogger, type Logger } from "../lib/logger";
import { chatConsumerJob } from "./chat-consumer";
import { followUpsJob } from "./follow-ups";
import { chatPushJob, notificationEventsJob } from "./notifications";
import { pendingReservationsJob } from "./pending-reservations";
import { reminderJob } from "./reminders";
import { retentionJob } from "./retention";
import { waitlistJob } from "./waitlist";

/**
 * Cron jobs. wrangler.toml fires "* * * * *"; every job registered here runs on each tick, side by
 * side, and one failing never stops the others. Each job must be safe when two ticks overlap.
 */
export interface Job {
  name: string;
  run(env: Env, ctx: ExecutionContext, log: Logger, scheduledTime: number): Promise<void>;
}

/** Add a job by importing it here: explicit beats registration by import side effect. */
const jobs: Job[] = [
  chatConsumerJob,
  reminderJob,
  chatPushJob,
  notificationEventsJob,
  waitlistJob,
  pendingReservationsJob,
  followUpsJob,
  retentionJob,
];

export async function runScheduled(controller: ScheduledController, env: Env, ctx: ExecutionContext) {
  const results = await Promise.allSettled(
    jobs.map(async (job) => {
      const log = createLogger({ job: job.name, cron: controller.cron });
      const started = Date.now();
      try {
        await job.run(env, ctx, log, controller.scheduledTime);
        log.info("job done", { ms: Date.now() - started });
      } catch (err) {
        log.error("job failed", { error: err, ms: Date.now() - started });
        throw err;
      }
    }),
  );
  if (results.some((r) => r.status === "rejected")) throw new Error("a scheduled job failed (see logs)");
}
