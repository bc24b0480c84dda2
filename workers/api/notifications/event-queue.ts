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

/**
 * A Redis list worked as a reliable queue: an item moves to a processing list (LMOVE) before it is
 * handled and leaves it (LREM) only after, so a Worker that dies mid-item loses nothing. One drainer
 * at a time holds a lease; whoever takes the lease next first moves the items a dead drainer left in
 * the processing list back to the head of the queue. Handlers must be idempotent (they are: dedupe
 * keys), as an item may be handled again after such a recovery.
 */
async function workQueue(
  s: Services,
  queue: string,
  handle: (line: string) => Promise<void>,
  budget: { items: number; ms: number },
): Promise<number> {
  const processing = `${queue}:processing`;
  const lease = `${queue}:lease`;
  const me = crypto.randomUUID();
  if ((await s.redis.set(lease, me, { nx: true, px: budget.ms + 60_000 })) === null) return 0;
  let handled = 0;
  try {
    while (await s.redis.lmove(processing, queue, "right", "left")) {}
    const deadline = Date.now() + budget.ms;
    while (handled < budget.items && Date.now() < deadline) {
      const line = await s.redis.lmove<string>(queue, processing, "left", "right");
      if (line === null || line === undefined) break;
      await handle(line);
      await s.redis.lrem(processing, 1, line);
      handled++;
    }
  } finally {
    if ((await s.redis.get(lease).catch(() => null)) === me) await s.redis.del(lease).catch(() => {});
  }
  return handled;
}

export async function drainNotificationEvents(s: Services, log: Logger, maxItems = 1000): Promise<number> {
  let done = 0;
  await workQueue(
    s,
    notificationEventsKey(s),
    async (line) => {
      let item: unknown;
      try {
        item = JSON.parse(line);
      } catch {
        item = undefined;
      }
      if (!isNotifyInput(item)) {
        log.warn("dropped a malformed notification event", { line: line.slice(0, 200) });
        return;
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
    },
    { items: maxItems, ms: 20_000 },
  );
  return done;
}

/** Festival fan-outs left in Redis by an older version (new ones are outbox rows), a bounded number per run. */
export async function continueFanouts(s: Services, log: Logger, budget = 2000): Promise<void> {
  await workQueue(
    s,
    fanoutKey(s),
    async (line) => {
      const rest = await runFanout(s, log, JSON.parse(line) as FestivalFanout, 1000);
      if (rest) await s.redis.rpush(fanoutKey(s), JSON.stringify(rest));
    },
    { items: Math.ceil(budget / 1000), ms: 20_000 },
  );
}
