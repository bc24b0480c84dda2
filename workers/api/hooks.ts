import type { Logger } from "../lib/logger";
import type { Services } from "../lib/services";
import { leaveRoomsOfDeletedAccount } from "./chat/rooms";
import { forgetDeletedAccount, tellFestivalCancelled, tellFestivalChanged } from "./notifications/events";
import { cancelFestivalReservations, cancelFutureReservationsOf } from "./reservations/cancel";
import {
  closeWaitlistOfFestival,
  leaveWaitlistsOfDeletedAccount,
  offerOnCapacityChange,
} from "./sales/hooks";

/**
 * What other areas do when an account goes or a festival changes or goes, in one place and in the
 * order it runs. The routes that trigger an event call the runner; the areas' services never import
 * this file (it imports them), so the lists add no import cycle. Every hook must be idempotent: a
 * failed cancel or account deletion is completed by repeating the request, which runs them again.
 */
export type AccountDeletedHook = (s: Services, userId: number) => Promise<unknown>;
export type FestivalCancelledHook = (s: Services, festivalId: number) => Promise<unknown>;
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
 * Runs after `cancelled_at` is set, so no reservation or offer can slip in behind them. The holders
 * are told first, while their reservations are still confirmed (a repeated cancel still reaches
 * them: the fan-out also counts reservations cancelled for this reason). Then the reservations go,
 * then the waitlist: freed places of a cancelled festival are offered to nobody, so the held counts
 * the waitlist hook zeroes stay zero.
 */
export const festivalCancelledHooks: readonly FestivalCancelledHook[] = [
  tellFestivalCancelled,
  cancelFestivalReservations,
  closeWaitlistOfFestival,
];

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

/** The first failure is rethrown so the admin sees it and retries the (idempotent) cancel. */
export async function runFestivalCancelledHooks(s: Services, festivalId: number): Promise<void> {
  const errors = await runAll(festivalCancelledHooks.map((hook) => () => hook(s, festivalId)));
  if (errors.length) throw errors[0];
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
