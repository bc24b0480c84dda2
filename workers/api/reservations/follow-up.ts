import { eq, inArray } from "drizzle-orm";
import { reservations } from "../../db/schema/reservations";
import type { Logger } from "../../lib/logger";
import { withRetries } from "../../lib/retry";
import type { Services } from "../../lib/services";
import { joinChatRoom, joinChatRoomMany } from "../chat/rooms";
import { tellReservation, tellReservations } from "../notifications/events";
import { PENDING_GRACE_MS } from "./confirm";

/** A pending row's request is still deciding (confirmed by a retry later, or swept): look again. */
const pendingWait = (createdAt: Date) =>
  Date.now() - createdAt.getTime() > PENDING_GRACE_MS * 2 ? null : 30_000;

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
    return pendingWait(r.createdAt);
  }
  // Many buyers join one room in the same second: its membership writes contend too.
  await withRetries(log, "join chat room", () => joinChatRoom(s, r.festivalId, r.userId));
  await tellReservation(s, log, "confirmed", r);
  return null;
}

/** What became of one reservation in a batch: done (null), look again in `waitMs`, or failed. */
export type ConfirmedOutcome = { waitMs: number | null } | { failed: unknown };

/**
 * afterReservationConfirmed for many reservations at once (sale day: hundreds a second, the
 * follow-ups batched by workers/api/follow-ups.ts): one read of them all, one join per festival
 * room and one notifyMany, with the same outcome per reservation. A room whose join fails fails
 * only its own reservations (they are told nothing yet, as a single run would not be).
 */
export async function afterReservationsConfirmed(
  s: Services,
  log: Logger,
  reservationIds: number[],
): Promise<Map<number, ConfirmedOutcome>> {
  const ids = [...new Set(reservationIds)];
  const out = new Map<number, ConfirmedOutcome>();
  if (!ids.length) return out;
  const rows = await s.db
    .select({
      id: reservations.id,
      userId: reservations.userId,
      festivalId: reservations.festivalId,
      day: reservations.day,
      quantity: reservations.quantity,
      status: reservations.status,
      createdAt: reservations.createdAt,
    })
    .from(reservations)
    .where(inArray(reservations.id, ids));
  const byFestival = new Map<number, typeof rows>();
  for (const id of ids) out.set(id, { waitMs: null });
  for (const r of rows) {
    if (r.status === "cancelled") continue;
    if (r.status === "pending") {
      out.set(r.id, { waitMs: pendingWait(r.createdAt) });
      continue;
    }
    byFestival.set(r.festivalId, [...(byFestival.get(r.festivalId) ?? []), r]);
  }
  const joined: typeof rows = [];
  await Promise.all(
    [...byFestival].map(async ([festivalId, rs]) => {
      try {
        await joinChatRoomMany(
          s,
          log,
          festivalId,
          rs.map((r) => r.userId),
        );
        joined.push(...rs);
      } catch (err) {
        for (const r of rs) out.set(r.id, { failed: err });
      }
    }),
  );
  try {
    await tellReservations(s, log, "confirmed", joined);
  } catch (err) {
    for (const r of joined) out.set(r.id, { failed: err });
  }
  return out;
}

export async function afterReservationCancelled(
  s: Services,
  log: Logger,
  reservationId: number,
): Promise<void> {
  const [r] = await s.db.select().from(reservations).where(eq(reservations.id, reservationId));
  if (r?.status === "cancelled") await tellReservation(s, log, "cancelled", r);
}
