import type { FollowUp } from "../db/schema/follow-ups";
import {
  claimFollowUp,
  continueFollowUp,
  dueFollowUps,
  finishFollowUp,
  finishFollowUps,
} from "../lib/follow-ups";
import type { Logger } from "../lib/logger";
import type { Services } from "../lib/services";
import { festivalCancelledHooks } from "./hooks";
import { type FestivalFanout, runFanout } from "./notifications/festival-fanout";
import {
  afterReservationCancelled,
  afterReservationConfirmed,
  afterReservationsConfirmed,
} from "./reservations/follow-up";

/**
 * What each outbox kind does (the table: workers/db/schema/follow-ups.ts). Like hooks.ts this file
 * imports the areas and no area imports it, so it adds no cycle. A handler is idempotent (a Worker
 * that dies after the work but before the row is deleted makes it run again) and bounded: a long
 * job does one step and answers where to continue, which is saved in the row.
 */
export type FollowUpStep = { done: true } | { again: Record<string, unknown>; inMs: number };
type Handler = (s: Services, log: Logger, payload: Record<string, unknown>) => Promise<FollowUpStep>;

const DONE = { done: true } as const;
const num = (v: unknown) => (typeof v === "number" && Number.isSafeInteger(v) ? v : 0);

export const FOLLOW_UP_HANDLERS: Record<string, Handler> = {
  "reservation.confirmed": async (s, log, p) => {
    const waitMs = await afterReservationConfirmed(s, log, num(p.reservationId));
    return waitMs === null ? DONE : { again: p, inMs: waitMs };
  },
  "reservation.cancelled": async (s, log, p) => {
    await afterReservationCancelled(s, log, num(p.reservationId));
    return DONE;
  },
  /** The ordered cancellation hooks of hooks.ts, one bounded step at a time: resumable anywhere. */
  "festival.cancelled": async (s, _log, p) => {
    const hook = num(p.hook);
    const run = festivalCancelledHooks[hook];
    if (!run) return DONE;
    const after = await run(s, num(p.festivalId), num(p.after));
    const next = after === null ? hook + 1 : hook;
    if (next >= festivalCancelledHooks.length) return DONE;
    return { again: { ...p, hook: next, after: after ?? 0 }, inMs: 0 };
  },
  "festival.fanout": async (s, log, p) => {
    const rest = await runFanout(s, log, p as unknown as FestivalFanout, 1000);
    return rest ? { again: { ...rest }, inMs: 0 } : DONE;
  },
};

/**
 * Kinds that also run many rows at once (runFollowUpSoon): per row, in the payloads' order, the step
 * a single run would have answered, or the error that failed that row alone.
 */
type BatchStep = FollowUpStep | { failed: unknown };
type BatchHandler = (s: Services, log: Logger, payloads: Record<string, unknown>[]) => Promise<BatchStep[]>;

export const FOLLOW_UP_BATCH_HANDLERS: Record<string, BatchHandler> = {
  "reservation.confirmed": async (s, log, payloads) => {
    const ids = payloads.map((p) => num(p.reservationId));
    const outcomes = await afterReservationsConfirmed(s, log, ids);
    return payloads.map((p, i): BatchStep => {
      const o = outcomes.get(ids[i] ?? 0) ?? { waitMs: null };
      if ("failed" in o) return o;
      return o.waitMs === null ? DONE : { again: p, inMs: o.waitMs };
    });
  },
};

/** A failing row waits longer each time (1 min, 2, 4, ... at most an hour) and is never dropped. */
const backoffMs = (attempts: number) => Math.min(60 * 60_000, 60_000 * 2 ** Math.max(0, attempts - 1));

/**
 * Saves a row that is not finished, the same way for runRow and runBatch: a step that answered
 * `again` continues after its inMs; a failure keeps the progress in `row.payload`, counts an attempt
 * and backs off by it. A finished row is deleted by its runner (alone, or a batch's in one DELETE).
 */
