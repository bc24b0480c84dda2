import { drainFollowUps } from "../api/follow-ups";
import { announceMissedOffers } from "../api/notifications/missed-offers";
import { getServices } from "../lib/services";
import type { Job } from "./index";

/**
 * The outbox (follow_ups): what a request wrote beside its change and did not finish itself: its
 * Worker died, a step failed, or the work is long (a festival's cancellation: chunks of reservations
 * and the holders' notices, resumed where the last step stopped). Overlapping ticks claim each row.
 * Waitlist offers need no row: a live offer without its notice is announced (missed-offers.ts).
 */
export const followUpsJob: Job = {
  name: "follow-ups",
  async run(env, _ctx, log, scheduledTime) {
    const s = getServices(env);
    const now = new Date(Math.max(scheduledTime, Date.now()));
    const [finished, offers] = await Promise.all([
      drainFollowUps(s, log, now),
      announceMissedOffers(s, log, now),
    ]);
    if (finished || offers) log.info("follow-ups finished", { finished, offersAnnounced: offers });
  },
};
