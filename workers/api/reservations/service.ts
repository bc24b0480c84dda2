/**
 * Reservations: how sale day stays exact without holding a hot lock across a round trip.
 *
 * MySQL is the only source of truth. The old way (one InnoDB transaction per reservation) held the
 * day row's lock from its UPDATE to the COMMIT, a network round trip later: every buyer of a day
 * queued behind that round trip, a Worker cancelled between two statements left the lock to the
 * database's transaction killer, and the reservation's fate depended on the client staying
 * connected. Now each reservation is three steps of autocommit statements (confirm.ts):
 *
 *   a. INSERT the row as `pending` with the request's idempotency key (unique per user), and make
 *      sure the user's totals row exists (INSERT IGNORE): both new or private rows, in parallel.
 *   b. ONE multi-table UPDATE confirms the row, adds to the user's total only within the per-user
 *      limit, and takes the places on festival_days (+ festivals.reserved_count) only if they fit
 *      and the festival is not cancelled. Its locks last for that statement only.
 *   c. 0 rows: one read says why (limit, sold out, cancelled, or a repeat already confirmed it); the
 *      pending row is deleted (only while still pending) and the answer is 422/409.
 *
 * A 201 is sent only after (b) matched, so it is durable and is what the lists show (they never
 * show pending rows). A Worker that dies after (a) leaves a pending row holding no places: a retry
 * with the same key confirms it, or the sweeper job deletes it after PENDING_GRACE_MS. A Worker that
 * dies after (b) leaves a confirmed reservation whose key a retry finds: the first answer again.
 * Cancelling (cancel.ts) is one statement per reservation as well.
 *
 * A Redis sold-out flag (sold-out.ts) sheds load once a day is full; it can only say "no" early,
 * never "yes". Sale-day flow control lives in ../sales: while a festival's waiting room is on, the
 * call needs an admission token (checked without I/O); a user holding a waitlist offer for the day
 * claims it here instead (held → reserved in step b, see confirm.ts).
 */
import { and, eq, ne } from "drizzle-orm";
import { type Festival, festivalDays, festivals } from "../../db/schema/festivals";
import { type Reservation, type ReservationStatus, reservations } from "../../db/schema/reservations";
import { waitlistEntries } from "../../db/schema/sales";
import { AppError } from "../../lib/errors";
import { addFollowUp, finishFollowUp } from "../../lib/follow-ups";
import type { Logger } from "../../lib/logger";
import { busy, withRetries } from "../../lib/retry";
import type { Services } from "../../lib/services";
import { todayIn } from "../../lib/time";
import type { IdempotencyHashes } from "../middleware/idempotency";
import { admissionDone, requireAdmission } from "../sales/admission";
import { announceOffers } from "../sales/announce";
import { offerExpired, offerFreePlaces } from "../sales/offers";
import { checkInCode } from "./checkin-code";
import {
  confirmPending,
  confirmPendingClaim,
  dropPending,
  findByKey,
  insertPending,
  whyNot,
} from "./confirm";
import { afterReservationConfirmed } from "./follow-up";
import type { ReservationView } from "./schemas";
import { forgetSoldOut, markSoldOut, type SoldOutState } from "./sold-out";

/** A row the API may show: anything but a pending one. */
export type ShownReservation = Omit<Reservation, "status"> & { status: ReservationStatus };

export const isShown = (r: Reservation): r is ShownReservation => r.status !== "pending";

export async function toView(env: Env, r: ShownReservation): Promise<ReservationView> {
  return {
    id: r.id,
    festivalId: r.festivalId,
    userId: r.userId,
    day: r.day,
    quantity: r.quantity,
    status: r.status,
    confirmedAt: r.confirmedAt.toISOString(),
    cancelledAt: r.cancelledAt?.toISOString() ?? null,
    cancelReason: r.cancelReason ?? null,
    checkedInAt: r.checkedInAt?.toISOString() ?? null,
    checkInCode: r.status === "cancelled" ? null : await checkInCode(env.CHECKIN_SECRET, r.id, r.festivalId),
    createdAt: r.createdAt.toISOString(),
  };
}

export async function findReservation(s: Services, id: number): Promise<ShownReservation | undefined> {
  const [row] = await s.db
    .select()
    .from(reservations)
    .where(and(eq(reservations.id, id), ne(reservations.status, "pending")))
    .limit(1);
  return row && isShown(row) ? row : undefined;
}

