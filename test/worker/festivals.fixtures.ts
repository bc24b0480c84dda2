import { env } from "cloudflare:test";
import { and, eq } from "drizzle-orm";
import { expect } from "vitest";
import type {
  V1FestivalsCreateRequest,
  V1FestivalsCreateResponse,
} from "../../workers/api/festivals/v1_festivals_create";
import type { V1FestivalsListResponse } from "../../workers/api/festivals/v1_festivals_list";
import { festivalDays, festivals } from "../../workers/db/schema/festivals";
import { getServices } from "../../workers/lib/services";
import { api, type TestUser } from "./helpers";

/** A word no other test (or test run) uses: festivals are found by it, so shared data never interferes. */
export const uniqueWord = (prefix = "t") =>
  `${prefix}${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;

/** `YYYY-MM-DD`, n days from today (UTC). */
export const day = (n: number) => new Date(Date.now() + n * 86_400_000).toISOString().slice(0, 10);
export const instant = (hoursFromNow: number) =>
  new Date(Date.now() + hoursFromNow * 3_600_000).toISOString();

export function festivalInput(overrides: Partial<V1FestivalsCreateRequest> = {}): V1FestivalsCreateRequest {
  return {
    title: "자라섬 재즈 페스티벌",
    description: "가을 섬에서 열리는 재즈 축제",
    category: "music",
    region: "경기",
    venue: { name: "자라섬", address: "경기도 가평군 가평읍 달전리", lat: 37.8169, lng: 127.5255 },
    startDate: day(30),
    endDate: day(32),
    timezone: "Asia/Seoul",
    capacity: 100,
    perUserLimit: 4,
    saleOpensAt: instant(-24),
    saleClosesAt: instant(24 * 29),
    imageUrl: "https://images.example.com/jarasum.jpg",
    tags: ["jazz", "outdoor"],
    ...overrides,
  };
}

export async function createFestival(admin: TestUser, overrides: Partial<V1FestivalsCreateRequest> = {}) {
  const res = await api<V1FestivalsCreateResponse>("POST", "/v1/festivals", {
    token: admin.token,
    body: festivalInput(overrides),
  });
  if (res.status !== 201) throw new Error(`create festival: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

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
  await getServices(env)
    .db.update(festivalDays)
    .set(counts)
    .where(and(eq(festivalDays.festivalId, festivalId), eq(festivalDays.day, date)));
}

export async function setReservedCount(festivalId: number, reservedCount: number) {
  await getServices(env).db.update(festivals).set({ reservedCount }).where(eq(festivals.id, festivalId));
}

export async function dayRows(festivalId: number) {
  return getServices(env)
    .db.select()
    .from(festivalDays)
    .where(eq(festivalDays.festivalId, festivalId))
    .orderBy(festivalDays.day);
}
