import type { Logger } from "../lib/logger";
import type { Services } from "../lib/services";
import { closeChatSocketsOf, leaveRoomsOfDeletedAccount } from "./chat/rooms";
import { forgetDeletedAccount, tellFestivalCancelled, tellFestivalChanged } from "./notifications/events";
import { cancelFestivalReservations, cancelFutureReservationsOf } from "./reservations/cancel";
import {
  closeWaitlistOfFestival,
  leaveWaitlistsOfDeletedAccount,
  offerOnCapacityChange,
} from "./sales/hooks";

/**
 * What other areas do when an account goes or a festival changes or goes, in one place and in the
 * order it runs. The routes that trigger an event call the runner (a festival's cancellation: the
 * outbox job of follow-ups.ts); the areas' services never import this file (it imports them), so the
 * lists add no import cycle. Every hook must be idempotent: a failed account deletion is completed
 * by repeating the request, a failed cancellation step by the cron, which run them again.
 */
export type AccountDeletedHook = (s: Services, userId: number) => Promise<unknown>;
/**
 * One bounded step of a cancellation (workers/api/follow-ups.ts runs them from the outbox, so a
 * festival with 20k holders never has to fit in one request): `after` is where the previous step of
 * this hook stopped (0 at first); it answers where to continue, or null when it is done.
 */
export type FestivalCancelledHook = (
  s: Services,
  festivalId: number,
  after: number,
) => Promise<number | null>;
/** `changed` names the request fields that changed. */
export type FestivalChangedHook = (s: Services, festivalId: number, changed: string[]) => Promise<unknown>;

/**
 * Runs while the account still exists (before its identity is erased) and stops at the first
 * failure, so the user's retry finds the account and runs the rest. Reservations go before the
 * waitlist: a place a cancelled reservation frees may be offered to this user's own waitlist entry,
 * and leaving the waitlist afterwards passes it on to the next in line.
 */
export const accountDeletedHooks: readonly AccountDeletedHook[] = [
  leaveRoomsOfDeletedAccount,
  forgetDeletedAccount,
  cancelFutureReservationsOf,
  leaveWaitlistsOfDeletedAccount,
];

/**
 * The festival-cancellation job's steps, in order, after `cancelled_at` is set (in the same
 * transaction as the job's outbox row), so no reservation or offer can slip in behind them. The
 * reservations go first, in set-based chunks; then the waitlist: freed places of a cancelled festival
 * are offered to nobody, so the held counts the waitlist hook zeroes stay zero; then the holders are
 * told (the fan-out counts reservations cancelled for this reason, so a resumed or repeated job
 * reaches exactly them, each once by its dedupe key).
 */
export const festivalCancelledHooks: readonly FestivalCancelledHook[] = [
  cancelFestivalReservations,
  async (s, festivalId) => {
    await closeWaitlistOfFestival(s, festivalId);
    return null;
  },
  tellFestivalCancelled,
];

/**
 * Runs after every session of a user has been revoked (logout everywhere, password or role change,
 * account deletion): the session version is already bumped, so no token of the old sessions passes
 * `authenticate` any more. These hooks end what lives longer than a request (e.g. the chat area
 * closes the user's sockets). Failures are logged, not thrown: the revocation itself is done.
 */
export type SessionsRevokedHook = (s: Services, userId: number) => Promise<unknown>;
export const sessionsRevokedHooks: readonly SessionsRevokedHook[] = [
  // Open chat sockets would otherwise live on until their token expires (up to 15 minutes).
  closeChatSocketsOf,
];

export async function runSessionsRevokedHooks(s: Services, userId: number, log: Logger): Promise<void> {
  const errors = await runAll(sessionsRevokedHooks.map((hook) => () => hook(s, userId)));
  for (const err of errors) log.error("sessions revoked hook failed", { userId, error: err });
}

/** After an admin change is committed. Independent of each other; holders are told first. */
export const festivalChangedHooks: readonly FestivalChangedHook[] = [
  tellFestivalChanged,
  offerOnCapacityChange,
];

export async function runAccountDeletedHooks(s: Services, userId: number): Promise<void> {
  for (const hook of accountDeletedHooks) await hook(s, userId);
}

/** Every hook runs even if one fails: one area's failure must not leave another's work undone. */
async function runAll(hooks: (() => Promise<unknown>)[]): Promise<unknown[]> {
  const errors: unknown[] = [];
  for (const hook of hooks) await hook().catch((err: unknown) => errors.push(err));
  return errors;
}

/** Failures are logged, not thrown: the change is already committed and a 500 would invite a blind retry. */
export async function runFestivalChangedHooks(
  s: Services,
  festivalId: number,
  changed: string[],
  log: Logger,
): Promise<void> {
  if (!changed.length) return;
  const errors = await runAll(festivalChangedHooks.map((hook) => () => hook(s, festivalId, changed)));
  for (const err of errors) log.error("festival change hook failed", { festivalId, error: err });
}