const festivalNotFound = () => new AppError(404, "festival.not_found", "No such festival");

function notOnSale(f: Festival, reason: "cancelled" | "not_yet_open" | "closed") {
  return new AppError(422, "reservation.not_on_sale", "This festival is not on sale", {
    details: {
      reason,
      saleOpensAt: f.saleOpensAt.toISOString(),
      saleClosesAt: f.saleClosesAt.toISOString(),
    },
  });
}

export const soldOut = (day: string, remaining: number) =>
  new AppError(409, "reservation.sold_out", "Not enough places left on this day", {
    details: { day, remaining },
  });

function limitExceeded(limit: number, alreadyReserved: number, requested: number) {
  return new AppError(422, "reservation.limit_exceeded", "This would pass the festival's per-user limit", {
    details: {
      limit,
      alreadyReserved,
      requested,
    },
  });
}

/** An outbox row this request wrote: the route runs it after answering (follow-ups.ts). */
export interface FollowUpRef {
  id: number;
  kind: string;
  payload: Record<string, unknown>;
}

export interface ReserveOutcome {
  view: ReservationView;
  /** True when an earlier request with the same Idempotency-Key made this reservation. */
  replayed: boolean;
  followUp?: FollowUpRef | undefined;
}

/** What a reservation looked like when it was confirmed: a repeat of the request answers the same. */
export function asConfirmed(r: Reservation): ShownReservation {
  return { ...r, status: "confirmed", cancelledAt: null, cancelReason: null, checkedInAt: null };
}

type ReserveInput = {
  day: string;
  quantity: number;
  admissionToken?: string | undefined;
  /** The request's id, for the sale batch's log line (the line that records the confirmation). */
  requestId?: string | undefined;
};

