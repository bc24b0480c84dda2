import type { FollowUp } from "../db/schema/follow-ups";
import { claimFollowUp, continueFollowUp, dueFollowUps, finishFollowUp } from "../lib/follow-ups";
import type { Logger } from "../lib/logger";
import type { Services } from "../lib/services";
import { festivalCancelledHooks } from "./hooks";
import { type FestivalFanout, runFanout } from "./notifications/festival-fanout";
import { afterReservationCancelled, afterReservationConfirmed } from "./reservations/follow-up";

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

/** A failing row waits longer each time (1 min, 2, 4, ... at most an hour) and is never dropped. */
const backoffMs = (attempts: number) => Math.min(60 * 60_000, 60_000 * 2 ** Math.max(0, attempts - 1));

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
        await continueFollowUp(s.db, row.id, payload, new Date(Date.now() + next.inMs));
        return false;
      }
    }
  } catch (err) {
    log.error("follow-up failed; retried later", { id: row.id, kind: row.kind, error: err });
    // Progress made before the failure is kept; the lease (or this) decides when it runs again.
    const retryAt = new Date(Date.now() + backoffMs(row.attempts + 1));
    await continueFollowUp(s.db, row.id, payload, retryAt, true).catch(() => {});
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
