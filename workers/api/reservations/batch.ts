/**
 * Group commit for sale day: the statements of a batch of reservations of one festival, gathered by
 * its SaleDesk object (durable-objects/sale-desk.ts) while the previous batch was in flight.
 *
 * Why: one reservation on its own (service.ts, steps a–c) is five statements, each a round trip and,
 * on this project's measurements, each costing the Worker about what a whole small request costs.
 * Of 100 buyers arriving together, that is ~500 round trips. As one batch it is seven sequential
 * round trips (nine or ten statements) in all: the crowd shares them, and the day's place count is changed
 * once per batch instead of once per buyer.
 *
 *   1. Outside any transaction, in parallel: make sure every buyer has a totals row (INSERT IGNORE,
 *      as step a does), and read which buyers hold a waitlist offer for the day or repeat an
 *      Idempotency-Key that already has a row. Those are answered "elsewhere": service.ts's own
 *      path claims offers and resolves repeats, as it always did.
 *   2. One transaction. First every buyer's row (as `confirmed`, with its idempotency key) and its
 *      outbox row: new rows lock nothing another batch needs, so these two run while the batch
 *      ahead still holds the day's locks. Then lock the festival row, the days and the buyers'
 *      totals rows (one SELECT … FOR UPDATE), decide in arrival order who gets places, delete the
 *      rows of those who do not (only when the day sells out within the batch, or for a stray
 *      refusal), raise the counters in one multi-table UPDATE, and COMMIT. Nothing taken at all:
 *      ROLLBACK instead. With BEGIN, six round trips.
 *
 * The transaction holds the day's lock for two round trips (the UPDATE and the COMMIT; three with
 * the DELETE), which is what the single-statement path avoided altogether. Until 2026-12-02 the rows
 * were inserted after the lock, which held it for four. It is held by one object per festival,
 * placed near the database (SALE_DESK_LOCATION is a location hint): a few ms per batch in
 * production, shared by everyone in it, never by a Worker at the edge and never waiting on a client. Everything that writes these rows elsewhere
 * (cancel, offers, admin capacity, the single-statement path) still takes the same row locks, so
 * MySQL keeps them exact; it only waits for the batch's COMMIT.
 *
 * A 201 is answered only after the COMMIT, so it is durable and is what the lists show. The key is
 * written with the row in the same transaction: a retry after a lost answer finds it (service.ts).
 */
import { and, eq, inArray, sql } from "drizzle-orm";
import { festivalDays, festivalSaleColumns, festivals } from "../../db/schema/festivals";
import { followUps } from "../../db/schema/follow-ups";
import { reservations, reservationUserTotals } from "../../db/schema/reservations";
import { waitlistEntries } from "../../db/schema/sales";
import type { Tx } from "../../lib/db";
import { AppError } from "../../lib/errors";
import { FOLLOW_UP_LEASE_MS } from "../../lib/follow-ups";
import type { Logger } from "../../lib/logger";
import { withRetries } from "../../lib/retry";
import type { Services } from "../../lib/services";
import { todayIn } from "../../lib/time";
import type { IdempotencyHashes } from "../middleware/idempotency";
import { requireAdmission } from "../sales/admission";
import { type QueueColumns, queueColumns } from "../sales/queue";
import { isDuplicate } from "./confirm";

export interface DeskItem {
  userId: number;
  day: string;
  quantity: number;
  idempotency?: IdempotencyHashes | undefined;
  admissionToken?: string | undefined;
  requestId?: string | undefined;
}

export type DeskAnswer =
  /**
   * Committed: the row, its outbox row, and what the caller needs to answer and finish (the batch's
   * few festival columns, only for an admitted buyer, whose admission the caller marks done). Small
   * on purpose: a whole festival row per answer was 6 % of the Worker's CPU in a profile of the sale.
   */
  | { kind: "confirmed"; id: number; at: number; followUpId: number; admitted?: QueueColumns }
  | { kind: "sold_out"; remaining: number }
  /** Not for the batch (a refusal that needs its details, an offer, a repeat): service.ts decides. */
  | { kind: "elsewhere" }
  /** The batch could not be committed within the retry budget; nothing is certain but the key. */
  | { kind: "busy" };

/** A batch's largest size: bounds the statements' length and a batch's lock time. */
export const MAX_BATCH = 200;

const ELSEWHERE: DeskAnswer = { kind: "elsewhere" };

