import type { Services } from "../../lib/services";

/**
 * What other areas do when a festival is cancelled (reservations: cancel them and free the places;
 * notifications: tell the holders). Hooks run after `cancelled_at` is set, so no new reservation can
 * slip in behind them; repeating a cancel runs them again, so each hook must be idempotent.
 */
export type FestivalCancelledHook = (s: Services, festivalId: number) => Promise<void>;
/** After an admin change is committed; `changed` names the request fields that changed. */
export type FestivalChangedHook = (s: Services, festivalId: number, changed: string[]) => Promise<void>;

const cancelledHooks: FestivalCancelledHook[] = [];
const changedHooks: FestivalChangedHook[] = [];

export const onFestivalCancelled = (hook: FestivalCancelledHook) => cancelledHooks.push(hook);
export const onFestivalChanged = (hook: FestivalChangedHook) => changedHooks.push(hook);

/** In registration order (one area may read what another just wrote); every hook runs even if one fails. */
async function runAll(hooks: (() => Promise<void>)[]): Promise<unknown[]> {
  const errors: unknown[] = [];
  for (const hook of hooks) await hook().catch((err: unknown) => errors.push(err));
  return errors;
}

/** The first failure is rethrown so the admin sees it and retries the (idempotent) cancel. */
export async function runCancelledHooks(s: Services, festivalId: number): Promise<void> {
  const errors = await runAll(cancelledHooks.map((hook) => () => hook(s, festivalId)));
  if (errors.length) throw errors[0];
}

/** Failures are returned, not thrown: the change is already committed and a 500 would invite a blind retry. */
export const runChangedHooks = (s: Services, festivalId: number, changed: string[]) =>
  runAll(changedHooks.map((hook) => () => hook(s, festivalId, changed)));
