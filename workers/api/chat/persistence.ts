import {
  type ConsumerLagReport,
  consumerLagKey,
  UNPERSISTED_ALERT_MS,
  unpersistedKey,
} from "../../../durable-objects/chat-room/contract/persistence";
import type { Logger } from "../../lib/logger";
import type { Services } from "../../lib/services";

/** How many of the most-behind rooms the admin view lists. */
export const ROOMS_LISTED = 100;

/**
 * The persistence path at a glance, from what the rooms and the consumer report to Redis
 * (contract/persistence.ts): the rooms whose oldest message is longest out of DynamoDB, and the
 * consumer's lag per partition. Rooms over the alert age are logged, so a stuck path alerts even
 * when its rooms sleep.
 */
export async function persistenceView(s: Services, log: Logger, now = Date.now()) {
  const [oldest, behind, lagRaw] = await Promise.all([
    s.redis.zrange<string[]>(unpersistedKey(s), 0, ROOMS_LISTED - 1, { withScores: true }),
    s.redis.zcard(unpersistedKey(s)),
    s.redis.get<string>(consumerLagKey(s)),
  ]);
  const rooms: { roomId: string; oldestUnpersistedAt: string; ageMs: number }[] = [];
  for (let i = 0; i + 1 < oldest.length; i += 2) {
    const at = Number(oldest[i + 1]);
    rooms.push({
      roomId: String(oldest[i]),
      oldestUnpersistedAt: new Date(at).toISOString(),
      ageMs: now - at,
    });
  }
  const late = rooms.filter((r) => r.ageMs > UNPERSISTED_ALERT_MS);
  if (late.length) log.warn("ALERT chat: messages not in DynamoDB for long", { rooms: late.slice(0, 10) });
  const lag = lagRaw ? (JSON.parse(lagRaw) as ConsumerLagReport) : null;
  return {
    rooms,
    roomsWithUnpersisted: behind,
    consumer: lag && { topic: lag.topic, group: lag.group, reportedAt: lag.at, partitions: lag.partitions },
  };
}
