import type { Services } from "../../../workers/lib/services";

/**
 * What the chat's persistence path reports about itself, in Redis, for the admin endpoint
 * (GET /v1/admin/chat/persistence) and the alerts: each room the age of its oldest message not yet
 * in DynamoDB, the consumer its lag per partition. Best effort: a report lost to a Redis outage
 * only delays what an admin sees, never a message.
 */

/** An oldest unpersisted message older than this is logged as a warning (by the room and the endpoint). */
export const UNPERSISTED_ALERT_MS = 2 * 60_000;
/** A partition this many records behind is logged as a warning by the consumer. */
export const LAG_ALERT_RECORDS = 10_000;

/** Sorted set: member = room id, score = when its oldest unpersisted message was accepted (epoch ms). */
export const unpersistedKey = (s: Services) => s.key("chat", "unpersisted");

/** Rooms report whenever that oldest message changes; none left removes the room. */
export async function reportUnpersisted(s: Services, roomId: string, oldestAt: number | undefined) {
  if (oldestAt === undefined) await s.redis.zrem(unpersistedKey(s), roomId);
  else await s.redis.zadd(unpersistedKey(s), { score: oldestAt, member: roomId });
}

export interface PartitionLag {
  partition: number;
  /** The next offset the group will read (what was committed), null before its first commit. */
  committed: number | null;
  /** The log end offset: the offset the next record will get. */
  end: number;
  /**
   * Records not yet in DynamoDB: end − committed, or end − the log start before the first commit
   * (the group then starts at the earliest record still held).
   */
  lag: number;
}

export interface ConsumerLagReport {
  topic: string;
  group: string;
  at: string;
  partitions: PartitionLag[];
}

export const consumerLagKey = (s: Services) => s.key("chat", "consumer-lag");