function saveUnfinished(
  s: Services,
  row: Pick<FollowUp, "id" | "payload" | "attempts">,
  step: Exclude<BatchStep, { done: true }>,
): Promise<void> {
  if ("failed" in step) {
    const retryAt = new Date(Date.now() + backoffMs(row.attempts + 1));
    return continueFollowUp(s.db, row.id, row.payload, retryAt, true);
  }
  return continueFollowUp(s.db, row.id, step.again, new Date(Date.now() + step.inMs));
}

/**
 * Runs one row until it is done, `maxSteps` steps were taken or the deadline passed; then its
 * progress is saved and the cron continues it. Returns true when the row is finished.
 */
async function runRow(
  s: Services,
  log: Logger,
  row: Pick<FollowUp, "id" | "kind" | "payload" | "attempts">,
  opts: { maxSteps: number; deadline: number },
): Promise<boolean> {
  const handler = FOLLOW_UP_HANDLERS[row.kind];
  if (!handler) {
    // Written by a newer version of the code, or a typo: kept for a Worker that knows it.
    log.error("follow-up of unknown kind kept", { id: row.id, kind: row.kind });
    return false;
  }
  let payload = row.payload;
  try {
    for (let step = 1; ; step++) {
      const next = await handler(s, log, payload);
      if ("done" in next) {
        await finishFollowUp(s.db, row.id);
        return true;
      }
      payload = next.again;
      if (next.inMs > 0 || step >= opts.maxSteps || Date.now() >= opts.deadline) {
        await saveUnfinished(s, row, next);
        return false;
      }
    }
  } catch (err) {
    log.error("follow-up failed; retried later", { id: row.id, kind: row.kind, error: err });
    // Progress made before the failure is kept; the lease (or this) decides when it runs again.
    await saveUnfinished(s, { ...row, payload }, { failed: err }).catch(() => {});
    return false;
  }
}

/**
 * Right after the commit, in the writer's own request (or its waitUntil): the row was written with a
 * lease, so the cron leaves it alone meanwhile. Never throws: whatever is left, the cron finishes.
 */
export async function runFollowUpNow(
  s: Services,
  log: Logger,
  row: { id: number; kind: string; payload: Record<string, unknown> },
  maxSteps = 1,
): Promise<boolean> {
  return runRow(s, log, { ...row, attempts: 0 }, { maxSteps, deadline: Date.now() + 10_000 }).catch(
    () => false,
  );
}

/** The cron's part: rows whose lease ended (their writer died, or a step failed), within a time budget. */
export async function drainFollowUps(
  s: Services,
  log: Logger,
  now: Date,
  budgetMs = 20_000,
): Promise<number> {
  const deadline = Date.now() + budgetMs;
  let finished = 0;
  while (Date.now() < deadline) {
    const due = await dueFollowUps(s.db, now, 50);
    let ran = 0;
    for (const row of due) {
      if (Date.now() >= deadline) break;
      if (!(await claimFollowUp(s.db, row, new Date()))) continue;
      ran++;
      if (await runRow(s, log, row, { maxSteps: 100, deadline })) finished++;
    }
    if (due.length < 50 || ran === 0) break;
  }
  return finished;
}

type Row = { id: number; kind: string; payload: Record<string, unknown> };

/**
 * A batch runs a single step of each row, as runFollowUpNow does, and saves each outcome as runRow
 * would: finished rows go in one DELETE; a failed row is counted and backed off, so the cron takes
 * it up exactly as after a failed single run. Never throws.
 */