export async function reserve(
  s: Services,
  env: Env,
  logger: Logger,
  userId: number,
  festivalId: number,
  input: ReserveInput,
  idempotency: IdempotencyHashes | undefined,
  gate: { flag: SoldOutState | undefined; keyIsNew: boolean },
): Promise<ReserveOutcome> {
  const { day, quantity } = input;
  // Once a day is full most calls end at the gate (gate.ts: one Redis script). What reaches this
  // line with the flag set is a retry of a key that reached the database: the key lookup answers a
  // repeat of a made reservation as it was, also after the day sold out. The flag only ever
  // shortcuts a "no"; an offer holder's places look sold out, so the hint lets them through.
  const flag = gate.flag;
  // A key the gate saw for the first time has no row: no lookup (a lost Redis mark is still safe,
  // the insert's unique key finds the earlier row).
  const lookUp = idempotency && !gate.keyIsNew ? idempotency : undefined;
  if (flag?.soldOut && !flag.offerHint) {
    const earlier =
      lookUp && (await withRetries(logger, "reserve.key", () => findByKey(s.db, userId, lookUp.keyHash)));
    if (earlier && idempotency) return resolveEarlier(s, env, logger, earlier, idempotency, input);
    throw soldOut(day, 0);
  }
  // Sale day's common case goes to the festival's SaleDesk, which commits the crowd in batches
  // (batch.ts). A repeat of a key that reached the database, an offer holder (by its hint), and
  // whatever the batch sends back "elsewhere" take the single-statement path below.
  if (!lookUp && !flag?.offerHint) {
    const done = await viaDesk(s, env, logger, { userId, festivalId }, input, idempotency, flag);
    if (done) return done;
  }
  const [earlier, [found]] = await Promise.all([
    lookUp ? withRetries(logger, "reserve.key", () => findByKey(s.db, userId, lookUp.keyHash)) : undefined,
    withRetries(logger, "reserve.read", () =>
      s.db
        .select({
          festival: festivals,
          capacity: festivalDays.capacity,
          offerId: waitlistEntries.id,
          offerHeld: waitlistEntries.heldQuantity,
        })
        .from(festivals)
        .leftJoin(festivalDays, and(eq(festivalDays.festivalId, festivals.id), eq(festivalDays.day, day)))
        // The user's waitlist offer for this day, if any: reserving the day claims it.
        .leftJoin(
          waitlistEntries,
          and(
            eq(waitlistEntries.festivalId, festivals.id),
            eq(waitlistEntries.userId, userId),
            eq(waitlistEntries.day, day),
            eq(waitlistEntries.status, "offered"),
          ),
        )
        .where(eq(festivals.id, festivalId))
        .limit(1),
    ),
  ]);
  if (earlier && idempotency) return resolveEarlier(s, env, logger, earlier, idempotency, input);
  if (!found) throw festivalNotFound();
  const f = found.festival;
  const now = new Date();
  if (f.cancelledAt) throw notOnSale(f, "cancelled");
  if (now < f.saleOpensAt) throw notOnSale(f, "not_yet_open");
  if (now >= f.saleClosesAt) throw notOnSale(f, "closed");
  if (found.capacity === null || day < f.startDate || day > f.endDate || day < todayIn(f.timezone, now)) {
    throw new AppError(422, "reservation.invalid_day", "The festival has no places to sell on this day", {
      details: {
        day,
        startDate: f.startDate,
        endDate: f.endDate,
      },
    });
  }
  const offer = found.offerId ? { entryId: found.offerId, held: found.offerHeld ?? 0 } : undefined;
  // An offer holder already waited their turn; everyone else needs an admission while the queue is on.
  const admitted = offer
    ? false
    : await requireAdmission(env, f, userId, input.admissionToken, now.getTime());
  if (quantity > f.perUserLimit) throw limitExceeded(f.perUserLimit, 0, quantity);

  const at = new Date();
  const id = await withRetries(logger, "reserve.pending", () =>
    insertPending(s.db, { festivalId, userId, day, quantity, at, idempotency }),
  );
  if (id === undefined) {
    // A repeat with the same key inserted first (it raced us): resolve that row.
    const earlier = idempotency && (await findByKey(s.db, userId, idempotency.keyHash));
    if (!earlier) throw busy();
    return resolveEarlier(s, env, logger, earlier, idempotency, input);
  }
  const row = freshRow({ id, festivalId, userId, day, quantity, status: "pending" }, at, idempotency);
  const { confirmedHere, followUp } = await takePlacesWithOutbox(s, logger, row, f, offer, flag);
  // This request rechecked a day that was sold out a moment ago, and there were places.
  if (flag?.recheck) await forgetSoldOut(s, festivalId, day);
  if (confirmedHere) {
    await afterConfirmed(s, logger, row, f, { admitted, leftover: offer ? offer.held - quantity : 0 });
  }
  return { view: await toView(env, asConfirmed(row)), replayed: false, followUp };
}

/** A row as this request wrote it (what the answer shows, without reading it back). */
function freshRow(
  r: Pick<Reservation, "id" | "festivalId" | "userId" | "day" | "quantity" | "status">,
  at: Date,
  idempotency: IdempotencyHashes | undefined,
): Reservation {
  return {
    ...r,
    confirmedAt: at,
    cancelledAt: null,
    cancelReason: null,
    checkedInAt: null,
    idempotencyKey: idempotency?.keyHash ?? null,
    requestHash: idempotency?.requestHash ?? null,
    createdAt: at,
    updatedAt: at,
  };
}

/** The batch's answer as this request's, or undefined for the single-statement path. */
async function viaDesk(
  s: Services,
  env: Env,
  logger: Logger,
  buyer: { userId: number; festivalId: number },
  input: ReserveInput,
  idempotency: IdempotencyHashes | undefined,
  flag: SoldOutState | undefined,
): Promise<ReserveOutcome | undefined> {
  const { userId, festivalId } = buyer;
  const { day, quantity } = input;
  const answer = await saleDesk(env, festivalId)
    .reserve(festivalId, {
      userId,
      day,
      quantity,
      idempotency,
      admissionToken: input.admissionToken,
      requestId: input.requestId,
    })
    .catch((err: unknown) => {
      // The object was reset or overloaded: its batch may have committed, so only a retry with the
      // Idempotency-Key can tell (the gate marked the key: the retry looks it up).
      logger.error("sale desk unreachable", { festivalId, error: err });
      throw busy();
    });
  switch (answer.kind) {
    case "elsewhere":
      return undefined;
    case "busy":
      throw busy();
    case "sold_out":
      if (answer.remaining <= 0) await markSoldOut(s, festivalId, day, flag);
      throw soldOut(day, answer.remaining);
  }
  // An answer kind from a newer object this Worker does not know (a rolling deploy): the other path.
  if ((answer.kind as string) !== "confirmed") return undefined;
  const at = new Date(answer.at);
  const row = freshRow(
    { id: answer.id, festivalId, userId, day, quantity, status: "confirmed" },
    at,
    idempotency,
  );
  if (flag?.recheck) await forgetSoldOut(s, festivalId, day);
  // The batch's log line recorded this confirmation (with the request's id); what afterConfirmed
  // does besides is the admission's end (a claimed offer, whose leftover it offers, never gets here).
  if (answer.admitted) await admissionDone(s, logger, answer.admitted, userId);
  return {
    view: await toView(env, asConfirmed(row)),
    replayed: false,
    // The desk runs its batch's follow-ups itself.
  };
}

