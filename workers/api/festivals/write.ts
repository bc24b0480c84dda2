import { and, eq, inArray, isNull, sql } from "drizzle-orm";
import { type Festival, festivalDays, festivalSearchGrams, festivals } from "../../db/schema/festivals";
import type { Tx } from "../../lib/db";
import { errorText } from "../../lib/dependency-errors";
import { AppError } from "../../lib/errors";
import { addFollowUp } from "../../lib/follow-ups";
import type { Logger } from "../../lib/logger";
// Deadlock / lock-timeout retry, shared with the reservation engine whose row locks ours meet.
import { withRetries } from "../../lib/retry";
import type { Services } from "../../lib/services";
import { createChatRoom } from "../chat/rooms";
import { bumpVersions } from "./cache";
import { daysInRange, festivalSpan } from "./calendar";
import { chunks, dayRows, festivalRow, gramRows } from "./rows";
import {
  type CreateFestivalInput,
  festivalRuleIssues,
  type RuleIssue,
  type UpdateFestivalInput,
} from "./schemas";
import { SEARCH_TEXT_TOO_LONG, searchColumns, searchTextFits } from "./search-text";

async function insertGrams(tx: Tx, festivalId: number, searchText: string) {
  for (const rows of chunks(gramRows(festivalId, searchText)))
    await tx.insert(festivalSearchGrams).values(rows);
}

/** One transaction: the festival, one inventory row per date, its search bigrams. Then its chat room. */
export async function createFestival(s: Services, input: CreateFestivalInput, log: Logger): Promise<number> {
  const row = festivalRow(input);
  const id = await s.db.transaction(async (tx) => {
    const [inserted] = await tx.insert(festivals).values(row).$returningId();
    if (!inserted) throw new Error("insert returned no id");
    await tx.insert(festivalDays).values(dayRows(inserted.id, input));
    await insertGrams(tx, inserted.id, row.searchText);
    return inserted.id;
  });
  await bumpVersions(s, id, log);
  // After the commit: the room refers to the festival. Idempotent, so a failure here is repaired by
  // the chat area's join (it creates a missing room for an existing festival); the festival stands.
  await createChatRoom(s, { id, title: input.title }).catch((err: unknown) =>
    log.error("chat room creation failed", { festivalId: id, error: err }),
  );
  log.info("festival created", { festivalId: id });
  return id;
}

const invalid = (issues: RuleIssue[]) =>
  new AppError(400, "validation.failed", "The request is not valid", { details: { issues } });

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Request fields whose new value differs from the stored one (capacity is judged by the day plan). */
function changedFields(cur: Festival, p: UpdateFestivalInput): string[] {
  const was: Record<string, unknown> = {
    title: cur.title,
    description: cur.description,
    category: cur.category,
    region: cur.region,
    venue: { name: cur.venueName, address: cur.venueAddress, lat: cur.lat, lng: cur.lng },
    startDate: cur.startDate,
    endDate: cur.endDate,
    timezone: cur.timezone,
    perUserLimit: cur.perUserLimit,
    saleOpensAt: cur.saleOpensAt.getTime(),
    saleClosesAt: cur.saleClosesAt.getTime(),
    imageUrl: cur.imageUrl,
    tags: cur.tags,
  };
  const now: Record<string, unknown> = {
    ...p,
    ...(p.saleOpensAt && { saleOpensAt: Date.parse(p.saleOpensAt) }),
    ...(p.saleClosesAt && { saleClosesAt: Date.parse(p.saleClosesAt) }),
  };
  return Object.keys(p).filter((k) => k !== "capacity" && !sameJson(was[k], now[k]));
}

/**
 * An admin's change, as single autocommit statements: the festival row carries `reserved_count`,
 * which every reservation raises, and the day rows carry the places, so neither may stay locked
 * across a round trip while sale-day traffic waits on it (the old transaction with SELECT ... FOR
 * UPDATE did, and its PATCHes then timed out against a busy sale). The order makes a failure part
 * way harmless and a repeat of the same PATCH complete it: the day plan first (each statement
 * re-checks reserved + held under the row lock, so a 422 changes nothing), then the festival row,
 * then the search grams. `reserved` and `held` belong to the reservation engine and are never
 * written back from what we read. Returns the request fields that changed, for the hooks.
 */
