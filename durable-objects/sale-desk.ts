import { DurableObject } from "cloudflare:workers";
import { runFollowUpsNow } from "../workers/api/follow-ups";
import { commitBatch, type DeskAnswer, type DeskItem, MAX_BATCH } from "../workers/api/reservations/batch";
import { createLogger } from "../workers/lib/logger";
import { getServices } from "../workers/lib/services";

type Waiting = { festivalId: number; item: DeskItem; answer: (a: DeskAnswer) => void };
type FollowUpRow = Parameters<typeof runFollowUpsNow>[2][number];

/**
 * Batches in flight at once. The second prepares (its unlocked reads) and queues on the day's locks
 * while the first commits, so the database never idles between batches while answers travel back
 * and the next requests arrive; a third would only wait on the same locks.
 */
const IN_FLIGHT = 2;
const SECOND_BATCH_MIN = 16;

/**
 * How long the batches' follow-ups (chat membership, inbox entry) may wait for the crowd to pass.
 * They run once no buyer has arrived for FOLLOW_UPS_QUIET_MS with no batch waiting or in flight, or
 * FOLLOW_UPS_WAIT_MS after the oldest was committed, whichever comes first: while buyers wait, the
 * object's turns (and, locally, the Worker's thread it shares) go to the batches, and the follow-ups
 * of a whole crowd are a few statements instead of a few per batch. Far inside the outbox rows'
 * lease (FOLLOW_UP_LEASE_MS), so the cron leaves them be.
 *
 * Why a quiet period, not the first idle moment: in the middle of a crowd there are instants with no
 * batch in flight (the answers are on their way back, the next requests not yet here). Run then, a
 * crowd's 389 follow-ups took the thread for ~450 ms of a 4.4 s sale and the next batch started with
 * one buyer (traced in the reservations benchmark, 2026-12-02).
 */
const FOLLOW_UPS_QUIET_MS = 250;
const FOLLOW_UPS_WAIT_MS = 10_000;
const FOLLOW_UPS_MAX = 500;

/**
 * One per festival: gathers the reservations that arrive while a batch is in flight and commits them
 * together (group commit; workers/api/reservations/batch.ts says why and how). The batch size follows
 * the load by itself: one buyer alone waits for nothing, a crowd shares each COMMIT.
 *
 * It keeps nothing: MySQL decides and records, so a restarted object (a deploy, an eviction) loses
 * only the calls in flight, whose callers answer 503 and whose clients retry with their
 * Idempotency-Key. A batch runs to its end whatever happens to the callers that asked for it: none
 * of it depends on a client staying connected.
 */
export class SaleDesk extends DurableObject<Env> {
  readonly #log = createLogger({ component: "sale-desk" });
  #waiting: Waiting[] = [];
  #inFlight = 0;
  #scheduled = false;
  #followUps: FollowUpRow[] = [];
  #followUpsTimer: ReturnType<typeof setTimeout> | undefined;
  #quietTimer: ReturnType<typeof setTimeout> | undefined;

  reserve(festivalId: number, item: DeskItem): Promise<DeskAnswer> {
    return new Promise((answer) => {
      // A buyer arrived: the crowd has not passed yet.
      if (this.#quietTimer !== undefined) clearTimeout(this.#quietTimer);
      this.#quietTimer = undefined;
      this.#waiting.push({ festivalId, item, answer });
      if (!this.#scheduled && this.#inFlight < IN_FLIGHT) {
        this.#scheduled = true;
        // One macrotask: the calls already delivered to the object join this batch.
        setTimeout(() => {
          this.#scheduled = false;
          this.#pump();
        }, 0);
      }
    });
  }

  #pump(): void {
    while (this.#inFlight < IN_FLIGHT && this.#waiting.length) {
      // A second batch only for a crowd: one of a few stragglers would hold the day's locks for a
      // whole transaction right before the crowd's batch (a convoy); they join the next one instead.
      if (this.#inFlight > 0 && this.#waiting.length < SECOND_BATCH_MIN) return;
      const festivalId = (this.#waiting[0] as Waiting).festivalId;
      // One object serves one festival; a stray call for another still gets its own batch.
      const batch = this.#waiting.filter((w) => w.festivalId === festivalId).slice(0, MAX_BATCH);
      const inBatch = new Set(batch);
      this.#waiting = this.#waiting.filter((w) => !inBatch.has(w));
      this.#inFlight++;
      void this.#commit(festivalId, batch).finally(() => {
        this.#inFlight--;
        this.#pump();
        if (!this.#inFlight && !this.#waiting.length && this.#followUps.length) {
          if (this.#quietTimer !== undefined) clearTimeout(this.#quietTimer);
          this.#quietTimer = setTimeout(() => {
            this.#quietTimer = undefined;
            if (!this.#inFlight && !this.#waiting.length) this.#runFollowUps();
          }, FOLLOW_UPS_QUIET_MS);
        }
      });
    }
  }

  /** The follow-ups gathered so far, as one batch; left undone, the cron runs them after their lease. */
  #runFollowUps(): void {
    if (this.#followUpsTimer !== undefined) clearTimeout(this.#followUpsTimer);
    if (this.#quietTimer !== undefined) clearTimeout(this.#quietTimer);
    this.#followUpsTimer = undefined;
    this.#quietTimer = undefined;
    const rows = this.#followUps.splice(0);
    if (rows.length) void runFollowUpsNow(getServices(this.env), this.#log, rows);
  }

  async #commit(festivalId: number, batch: Waiting[]): Promise<void> {
    const s = getServices(this.env);
    const answers = await commitBatch(
      s,
      this.env,
      this.#log,
      festivalId,
      batch.map((w) => w.item),
    );
    for (const [i, w] of batch.entries()) w.answer(answers[i] ?? { kind: "busy" });
    const confirmed = batch.flatMap((w, i) => {
      const a = answers[i];
      return a?.kind === "confirmed" ? [{ answer: a, requestId: w.item.requestId }] : [];
    });
    if (!confirmed.length) return;
    // The record of the confirmations: one line per batch, each reservation with its request's id
    // (a line per reservation cost the sale a measurable share of its CPU).
    this.#log.info("reservations confirmed", {
      festivalId,
      batch: batch.length,
      confirmed: confirmed.map(({ answer, requestId }) => ({ reservationId: answer.id, requestId })),
    });
    // Their follow-ups (chat membership, inbox entry) run here, the crowd's together once it has
    // passed (FOLLOW_UPS_WAIT_MS): the rows are gathered already, and the callers answer at once
    // instead of each waiting on a batch in its isolate. Left undone (an error, the object evicted),
    // the outbox rows go to the cron after their lease.
    for (const { answer } of confirmed) {
      this.#followUps.push({
        id: answer.followUpId,
        kind: "reservation.confirmed",
        payload: { reservationId: answer.id },
      });
    }
    if (this.#followUps.length >= FOLLOW_UPS_MAX) this.#runFollowUps();
    else this.#followUpsTimer ??= setTimeout(() => this.#runFollowUps(), FOLLOW_UPS_WAIT_MS);
  }
}
