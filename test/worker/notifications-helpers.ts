import { createExecutionContext, env } from "cloudflare:test";
import { eq, inArray } from "drizzle-orm";
import { vi } from "vitest";
import type { V1MeDevicesPostResponse } from "../../workers/api/notifications/v1_me_devices_post";
import type { V1MeNotificationsGetResponse } from "../../workers/api/notifications/v1_me_notifications_get";
import { users } from "../../workers/db/schema/users";
import { reminderJob } from "../../workers/jobs/reminders";
import { createLogger } from "../../workers/lib/logger";
import { createFestival, db, seoulDay } from "./fixtures";
import { api } from "./helpers";

/** What the push stand-in recorded (it only records sends whose OAuth token came from a verified JWT). */
export interface SentPush {
  name: string;
  message: {
    token: string;
    notification: { title: string; body: string };
    data: Record<string, string>;
    android?: { collapse_key?: string };
  };
  accessToken: string;
}

/**
 * Waits until `check` passes: what follows a 201 reservation (chat membership, the inbox entry, its
 * push) runs after the answer (the outbox row's best-effort run), so it lands a moment later. A time
 * budget for a busy machine, not a timing assumption.
 */
export const settled = <T>(check: () => Promise<T>) => vi.waitFor(check, { timeout: 20_000, interval: 100 });

const fcm = (path: string, init?: RequestInit) => fetch(`${env.FCM_ENDPOINT}${path}`, init);

export async function pushesTo(token: string): Promise<SentPush[]> {
  const res = await fcm(`/__sent?token=${encodeURIComponent(token)}`);
  return ((await res.json()) as { messages: SentPush[] }).messages;
}

const post = (path: string, body: unknown) =>
  fcm(path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

/** Tells the stand-in to answer `status` to the next `count` sends to this token. */
export const failNextSends = (token: string, count: number, status: number) =>
  post("/__fail", { token, count, status });
export const unregisterAtFcm = (token: string) => post("/__unregister", { token });

let n = 0;
/** Looks like an FCM registration token and is unique to this test. */
export const newDeviceToken = () =>
  `fcm-${Date.now().toString(36)}-${++n}-${crypto.randomUUID().replaceAll("-", "")}:APA91b${"x".repeat(40)}`;

export async function registerDevice(user: { token: string }, token = newDeviceToken()) {
  const res = await api<V1MeDevicesPostResponse>("POST", "/v1/me/devices", {
    token: user.token,
    body: { token, platform: "android" },
  });
  if (res.status !== 201) throw new Error(`device registration failed: ${res.status}`);
  return token;
}

export async function inbox(user: { token: string }, query = "") {
  const res = await api<V1MeNotificationsGetResponse>("GET", `/v1/me/notifications${query}`, {
    token: user.token,
  });
  if (res.status !== 200) throw new Error(`inbox failed: ${res.status}`);
  return res.body;
}

export const ofType = (page: V1MeNotificationsGetResponse, type: string) =>
  page.items.filter((i) => i.type === type);

/**
 * A one-day festival on sale now, `daysAhead` days away (Seoul). Reminder tests put theirs weeks
 * apart, so one test's cron run never finds another test's reminders due.
 */
export async function festivalOn(daysAhead: number, capacity = 50) {
  const day = seoulDay(daysAhead);
  const start = new Date(`${day}T00:00:00+09:00`);
  const { id } = await createFestival({
    firstDay: daysAhead,
    dayCount: 1,
    capacity,
    title: `알림 축제 ${daysAhead}`,
    description: "notifications test",
    saleClosesAt: new Date(start.getTime() - 3600_000),
    searchTitle: "알림 축제",
    searchText: "알림 축제",
  });
  return { id, day, start: start.getTime() };
}

export async function setOffsets(userIds: number[], hours: number[]) {
  await db().update(users).set({ reminderOffsetsHours: hours }).where(inArray(users.id, userIds));
}

export const userRow = async (id: number) => (await db().select().from(users).where(eq(users.id, id)))[0];

const HOUR = 3_600_000;
export const hours = (h: number) => h * HOUR;

/** The cron entry point of the reminder job, with the clock the test chooses. */
export async function runReminderCron(scheduledTime: number) {
  await reminderJob.run(env, createExecutionContext(), createLogger({ test: "reminders" }), scheduledTime);
}