async function runBatch(s: Services, log: Logger, handler: BatchHandler, rows: Row[]): Promise<void> {
  let steps: BatchStep[];
  try {
    steps = await handler(
      s,
      log,
      rows.map((r) => r.payload),
    );
  } catch (err) {
    steps = rows.map(() => ({ failed: err }));
  }
  const finished: number[] = [];
  const failures = new Map<unknown, number[]>();
  const writes: Promise<unknown>[] = [];
  rows.forEach((row, i) => {
    const step = steps[i] ?? { failed: new Error("the batch handler gave no outcome for this row") };
    if ("done" in step) {
      finished.push(row.id);
      return;
    }
    if ("failed" in step) failures.set(step.failed, [...(failures.get(step.failed) ?? []), row.id]);
    // Rows of a batch are fresh (no failed attempt yet), as runFollowUpNow's are.
    writes.push(saveUnfinished(s, { ...row, attempts: 0 }, step));
  });
  for (const [error, ids] of failures) {
    log.error("follow-ups failed; retried later", { kind: rows[0]?.kind, ids, error });
  }
  // A DELETE that fails leaves finished rows to the cron once their lease ends: they are idempotent.
  writes.push(finishFollowUps(s.db, finished));
  for (const r of await Promise.allSettled(writes)) {
    if (r.status === "rejected") log.warn("follow-up bookkeeping failed", { error: r.reason });
  }
}

/**
 * Rows of one kind that their writer already gathered (the sale desk's batch): run together now, as
 * one batch when the kind has a batch handler. Never throws; what is left undone stays in the outbox.
 */
export async function runFollowUpsNow(s: Services, log: Logger, rows: Row[]): Promise<void> {
  const kind = rows[0]?.kind;
  const handler = kind ? FOLLOW_UP_BATCH_HANDLERS[kind] : undefined;
  if (handler && rows.every((r) => r.kind === kind)) return runBatch(s, log, handler, rows);
  await Promise.all(rows.map((r) => runFollowUpNow(s, log, r)));
}

/** How long a batch's first row waits for others to come, and the most rows a batch takes. */
const BATCH_WAIT_MS = 25;
const BATCH_MAX = 100;
/** How often a caller whose row another request runs looks whether that batch is over, and how long. */
const POLL_MS = 25;
const WAIT_FOR_MS = 30_000;

interface Batch {
  rows: Map<number, Row>;
  over: boolean;
}

/** Per kind, the batch still taking rows in this isolate (its requests share module state). */
const openBatches = new Map<string, Batch>();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * runFollowUpNow for sale-day volumes: rows of a kind arriving together run as one batch (a few
 * statements for up to BATCH_MAX rows instead of ~9 each), BATCH_WAIT_MS after the first one came.
 * The returned promise settles when the row's batch is over and never rejects; the caller passes
 * it to waitUntil. The batch runs in the request of its first row, which waits for it: I/O is only
 * made for a request that is alive. The others poll a flag rather than await a promise resolved in
 * that other request (such a promise can hang its waiter: festivals/cache.ts). Whatever a batch
 * leaves undone (a failure, a dead isolate) stays leased in the outbox, and the cron finishes it.
 */
export function runFollowUpSoon(s: Services, log: Logger, row: Row): Promise<void> {
  const handler = FOLLOW_UP_BATCH_HANDLERS[row.kind];
  if (!handler) return runFollowUpNow(s, log, row).then(() => undefined);
  const joining = openBatches.get(row.kind);
  if (joining) {
    joining.rows.set(row.id, row);
    if (joining.rows.size >= BATCH_MAX) openBatches.delete(row.kind);
    return batchOver(joining);
  }
  const batch: Batch = { rows: new Map([[row.id, row]]), over: false };
  openBatches.set(row.kind, batch);
  return (async () => {
    await sleep(BATCH_WAIT_MS);
    if (openBatches.get(row.kind) === batch) openBatches.delete(row.kind);
    await runBatch(s, log, handler, [...batch.rows.values()]);
  })()
    .catch((err: unknown) => log.error("follow-up batch failed", { kind: row.kind, error: err }))
    .finally(() => {
      batch.over = true;
    });
}

async function batchOver(batch: Batch): Promise<void> {
  const until = Date.now() + WAIT_FOR_MS;
  while (!batch.over && Date.now() < until) await sleep(POLL_MS);
}
