import { eq } from "drizzle-orm";
import { reservations } from "../../db/schema/reservations";
import type { Logger } from "../../lib/logger";
import { withRetries } from "../../lib/retry";
import type { Services } from "../../lib/services";
import { joinChatRoom } from "../chat/rooms";
import { tellReservation } from "../notifications/events";
import { PENDING_GRACE_MS } from "./confirm";

/**
 * What a reservation's outbox rows do (workers/api/follow-ups.ts runs them). The row is written
 * beside the confirming statement (service.ts), so it may run for a reservation that was refused
 * (gone: nothing to do) or is still pending (its request is still deciding: try again shortly).
 * Both steps are idempotent: the membership is INSERT IGNORE, the notice has a dedupe key.
 * Returns null when done, or how long to wait before looking again.
 */
export async function afterReservationConfirmed(
  s: Services,
  log: Logger,
  reservationId: number,
): Promise<number | null> {
  const [r] = await s.db.select().from(reservations).where(eq(reservations.id, reservationId));
  if (!r || r.status === "cancelled") return null;
  if (r.status === "pending") {
    // Confirmed by a retry later, or swept: either way it is settled within the grace.
    return Date.now() - r.createdAt.getTime() > PENDING_GRACE_MS * 2 ? null : 30_000;
  }
  // Many buyers join one room in the same second: its membership writes contend too.
  await withRetries(log, "join chat room", () => joinChatRoom(s, r.festivalId, r.userId));
  await tellReservation(s, log, "confirmed", r);
  return null;
}

export async function afterReservationCancelled(
  s: Services,
  log: Logger,
  reservationId: number,
): Promise<void> {
  const [r] = await s.db.select().from(reservations).where(eq(reservations.id, reservationId));
  if (r?.status === "cancelled") await tellReservation(s, log, "cancelled", r);
}