export async function updateFestival(
  s: Services,
  id: number,
  p: UpdateFestivalInput,
  log: Logger,
): Promise<string[]> {
  const [cur] = await s.db.select().from(festivals).where(eq(festivals.id, id));
  if (!cur) throw new AppError(404, "festival.not_found", "No festival with this id");
  if (cur.cancelledAt) throw cancelledFestival();

  const startDate = p.startDate ?? cur.startDate;
  const endDate = p.endDate ?? cur.endDate;
  const days =
    p.startDate || p.endDate || p.capacity !== undefined
      ? await s.db.select().from(festivalDays).where(eq(festivalDays.festivalId, id))
      : [];
  const issues = festivalRuleIssues({
    startDate,
    endDate,
    saleOpensAt: p.saleOpensAt ?? cur.saleOpensAt,
    saleClosesAt: p.saleClosesAt ?? cur.saleClosesAt,
    capacity: p.capacity,
    knownDays: days.length ? new Set(days.map((d) => d.day)) : undefined,
  });
  const search = searchColumns({ ...cur, ...p, venueName: p.venue?.name ?? cur.venueName });
  if (!searchTextFits(search.searchText)) issues.push({ path: "description", message: SEARCH_TEXT_TOO_LONG });
  if (issues.length) throw invalid(issues);

  const changed = changedFields(cur, p);
  if (days.length && (await applyDayPlan(s, log, id, days, daysInRange(startDate, endDate), p.capacity))) {
    changed.push("capacity");
  }
  if (changed.length) {
    const res = await withRetries(log, "festival.update", () =>
      s.db
        .update(festivals)
        .set({
          title: p.title,
          description: p.description,
          category: p.category,
          region: p.region,
          venueName: p.venue?.name,
          venueAddress: p.venue?.address,
          lat: p.venue?.lat,
          lng: p.venue?.lng,
          startDate: p.startDate,
          endDate: p.endDate,
          timezone: p.timezone,
          ...festivalSpan(startDate, endDate, p.timezone ?? cur.timezone),
          perUserLimit: p.perUserLimit,
          saleOpensAt: p.saleOpensAt ? new Date(p.saleOpensAt) : undefined,
          saleClosesAt: p.saleClosesAt ? new Date(p.saleClosesAt) : undefined,
          imageUrl: p.imageUrl,
          tags: p.tags,
          ...search,
        })
        .where(and(eq(festivals.id, id), isNull(festivals.cancelledAt))),
    );
    // Matched rows are not reported, only changed ones: 0 is a no-op or a cancellation that won.
    if (res.rowsAffected === 0) {
      const [now] = await s.db
        .select({ c: festivals.cancelledAt })
        .from(festivals)
        .where(eq(festivals.id, id));
      if (now?.c) throw cancelledFestival();
    }
    if (search.searchText !== cur.searchText) {
      // Only this festival's postings: no shared row, so a transaction is fine here.
      await withRetries(log, "festival.grams", () =>
        s.db.transaction(async (tx) => {
          await tx.delete(festivalSearchGrams).where(eq(festivalSearchGrams.festivalId, id));
          await insertGrams(tx, id, search.searchText);
        }),
      );
    }
  }
  await bumpVersions(s, id, log);
  if (changed.length) log.info("festival updated", { festivalId: id, changed });
  return changed;
}

const cancelledFestival = () =>
  new AppError(409, "festival.cancelled", "A cancelled festival cannot be changed");

const NOT_NULL_VIOLATION = /\(errno 1048\)|cannot be null/i;

/**
 * Brings the day rows to the target dates and capacities. A day may lose places only down to
 * reserved + held, and may leave the range only when nobody holds a place on it: otherwise 422.
 * All resized days change in ONE statement that re-checks each day under its row lock and assigns
 * NULL to the NOT NULL column where a day would fall below what is taken: strict SQL mode (MySQL 8,
 * PlanetScale and MariaDB defaults) then fails the whole statement, so either every day changes or
 * none. Returns whether anything changed.
 */