/** Commits a batch; never throws (a failure is every item's "busy"). */
export async function commitBatch(
  s: Services,
  env: Env,
  logger: Logger,
  festivalId: number,
  items: DeskItem[],
): Promise<DeskAnswer[]> {
  const users = [...new Set(items.map((i) => i.userId))];
  try {
    const [, known] = await Promise.all([
      withRetries(logger, "desk.totals", () =>
        s.db
          .insert(reservationUserTotals)
          .ignore()
          .values(users.map((userId) => ({ festivalId, userId, quantity: 0 }))),
      ),
      withRetries(logger, "desk.known", () => knownElsewhere(s, festivalId, users, items)),
    ]);
    return await withRetries(logger, "desk.batch", () =>
      s.db.transaction((tx) => decideAndWrite(tx, env, festivalId, users, items, known)),
    );
  } catch (err) {
    // A key inserted meanwhile by the single-statement path (a lost Redis mark raced a retry): the
    // whole batch is refused by its unique index and nothing was written. Each goes its own way.
    if (err instanceof Undo) return err.answers;
    if (isDuplicate(err)) return items.map(() => ELSEWHERE);
    if (!(err instanceof AppError)) logger.error("sale batch failed", { festivalId, error: err });
    return items.map(() => ({ kind: "busy" }));
  }
}

/** Buyers with an offer for their day, and keys that already have a row: "offer:<user>:<day>", "key:<user>:<hash>". */
async function knownElsewhere(
  s: Services,
  festivalId: number,
  users: number[],
  items: DeskItem[],
): Promise<Set<string>> {
  const keys = [...new Set(items.flatMap((i) => (i.idempotency ? [i.idempotency.keyHash] : [])))];
  const [offers, repeats] = await Promise.all([
    s.db
      .select({ userId: waitlistEntries.userId, day: waitlistEntries.day })
      .from(waitlistEntries)
      .where(
        and(
          eq(waitlistEntries.festivalId, festivalId),
          eq(waitlistEntries.status, "offered"),
          inArray(waitlistEntries.userId, users),
        ),
      ),
    keys.length
      ? s.db
          .select({ userId: reservations.userId, key: reservations.idempotencyKey })
          .from(reservations)
          .where(and(inArray(reservations.userId, users), inArray(reservations.idempotencyKey, keys)))
      : [],
  ]);
  return new Set([
    ...offers.map((o) => `offer:${o.userId}:${o.day}`),
    ...repeats.map((r) => `key:${r.userId}:${r.key}`),
  ]);
}

/** Thrown inside the transaction to roll it back (nothing taken: cheaper than deleting the rows). */
class Undo {
  readonly answers: DeskAnswer[];
  constructor(answers: DeskAnswer[]) {
    this.answers = answers;
  }
}

