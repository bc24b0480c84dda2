import { and, eq } from "drizzle-orm";
import { expect } from "vitest";
import type { V1FestivalsListResponse } from "../../workers/api/festivals/v1_festivals_list";
import { festivalDays, festivals } from "../../workers/db/schema/festivals";
import { db } from "./fixtures";
import { api } from "./helpers";

/** Reading and nudging festivals for the festivals area's tests; the festivals themselves come from fixtures.ts. */

export async function list(query: Record<string, string | number>) {
  const qs = new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)]));
  const res = await api<V1FestivalsListResponse>("GET", `/v1/festivals?${qs}`);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

export const ids = (page: { items: { id: number }[] }) => page.items.map((i) => i.id);

/** Stands in for the reservation engine: sets a day's counters straight in the database. */
export async function setDayCounts(
  festivalId: number,
  date: string,
  counts: { reserved?: number; held?: number },
) {
  await db()
    .update(festivalDays)
    .set(counts)
    .where(and(eq(festivalDays.festivalId, festivalId), eq(festivalDays.day, date)));
}

export async function setReservedCount(festivalId: number, reservedCount: number) {
  await db().update(festivals).set({ reservedCount }).where(eq(festivals.id, festivalId));
}

export async function dayRows(festivalId: number) {
  return db()
    .select()
    .from(festivalDays)
    .where(eq(festivalDays.festivalId, festivalId))
    .orderBy(festivalDays.day);
}