/** The festival's batching object, near the database when SALE_DESK_LOCATION names its region. */
function saleDesk(env: Env, festivalId: number) {
  const id = env.SALE_DESK.idFromName(String(festivalId));
  const hint = env.SALE_DESK_LOCATION as DurableObjectLocationHint | "";
  return hint ? env.SALE_DESK.get(id, { locationHint: hint }) : env.SALE_DESK.get(id);
}

/**
 * takePlaces, with the reservation's outbox row written beside the confirming statement (in
 * parallel: no extra round trip before the 201). Not in one transaction with it on purpose: that
 * would hold the day row's lock across the COMMIT round trip (invariant 6). So the row may exist for
 * a refused reservation (we delete it; otherwise its handler finds nothing to do) and, if its
 * insert failed while the places were taken, the follow-up runs inline instead, as before the outbox.
 */
async function takePlacesWithOutbox(
  s: Services,
  logger: Logger,
  r: Reservation,
  f: Festival,
  offer: { entryId: number; held: number } | undefined,
  flag: SoldOutState | undefined,
): Promise<{ confirmedHere: boolean; followUp?: FollowUpRef }> {
  const followUp = { kind: "reservation.confirmed", payload: { reservationId: r.id } };
  const [took, outbox] = await Promise.allSettled([
    takePlaces(s, logger, r, f, offer, flag),
    withRetries(logger, "reserve.outbox", () => addFollowUp(s.db, followUp)),
  ]);
  if (took.status === "rejected") {
    // Only a refusal is certain to have taken nothing; after a 503 the row may still be confirmed
    // (a lost answer), and then the outbox row is what makes its follow-up happen.
    const refused = took.reason instanceof AppError && took.reason.status < 500;
    if (refused && outbox.status === "fulfilled") await finishFollowUp(s.db, outbox.value).catch(() => {});
    throw took.reason;
  }
  if (outbox.status === "fulfilled") return { ...took.value, followUp: { id: outbox.value, ...followUp } };
  logger.error("outbox row not written; following up inline", { reservationId: r.id, error: outbox.reason });
  await afterReservationConfirmed(s, logger, r.id).catch((err: unknown) =>
    logger.error("reservation follow-up failed; the reservation stands", { reservationId: r.id, error: err }),
  );
  return took.value;
}

/**
 * Steps (b) and (c) for a pending row. Throws the refusal (after deleting the row); returns whether
 * this call confirmed it (false: a repeat with the same key did, which is just as good).
 */