async function decideAndWrite(
  tx: Tx,
  env: Env,
  festivalId: number,
  users: number[],
  items: DeskItem[],
  known: Set<string>,
): Promise<DeskAnswer[]> {
  const now = new Date();
  // Every buyer's row and outbox row first, before any shared lock is taken: new rows lock nothing
  // another batch needs, so this runs while the batch ahead still holds the day's locks. Offers and
  // repeats (also of a key twice in this batch: the second finds the first's row once this commits)
  // are service.ts's to answer and get no row.
  const answers: DeskAnswer[] = items.map(() => ELSEWHERE);
  const keysHere = new Set<string>();
  const tentative: { i: number; item: DeskItem }[] = [];
  for (const [i, item] of items.entries()) {
    const key = item.idempotency && `key:${item.userId}:${item.idempotency.keyHash}`;
    if (known.has(`offer:${item.userId}:${item.day}`) || (key && (known.has(key) || keysHere.has(key))))
      continue;
    if (key) keysHere.add(key);
    tentative.push({ i, item });
  }
  if (!tentative.length) return answers;
  const ids = await tx
    .insert(reservations)
    .values(
      tentative.map(({ item }) => ({
        festivalId,
        userId: item.userId,
        day: item.day,
        quantity: item.quantity,
        status: "confirmed" as const,
        confirmedAt: now,
        createdAt: now,
        updatedAt: now,
        idempotencyKey: item.idempotency?.keyHash ?? null,
        requestHash: item.idempotency?.requestHash ?? null,
      })),
    )
    .$returningId();
  const outbox = await tx
    .insert(followUps)
    .values(
      ids.map(({ id }) => ({
        kind: "reservation.confirmed",
        payload: { reservationId: id },
        dueAt: new Date(now.getTime() + FOLLOW_UP_LEASE_MS),
      })),
    )
    .$returningId();
  if (ids.length !== tentative.length || outbox.length !== tentative.length) {
    throw new Error("batch insert returned too few ids");
  }

  // Then the festival, the days and the buyers' totals, locked in ONE statement: from here to the
  // COMMIT the batch holds them for two round trips (the UPDATE, the COMMIT).
  const days = [...new Set(items.map((i) => i.day))];
  const rows = await tx
    .select({
      festival: { ...queueColumns, ...festivalSaleColumns },
      day: festivalDays.day,
      capacity: festivalDays.capacity,
      reserved: festivalDays.reserved,
      held: festivalDays.held,
      userId: reservationUserTotals.userId,
      total: reservationUserTotals.quantity,
    })
    .from(festivals)
    .leftJoin(festivalDays, and(eq(festivalDays.festivalId, festivals.id), inArray(festivalDays.day, days)))
    .leftJoin(
      reservationUserTotals,
      and(eq(reservationUserTotals.festivalId, festivals.id), inArray(reservationUserTotals.userId, users)),
    )
    .where(eq(festivals.id, festivalId))
    .for("update");
  const f = rows[0]?.festival;
  // No such festival: service.ts answers the 404.
  if (!f) throw new Undo(answers);

  const remaining = new Map<string, number>();
  const totals = new Map<number, number>();
  for (const r of rows) {
    if (r.day !== null && r.capacity !== null) {
      remaining.set(r.day, r.capacity - (r.reserved ?? 0) - (r.held ?? 0));
    }
    if (r.userId !== null) totals.set(r.userId, r.total ?? 0);
  }
  const onSale = !f.cancelledAt && now >= f.saleOpensAt && now < f.saleClosesAt;
  const today = todayIn(f.timezone, now);

  // Index in `tentative` (as in `ids` and `outbox`) → whether an admission token was used.
  const taken = new Map<number, boolean>();
  const refused: number[] = [];
  for (const [n, { i, item }] of tentative.entries()) {
    // Every refusal but "sold out" is answered by service.ts with its details.
    const left = remaining.get(item.day);
    if (left === undefined) {
      refused.push(n);
      continue;
    }
    const admitted =
      !onSale ||
      item.day < f.startDate ||
      item.day > f.endDate ||
      item.day < today ||
      item.quantity > f.perUserLimit ||
      (totals.get(item.userId) ?? 0) + item.quantity > f.perUserLimit
        ? undefined
        : await requireAdmission(env, f, item.userId, item.admissionToken, now.getTime()).catch(
            () => undefined,
          );
    if (admitted === undefined) {
      refused.push(n);
      continue;
    }
    if (left < item.quantity) {
      answers[i] = { kind: "sold_out", remaining: Math.max(0, left) };
      refused.push(n);
      continue;
    }
    remaining.set(item.day, left - item.quantity);
    totals.set(item.userId, (totals.get(item.userId) ?? 0) + item.quantity);
    taken.set(n, admitted);
  }
  if (!taken.size) throw new Undo(answers);
  if (refused.length) {
    // The refused buyers' rows go (the day sold out within this batch, a limit): one statement, while
    // the locks are held, as it happens only at the end of a sale or for a stray request.
    await tx.execute(sql`
      DELETE r, o FROM reservations r, follow_ups o
      WHERE r.id IN (${sql.join(
        refused.map((n) => sql`${ids[n]?.id ?? 0}`),
        sql`, `,
      )}) AND o.id IN (${sql.join(
        refused.map((n) => sql`${outbox[n]?.id ?? 0}`),
        sql`, `,
      )})`);
  }
  await raiseCounters(
    tx,
    festivalId,
    tentative.filter((_, n) => taken.has(n)).map((t) => t.item),
  );
  for (const [n, { i }] of tentative.entries()) {
    const admitted = taken.get(n);
    if (admitted === undefined) continue;
    answers[i] = {
      kind: "confirmed",
      id: ids[n]?.id ?? 0,
      at: now.getTime(),
      followUpId: outbox[n]?.id ?? 0,
      ...(admitted ? { admitted: f } : {}),
    };
  }
  return answers;
}

/**
 * The day(s), the festival's counter and the buyers' totals, in ONE statement: a multi-table UPDATE
 * changes each joined row once, so the sums per day and per user are CASE constants.
 */
async function raiseCounters(tx: Tx, festivalId: number, taken: DeskItem[]): Promise<void> {
  const perDay = new Map<string, number>();
  const perUser = new Map<number, number>();
  let total = 0;
  for (const t of taken) {
    perDay.set(t.day, (perDay.get(t.day) ?? 0) + t.quantity);
    perUser.set(t.userId, (perUser.get(t.userId) ?? 0) + t.quantity);
    total += t.quantity;
  }
  const dayCase = sql.join(
    [...perDay].map(([day, q]) => sql`WHEN ${day} THEN ${q}`),
    sql` `,
  );
  const userCase = sql.join(
    [...perUser].map(([user, q]) => sql`WHEN ${user} THEN ${q}`),
    sql` `,
  );
  await tx.execute(sql`
    UPDATE festivals f
      JOIN festival_days d ON d.festival_id = f.id
      JOIN reservation_user_totals t ON t.festival_id = f.id
    SET f.reserved_count = f.reserved_count + ${total},
        d.reserved = d.reserved + CASE d.day ${dayCase} ELSE 0 END,
        t.quantity = t.quantity + CASE t.user_id ${userCase} ELSE 0 END
    WHERE f.id = ${festivalId} /* sale batch */
      AND d.day IN (${sql.join(
        [...perDay.keys()].map((d) => sql`${d}`),
        sql`, `,
      )})
      AND t.user_id IN (${sql.join(
        [...perUser.keys()].map((u) => sql`${u}`),
        sql`, `,
      )})`);
}
