import { and, asc, eq, inArray, lte, sql } from "drizzle-orm";
import { type FollowUp, followUps } from "../db/schema/follow-ups";
import type { Db, Tx } from "./db";

/**
 * The outbox table's statements (the schema says why it exists). Areas write rows with
 * `addFollowUp`, in the transaction of their change where they have one; workers/api/follow-ups.ts
 * knows what each kind does and runs them.
 */
export interface NewFollowUp {
  kind: string;
  payload: Record<string, unknown>;
  /** Until then the writer's own request runs it; the cron takes it afterwards. */
  leaseMs?: number;
  dedupeKey?: string;
}

/** How long a runner owns a row before another may take it (a handler step stays well under it). */
export const FOLLOW_UP_LEASE_MS = 60_000;

/** Inserts the row; with a dedupe key an existing row is kept. Returns the row's id. */
export async function addFollowUp(db: Db | Tx, f: NewFollowUp, now = new Date()): Promise<number> {
  const res = await db
    .insert(followUps)
    .ignore()
    .values({
      kind: f.kind,
      payload: f.payload,
      dueAt: new Date(now.getTime() + (f.leaseMs ?? FOLLOW_UP_LEASE_MS)),
      dedupeKey: f.dedupeKey ?? null,
    });
  if (res.rowsAffected === 1) return Number(res.insertId);
  const [row] = await db
    .select({ id: followUps.id })
    .from(followUps)
    .where(eq(followUps.dedupeKey, f.dedupeKey ?? ""));
  if (!row) throw new Error("follow-up insert ignored without a dedupe key");
  return row.id;
}

/** Rows due at `now`, oldest first; the caller claims each before running it. */
export function dueFollowUps(db: Db, now: Date, limit: number): Promise<FollowUp[]> {
  return db
    .select()
    .from(followUps)
    .where(lte(followUps.dueAt, now))
    .orderBy(asc(followUps.dueAt), asc(followUps.id))
    .limit(limit);
}

/**
 * Takes a row read as due: moves its lease forward only if nobody did since we read it, so of two
 * overlapping cron ticks one runs it. (`attempts` counts failures: continueFollowUp.)
 */
export async function claimFollowUp(db: Db, row: FollowUp, now: Date): Promise<boolean> {
  const res = await db
    .update(followUps)
    .set({ dueAt: new Date(now.getTime() + FOLLOW_UP_LEASE_MS) })
    .where(and(eq(followUps.id, row.id), eq(followUps.dueAt, row.dueAt)));
  return res.rowsAffected === 1;
}

export async function finishFollowUp(db: Db, id: number): Promise<void> {
  await db.delete(followUps).where(eq(followUps.id, id));
}

/** Many finished rows in one statement (a batch of follow-ups: workers/api/follow-ups.ts). */
export async function finishFollowUps(db: Db, ids: number[]): Promise<void> {
  if (ids.length) await db.delete(followUps).where(inArray(followUps.id, ids));
}

/**
 * Saves a job's progress and makes it due again at `dueAt` (now: the next tick continues it);
 * `failed` counts a failed attempt (the runner backs off by it).
 */
export async function continueFollowUp(
  db: Db,
  id: number,
  payload: Record<string, unknown>,
  dueAt: Date,
  failed = false,
): Promise<void> {
  await db
    .update(followUps)
    .set({ payload, dueAt, ...(failed ? { attempts: sql`${followUps.attempts} + 1` } : {}) })
    .where(eq(followUps.id, id));
}