async function applyDayPlan(
  s: Services,
  log: Logger,
  festivalId: number,
  current: (typeof festivalDays.$inferSelect)[],
  target: string[],
  capacity: UpdateFestivalInput["capacity"],
): Promise<boolean> {
  const byDay = new Map(current.map((d) => [d.day, d]));
  const wanted = new Set(target);
  const removed = current.filter((d) => !wanted.has(d.day));
  const taken = removed.filter((d) => d.reserved + d.held > 0);
  if (taken.length) throw dayHasReservations(taken);
  const capacityOf = (day: string) => (typeof capacity === "number" ? capacity : capacity?.[day]);
  const added = target.filter((d) => !byDay.has(d));
  const resized = current.filter(
    (d) => wanted.has(d.day) && (capacityOf(d.day) ?? d.capacity) !== d.capacity,
  );
  const below = (rows: typeof current) =>
    rows.filter((d) => wanted.has(d.day) && d.reserved + d.held > (capacityOf(d.day) ?? d.capacity));
  if (below(resized).length) throw capacityBelow(below(resized), capacityOf);
  if (resized.length) {
    const newCapacity = sql`CASE day ${sql.join(
      resized.map((d) => sql`WHEN ${d.day} THEN ${capacityOf(d.day) as number} `),
    )}END`;
    try {
      await withRetries(log, "festival.capacity", () =>
        s.db.execute(sql`
          UPDATE festival_days SET capacity = IF(reserved + held <= ${newCapacity}, ${newCapacity}, NULL)
          WHERE festival_id = ${festivalId} AND day IN (${sql.join(
            resized.map((d) => sql`${d.day}`),
            sql`, `,
          )})`),
      );
    } catch (err) {
      if (!NOT_NULL_VIOLATION.test(errorText(err))) throw err;
      // Reservations took places since we read: report the days as they are now.
      const now = await s.db.select().from(festivalDays).where(eq(festivalDays.festivalId, festivalId));
      throw capacityBelow(below(now), capacityOf);
    }
  }
  if (removed.length) {
    // Re-checked in the statement: a day that got a reservation since we read it stays.
    const res = await s.db.delete(festivalDays).where(
      and(
        eq(festivalDays.festivalId, festivalId),
        inArray(
          festivalDays.day,
          removed.map((d) => d.day),
        ),
        eq(festivalDays.reserved, 0),
        eq(festivalDays.held, 0),
      ),
    );
    if (res.rowsAffected < removed.length) {
      const now = await s.db.select().from(festivalDays).where(eq(festivalDays.festivalId, festivalId));
      throw dayHasReservations(now.filter((d) => !wanted.has(d.day)));
    }
  }
  if (added.length) {
    await s.db
      .insert(festivalDays)
      .ignore()
      .values(added.map((day) => ({ festivalId, day, capacity: capacityOf(day) as number })));
  }
  return removed.length + added.length + resized.length > 0;
}

const dayHasReservations = (days: (typeof festivalDays.$inferSelect)[]) =>
  new AppError(422, "festival.day_has_reservations", "Dates with reservations cannot leave the festival", {
    details: { days: days.map((d) => ({ date: d.day, reserved: d.reserved, held: d.held })) },
  });

function capacityBelow(
  days: (typeof festivalDays.$inferSelect)[],
  capacityOf: (day: string) => number | undefined,
) {
  return new AppError(
    422,
    "festival.capacity_below_reserved",
    "Capacity cannot go below the places already taken",
    {
      details: {
        days: days.map((d) => ({
          date: d.day,
          capacity: capacityOf(d.day),
          reserved: d.reserved,
          held: d.held,
        })),
      },
    },
  );
}

/** The job that does what a cancellation entails (workers/api/follow-ups.ts, "festival.cancelled"). */
export const cancellationJob = (festivalId: number) => ({
  kind: "festival.cancelled",
  payload: { festivalId, hook: 0, after: 0 },
  dedupeKey: `festival.cancelled:${festivalId}`,
});

/**
 * Sets the cancelled flag (the reservation engine refuses new bookings from then on) and queues the
 * cancellation job in the SAME transaction: a Worker that dies after the COMMIT leaves the job to the
 * cron, never a cancelled festival with confirmed reservations nobody will cancel. Both statements
 * touch this festival only (the flag row is also what each confirming UPDATE reads, for one
 * statement). Idempotent: cancelling again queues the job again (once: its dedupe key), which is
 * how an admin makes sure it completes. Returns the job's outbox row.
 */
export async function cancelFestival(s: Services, id: number, reason: string | undefined, log: Logger) {
  const job = cancellationJob(id);
  const { firstTime, jobId } = await withRetries(log, "festival.cancel", () =>
    s.db.transaction(async (tx) => {
      const res = await tx
        .update(festivals)
        .set({ cancelledAt: new Date(), cancelReason: reason ?? null })
        .where(and(eq(festivals.id, id), isNull(festivals.cancelledAt)));
      if (res.rowsAffected === 0) {
        const [f] = await tx.select({ id: festivals.id }).from(festivals).where(eq(festivals.id, id));
        if (!f) throw new AppError(404, "festival.not_found", "No festival with this id");
      }
      return { firstTime: res.rowsAffected > 0, jobId: await addFollowUp(tx, job) };
    }),
  );
  await bumpVersions(s, id, log);
  log.info("festival cancelled", { festivalId: id, firstTime });
  return { id: jobId, kind: job.kind, payload: job.payload };
}
