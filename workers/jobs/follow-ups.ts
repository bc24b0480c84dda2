import { drainFollowUps } from "../api/follow-ups";
import { getServices } from "../lib/services";
import type { Job } from "./index";

/**
 * The outbox (follow_ups): what a request wrote beside its change and did not finish itself: its
 * Worker died, a step failed, or the work is long (a festival's cancellation: chunks of reservations
 * and the holders' notices, resumed where the last step stopped). Overlapping ticks claim each row.
 */
export const followUpsJob: Job = {
  name: "follow-ups",
  async run(env, _ctx, log, scheduledTime) {
    const finished = await drainFollowUps(
      getServices(env),
      log,
      new Date(Math.max(scheduledTime, Date.now())),
    );
    if (finished) log.info("follow-ups finished", { finished });
  },
};