async function takePlaces(
  s: Services,
  logger: Logger,
  r: Reservation,
  f: Festival,
  offer: { entryId: number; held: number } | undefined,
  flag: SoldOutState | undefined,
): Promise<{ confirmedHere: boolean }> {
  let claim = offer;
  for (let round = 0; ; round++) {
    const matched = await withRetries(logger, "reserve.confirm", () =>
      claim ? confirmPendingClaim(s.db, r, claim, new Date()) : confirmPending(s.db, r),
    );
    if (matched) return { confirmedHere: true };
    const why = await withRetries(logger, "reserve.why", () => whyNot(s.db, r));
    if (why.confirmed) return { confirmedHere: false };
    if (claim && round < 3) {
      // The offer changed under us (topped up, or expired): read it again and decide on that.
      const [e] = await s.db.select().from(waitlistEntries).where(eq(waitlistEntries.id, claim.entryId));
      if (
        e?.status === "offered" &&
        e.heldQuantity !== claim.held &&
        e.offerExpiresAt &&
        e.offerExpiresAt > new Date()
      ) {
        claim = { entryId: claim.entryId, held: e.heldQuantity };
        continue;
      }
      if (e?.status !== "offered" || !e.offerExpiresAt || e.offerExpiresAt <= new Date()) {
        await refuse(s, logger, r);
        throw offerExpired();
      }
    }
    if (why.gone) throw busy();
    const fits = claim ? why.remaining + claim.held >= r.quantity : why.remaining >= r.quantity;
    const refusal = why.cancelled
      ? "cancelled"
      : why.userTotal + r.quantity > why.limit
        ? "limit"
        : !fits
          ? "sold_out"
          : undefined;
    // Everything fits now: the UPDATE lost a race that has since settled. Try it again.
    if (!refusal && round < 3) continue;
    if (!(await refuse(s, logger, r))) return { confirmedHere: false };
    if (refusal === "limit") throw limitExceeded(why.limit, why.userTotal, r.quantity);
    if (refusal === "cancelled") throw notOnSale(f, "cancelled");
    if (why.remaining <= 0) await markSoldOut(s, r.festivalId, r.day, flag);
    throw soldOut(r.day, Math.max(0, why.remaining));
  }
}

/** Deletes the refused pending row; false when it was confirmed meanwhile (by a repeat). */
async function refuse(s: Services, logger: Logger, r: Reservation): Promise<boolean> {
  const dropped = await withRetries(logger, "reserve.drop", () => dropPending(s.db, r.id));
  if (dropped) return true;
  const why = await whyNot(s.db, r);
  return !why.confirmed;
}

/**
 * A request whose key already has a reservation: a different request under the same key is a client
 * bug (422); a confirmed one is answered as it was; a pending one (its Worker died, or it is still
 * running) is confirmed by this call, which is the same request.
 */
async function resolveEarlier(
  s: Services,
  env: Env,
  logger: Logger,
  earlier: Reservation,
  idempotency: { keyHash: string; requestHash: string },
  input: { admissionToken?: string | undefined },
): Promise<ReserveOutcome> {
  if (earlier.requestHash !== idempotency.requestHash) throw keyReused();
  if (earlier.status === "pending") {
    const [f] = await s.db.select().from(festivals).where(eq(festivals.id, earlier.festivalId));
    if (!f) throw festivalNotFound();
    const admitted = await requireAdmission(env, f, earlier.userId, input.admissionToken).catch(() => false);
    const took = await takePlacesWithOutbox(s, logger, earlier, f, undefined, undefined);
    if (took.confirmedHere) await afterConfirmed(s, logger, earlier, f, { admitted, leftover: 0 });
    return { view: await toView(env, asConfirmed(earlier)), replayed: true, followUp: took.followUp };
  }
  return { view: await toView(env, asConfirmed(earlier)), replayed: true };
}

/**
 * After a 201 is certain, what the sale itself needs at once: none of this can undo it, so it runs
 * side by side and never throws. Joining the chat room and the inbox entry are the outbox row's.
 */
async function afterConfirmed(
  s: Services,
  logger: Logger,
  r: Reservation,
  f: Festival,
  opts: { admitted: boolean; leftover: number },
): Promise<void> {
  logger.info("reservation confirmed", { reservationId: r.id, festivalId: r.festivalId, day: r.day });
  await Promise.all([
    opts.admitted ? admissionDone(s, logger, f, r.userId) : undefined,
    // A claim for fewer places than held frees the rest: they go to the next in line.
    opts.leftover > 0 ? offerLeftover(s, logger, r.festivalId, r.day) : undefined,
  ]);
}

async function offerLeftover(s: Services, logger: Logger, festivalId: number, day: string) {
  try {
    const offers = await withRetries(logger, "waitlist.offer", () =>
      offerFreePlaces(s.db, festivalId, day, new Date()),
    );
    await announceOffers(s, logger, offers);
  } catch (err) {
    logger.error("leftover places not offered; the next release or expiry offers them", { error: err });
  }
}

const keyReused = () =>
  new AppError(
    422,
    "idempotency.key_reused",
    "This Idempotency-Key was already used with a different request",
  );

export const reservationNotFound = () => new AppError(404, "reservation.not_found", "No such reservation");
