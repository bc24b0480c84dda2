import type { Logger } from "../../lib/logger";
import type { Services } from "../../lib/services";
import { type FestivalFanout, fanoutKey, runFanout } from "./festival-fanout";
import { type NotifyInput, notify } from "./notify";

/**
 * Notifications other areas queue instead of calling notify() directly: JSON NotifyInput lines in
 * the Redis list `events:notifications`. The job drains it into notify(), which is idempotent per
 * dedupeKey; a failed item goes back with a retry count and is dropped (and logged) after MAX_TRIES.
 */
export const notificationEventsKey = (s: Services) => s.key("events", "notifications");
const BATCH = 100;
const MAX_TRIES = 5;

type Queued = NotifyInput & { tries?: number };

const isNotifyInput = (v: unknown): v is Queued => {
  const o = v as Partial<NotifyInput> | null;
  return (
    !!o &&
    typeof o.userId === "number" &&
    typeof o.type === "string" &&
    typeof o.title === "string" &&
    typeof o.body === "string"
  );
};

export async function enqueueNotification(s: Services, input: NotifyInput): Promise<void> {
  await s.redis.rpush(notificationEventsKey(s), JSON.stringify(input));
}

export async function drainNotificationEvents(s: Services, log: Logger, maxBatches = 10): Promise<number> {
  let done = 0;
  for (let i = 0; i < maxBatches; i++) {
    const raw = (await s.redis.lpop<string[]>(notificationEventsKey(s), BATCH)) ?? [];
    for (const line of raw) {
      let item: unknown;
      try {
        item = JSON.parse(line);
      } catch {
        item = undefined;
      }
      if (!isNotifyInput(item)) {
        log.warn("dropped a malformed notification event", { line: line.slice(0, 200) });
        continue;
      }
      const { tries = 0, ...input } = item;
      try {
        await notify(s, input, log);
        done++;
      } catch (err) {
        if (tries + 1 >= MAX_TRIES)
          log.error("notification event dropped after retries", { type: input.type, error: err });
        else await s.redis.rpush(notificationEventsKey(s), JSON.stringify({ ...input, tries: tries + 1 }));
      }
    }
    if (raw.length < BATCH) break;
  }
  return done;
}

/** Festival fan-outs left over by the hooks, a bounded number of holders per run. */
export async function continueFanouts(s: Services, log: Logger, budget = 2000): Promise<void> {
  while (budget > 0) {
    const line = await s.redis.lpop<string>(fanoutKey(s));
    if (!line) return;
    const job = JSON.parse(line) as FestivalFanout;
    try {
      const rest = await runFanout(s, log, job, Math.min(budget, 1000));
      if (rest) await s.redis.rpush(fanoutKey(s), JSON.stringify(rest));
    } catch (err) {
      await s.redis.rpush(fanoutKey(s), line);
      throw err;
    }
    budget -= 1000;
  }
}
