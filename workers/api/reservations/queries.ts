import { and, desc, eq, lt, ne, type SQL } from "drizzle-orm";
import { festivals } from "../../db/schema/festivals";
import { reservations } from "../../db/schema/reservations";
import { AppError } from "../../lib/errors";
import { encodeCursor } from "../../lib/schemas";
import type { Services } from "../../lib/services";
import type { AuthUser } from "../hono-env";
import type { ListQuery, ReservationList, ReservationView } from "./schemas";
import { findReservation, isShown, reservationNotFound, toView } from "./service";

/** Owners and admins see a reservation; for anyone else it does not exist (ids leak nothing). */
export async function getForViewer(
  s: Services,
  env: Env,
  viewer: AuthUser,
  id: number,
): Promise<ReservationView> {
  const r = await findReservation(s, id);
  if (!r || (r.userId !== viewer.id && viewer.role !== "admin")) throw reservationNotFound();
  return toView(env, r);
}

/** Newest first, keyset on id (stable under inserts: new rows have larger ids). */
async function page(s: Services, env: Env, scope: SQL | undefined, q: ListQuery): Promise<ReservationList> {
  const rows = await s.db
    .select()
    .from(reservations)
    .where(
      and(
        scope,
        // A pending row is not a reservation yet (service.ts): lists never show one.
        q.status ? eq(reservations.status, q.status) : ne(reservations.status, "pending"),
        q.cursor ? lt(reservations.id, q.cursor) : undefined,
      ),
    )
    .orderBy(desc(reservations.id))
    .limit(q.limit + 1);
  const items = rows.slice(0, q.limit).filter(isShown);
  const last = items.at(-1);
  return {
    items: await Promise.all(items.map((r) => toView(env, r))),
    nextCursor: rows.length > q.limit && last ? encodeCursor(last.id) : null,
  };
}

export const listMine = (s: Services, env: Env, userId: number, q: ListQuery) =>
  page(s, env, eq(reservations.userId, userId), q);

export async function listForFestival(s: Services, env: Env, festivalId: number, q: ListQuery) {
  const [f] = await s.db
    .select({ id: festivals.id })
    .from(festivals)
    .where(eq(festivals.id, festivalId))
    .limit(1);
  if (!f) throw new AppError(404, "festival.not_found", "No such festival");
  return page(s, env, eq(reservations.festivalId, festivalId), q);
}
