import { and, asc, eq } from "drizzle-orm";
import { festivalDays } from "../../db/schema/festivals";
import { waitlistEntries } from "../../db/schema/sales";
import { AppError } from "../../lib/errors";
import { createLogger, type Logger } from "../../lib/logger";
import { withRetries } from "../../lib/retry";
import type { Services } from "../../lib/services";
import { announceOffers } from "./announce";
import { offerFreePlaces } from "./offers";
import { leaveWaitlist } from "./waitlist";

// What the waitlist does when a festival changes or goes, or an account goes (run from the ordered
// lists in workers/api/hooks.ts).

/** After a capacity change: new free places go to the waitlist first. */
export async function offerFreedDays(s: Services, logger: Logger, festivalId: number): Promise<void> {
  const days = await s.db
    .select({ day: festivalDays.day })
    .from(festivalDays)
    .where(eq(festivalDays.festivalId, festivalId))
    .orderBy(asc(festivalDays.day));
  for (const { day } of days) {
    const offers = await withRetries(logger, "waitlist.offer", () =>
      offerFreePlaces(s.db, festivalId, day, new Date()),
    );
    await announceOffers(s, logger, offers);
  }
}

const hookLogger = () => createLogger({ area: "sales" });

/** A cancelled festival's waitlist closes and its held places go back. */
export async function closeWaitlistOfFestival(s: Services, festivalId: number): Promise<void> {
  // Entries first, then the days: the lock order of every waitlist transaction.
  await withRetries(hookLogger(), "waitlist.festival_cancelled", () =>
    s.db.transaction(async (tx) => {
      await tx
        .update(waitlistEntries)
        .set({ status: "cancelled", live: null, heldQuantity: 0, closedAt: new Date() })
        .where(and(eq(waitlistEntries.festivalId, festivalId), eq(waitlistEntries.live, 1)));
      await tx.update(festivalDays).set({ held: 0 }).where(eq(festivalDays.festivalId, festivalId));
    }),
  );
}

export async function offerOnCapacityChange(
  s: Services,
  festivalId: number,
  changed: string[],
): Promise<void> {
  if (changed.includes("capacity")) await offerFreedDays(s, hookLogger(), festivalId);
}

/** A deleted account leaves every waitlist it is on; its held places go to the next in line. */
export async function leaveWaitlistsOfDeletedAccount(s: Services, userId: number): Promise<void> {
  const live = await s.db
    .select({ festivalId: waitlistEntries.festivalId, day: waitlistEntries.day })
    .from(waitlistEntries)
    .where(and(eq(waitlistEntries.userId, userId), eq(waitlistEntries.live, 1)));
  for (const e of live) {
    await leaveWaitlist(s, hookLogger(), e.festivalId, userId, e.day, "cancelled").catch((err: unknown) => {
      if (!(err instanceof AppError)) throw err;
    });
  }
}
