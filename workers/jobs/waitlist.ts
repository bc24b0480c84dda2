import { expireDueOffers, refreshOfferHints, remindExpiringOffers } from "../api/sales/expiry";
import { getServices } from "../lib/services";
import type { Job } from "./index";

/**
 * Waitlist upkeep each minute: offers past their expiry pass to the next in line (reads of a
 * festival's waitlist do the same at once, so this is the backstop), "expiring soon" notices go out,
 * and the Redis hints that let offer holders past the sold-out flag are rewritten. Overlapping runs
 * are safe: expiry re-checks each offer under its row lock, and a notice is claimed by a conditional
 * UPDATE before it is sent. The waiting room needs no tick: admission is computed on read.
 */
export const waitlistJob: Job = {
  name: "waitlist",
  async run(env, _ctx, log, scheduledTime) {
    const s = getServices(env);
    const now = new Date(Math.max(scheduledTime, Date.now()));
    let expired = 0;
    // A few batches per run; a larger backlog continues on the next tick.
    for (let i = 0; i < 5; i++) {
      const n = await expireDueOffers(s, log, { now });
      expired += n;
      if (n === 0) break;
    }
    const reminded = await remindExpiringOffers(s, log, now);
    await refreshOfferHints(s, log, now);
    if (expired || reminded) log.info("waitlist upkeep", { expired, reminded });
  },
};
