import { exports } from "cloudflare:workers";

/**
 * Fires the Worker's `scheduled` entry through the runtime, as the cron trigger does: the call goes
 * into the exported default handler (workers/index.ts) with the runtime's own env and execution
 * context, so every job of the registry (workers/jobs/index.ts) runs side by side. Tests observe what
 * the jobs did through the public interface, never through job internals.
 *
 * `scheduledTime` is the moment the tick was due (jobs that compute "due" use it, e.g. reminders);
 * it defaults to now. The chat consumer polls Kafka for CHAT_CONSUMER_RUN_MS (2 s in tests, see
 * test/global-setup.ts), so one tick takes about that long. Resolves once every job has finished;
 * rejects when one threw (runScheduled still runs the others first).
 *
 * A tick is global: every job works on the whole database the other test files of the run share.
 * A `scheduledTime` in the future makes it sweep other files' in-flight pending reservations, expire
 * their waitlist offers and send their reminders; so tests that move the clock live in
 * test/worker-faults/ (one file at a time, on their own stack), e.g. test/worker-faults/cron.test.ts.
 */
export async function runCron(opts: { scheduledTime?: number | Date; cron?: string } = {}): Promise<void> {
  const worker = exports.default as unknown as ScheduledEntry;
  await worker.scheduled({
    cron: opts.cron ?? "* * * * *",
    scheduledTime: Number(opts.scheduledTime ?? Date.now()),
  });
}

/** The default export's scheduled handler as the runtime exposes it; workers-types leaves it off `Fetcher`. */
interface ScheduledEntry {
  scheduled(controller: { scheduledTime: number; cron: string }): Promise<void>;
}
