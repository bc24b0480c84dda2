import { env } from "cloudflare:test";
import { and, eq } from "drizzle-orm";
import type { V1FestivalsQueuePostResponse } from "../../workers/api/sales/v1_festivals_queue_post";
import type { V1FestivalsSalesGetResponse } from "../../workers/api/sales/v1_festivals_sales_get";
import type { V1FestivalsWaitlistMeGetResponse } from "../../workers/api/sales/v1_festivals_waitlist_me_get";
import type { V1FestivalsWaitlistPostResponse } from "../../workers/api/sales/v1_festivals_waitlist_post";
import { festivals } from "../../workers/db/schema/festivals";
import { waitlistEntries } from "../../workers/db/schema/sales";
import { waitlistJob } from "../../workers/jobs/waitlist";
import { createLogger } from "../../workers/lib/logger";
import { db, type SeededUser } from "./fixtures";
import { api } from "./helpers";
import { dbState } from "./reservations-helpers";

export type QueueStatus = V1FestivalsQueuePostResponse;
export type WaitlistEntry = V1FestivalsWaitlistPostResponse;

export const joinQueue = (u: SeededUser, festivalId: number) =>
  api<QueueStatus>("POST", `/v1/festivals/${festivalId}/queue`, { token: u.token });

export const queueMe = (u: SeededUser, festivalId: number) =>
  api<QueueStatus>("GET", `/v1/festivals/${festivalId}/queue/me`, { token: u.token });

/** The admission clock of a festival's queue, moved straight in the database (tests "advance time" so). */
export async function setQueueOpensAt(festivalId: number, at: Date): Promise<void> {
  await db().update(festivals).set({ queueOpensAt: at }).where(eq(festivals.id, festivalId));
}

export const salesView = (admin: SeededUser, festivalId: number) =>
  api<V1FestivalsSalesGetResponse>("GET", `/v1/festivals/${festivalId}/sales`, { token: admin.token });

export const joinWaitlist = (u: SeededUser, festivalId: number, body: unknown) =>
  api<WaitlistEntry>("POST", `/v1/festivals/${festivalId}/waitlist`, { token: u.token, body });

export async function myEntries(u: SeededUser, festivalId: number) {
  const res = await api<V1FestivalsWaitlistMeGetResponse>("GET", `/v1/festivals/${festivalId}/waitlist/me`, {
    token: u.token,
  });
  if (res.status !== 200) throw new Error(`waitlist/me: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.items;
}

export async function entryStatus(u: SeededUser, festivalId: number, day: string) {
  // Newest first: the entry that counts now.
  return (await myEntries(u, festivalId)).find((e) => e.day === day);
}

/** Moves a user's live offer's expiry into the past, as if its time had run out. */
export async function expireOfferOf(u: SeededUser, festivalId: number, day: string): Promise<void> {
  const res = await db()
    .update(waitlistEntries)
    .set({ offerExpiresAt: new Date(Date.now() - 1000) })
    .where(
      and(
        eq(waitlistEntries.festivalId, festivalId),
        eq(waitlistEntries.userId, u.id),
        eq(waitlistEntries.day, day),
        eq(waitlistEntries.status, "offered"),
      ),
    );
  if (res.rowsAffected !== 1) throw new Error("no live offer to expire");
}

/** Runs the waitlist cron job once, as the scheduler would. */
export async function runWaitlistJob(): Promise<void> {
  await waitlistJob.run(env, {} as ExecutionContext, createLogger({ test: "waitlist" }), Date.now());
}

/** The invariant of every step: no day ever has more places taken (reserved + held) than it has. */
export async function expectWithinCapacity(festivalId: number) {
  const state = await dbState(festivalId);
  const offered = await db()
    .select({ day: waitlistEntries.day, quantity: waitlistEntries.heldQuantity })
    .from(waitlistEntries)
    .where(and(eq(waitlistEntries.festivalId, festivalId), eq(waitlistEntries.status, "offered")));
  for (const [day, d] of Object.entries(state.days)) {
    const heldByOffers = offered.filter((o) => o.day === day).reduce((n, o) => n + o.quantity, 0);
    if (heldByOffers !== d.held)
      throw new Error(`day ${day}: held ${d.held} but offers out hold ${heldByOffers}`);
    if (d.reserved + d.held > d.capacity || d.held < 0 || d.reserved < 0) {
      throw new Error(`day ${day} over capacity: ${JSON.stringify(d)}`);
    }
    if ((state.active[day] ?? 0) !== d.reserved) {
      throw new Error(`day ${day}: reserved ${d.reserved} but active reservations ${state.active[day] ?? 0}`);
    }
  }
  return state;
}

/** Notification types in a user's inbox, oldest first. */
export async function inboxTypes(u: SeededUser): Promise<string[]> {
  const res = await api<{ items: { type: string }[] }>("GET", "/v1/me/notifications?limit=100", {
    token: u.token,
  });
  if (res.status !== 200) throw new Error(`inbox: ${res.status}`);
  return res.body.items.map((i) => i.type).reverse();
}
