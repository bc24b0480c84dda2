import { sweepPendings } from "../api/reservations/confirm";
import { getServices } from "../lib/services";
import type { Job } from "./index";

/**
 * Pending reservations whose Worker died before confirming them (reservations/service.ts) hold no
 * places; this deletes them after their grace period, so the user's key is free again and no row
 * waits forever. One DELETE per tick; overlapping runs only delete the same rows once.
 */
export const pendingReservationsJob: Job = {
  name: "pending-reservations",
  async run(env, _ctx, log, scheduledTime) {
    const swept = await sweepPendings(getServices(env).db, new Date(Math.max(scheduledTime, Date.now())));
    if (swept) log.info("pending reservations swept", { count: swept });
  },
};
