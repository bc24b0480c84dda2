import { and, eq, gt, isNull, lt, sql } from "drizzle-orm";
import { notifications } from "../../db/schema/notifications";
import { waitlistEntries } from "../../db/schema/sales";
import type { Logger } from "../../lib/logger";
import type { Services } from "../../lib/services";
import { announceOffers } from "../sales/announce";
import { toOffer } from "../sales/offers";

/** An offer younger than this may still be announced by the request that made it. */
const GRACE_MS = 60_000;

/**
 * A waitlist offer is announced after the statement that made it commits; a Worker that dies in
 * between leaves the holder with places held and no word of them. The offer row itself is the
 * record: every live offer whose notice (dedupe key `waitlist:<entry>:offer:<held>`, as
 * announceOffers writes it) is still missing after the grace is announced by the follow-ups job.
 * announceOffers is idempotent on that key, so a race with the request still sends one notice.
 */
export async function announceMissedOffers(
  s: Services,
  log: Logger,
  now: Date,
  limit = 100,
): Promise<number> {
  const rows = await s.db
    .select({ entry: waitlistEntries })
    .from(waitlistEntries)
    .leftJoin(
      notifications,
      and(
        eq(notifications.userId, waitlistEntries.userId),
        eq(
          notifications.dedupeKey,
          sql`CONCAT('waitlist:', ${waitlistEntries.id}, ':offer:', ${waitlistEntries.heldQuantity})`,
        ),
      ),
    )
    .where(
      and(
        eq(waitlistEntries.status, "offered"),
        gt(waitlistEntries.offerExpiresAt, now),
        lt(waitlistEntries.offeredAt, new Date(now.getTime() - GRACE_MS)),
        isNull(notifications.id),
      ),
    )
    .limit(limit);
  await announceOffers(
    s,
    log,
    rows.map((r) => toOffer(r.entry)),
  );
  return rows.length;
}
