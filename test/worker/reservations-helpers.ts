import { and, eq, inArray, sql } from "drizzle-orm";
import type { V1FestivalsReservationsPostResponse } from "../../workers/api/reservations/v1_festivals_reservations_post";
import { festivalDays, festivals } from "../../workers/db/schema/festivals";
import { reservations } from "../../workers/db/schema/reservations";
import { db } from "./fixtures";
import { api } from "./helpers";

/** Reservations through the API, and what the database holds after them (the festivals and users: fixtures.ts). */

export type ReservationBody = V1FestivalsReservationsPostResponse;

export function reserve(user: { token: string }, festivalId: number, body: unknown, idempotencyKey?: string) {
  return api<ReservationBody>("POST", `/v1/festivals/${festivalId}/reservations`, {
    token: user.token,
    body,
    headers: idempotencyKey ? { "idempotency-key": idempotencyKey } : {},
  });
}

/** What the database says: per day capacity/reserved and the sum of active reservation quantities. */
export async function dbState(festivalId: number) {
  const days = await db().select().from(festivalDays).where(eq(festivalDays.festivalId, festivalId));
  const active = await db()
    .select({ day: reservations.day, total: sql<number>`sum(${reservations.quantity})`.mapWith(Number) })
    .from(reservations)
    .where(
      and(eq(reservations.festivalId, festivalId), inArray(reservations.status, ["confirmed", "checked_in"])),
    )
    .groupBy(reservations.day);
  const [f] = await db()
    .select({ reservedCount: festivals.reservedCount })
    .from(festivals)
    .where(eq(festivals.id, festivalId));
  return {
    days: Object.fromEntries(
      days.map((d) => [d.day, { capacity: d.capacity, reserved: d.reserved, held: d.held }]),
    ),
    active: Object.fromEntries(active.map((a) => [a.day, a.total])) as Record<string, number>,
    reservedCount: f?.reservedCount ?? -1,
    rows: await db().select().from(reservations).where(eq(reservations.festivalId, festivalId)),
  };
}
