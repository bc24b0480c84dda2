import type { Festival, FestivalDay } from "../../db/schema/festivals";
import type { FestivalDetail, FestivalStatus, FestivalSummary } from "./schemas";

/** The columns a public read needs, JSON-safe (instants as ISO strings) so the same shape sits in Redis. */
export interface FestivalRecord {
  id: number;
  title: string;
  description: string;
  category: string;
  region: string;
  venueName: string;
  venueAddress: string;
  lat: number;
  lng: number;
  startDate: string;
  endDate: string;
  timezone: string;
  startsAt: string;
  endsAt: string;
  perUserLimit: number;
  saleOpensAt: string;
  saleClosesAt: string;
  imageUrl: string | null;
  tags: string[];
  cancelledAt: string | null;
  createdAt: string;
  updatedAt: string;
}

/** What a list item needs: the record without the long description. */
export type SummaryRecord = Omit<FestivalRecord, "description" | "perUserLimit">;

/** The columns `toRecord` reads (search columns and counters stay in the database). */
export type RecordRow = Omit<Festival, "searchTitle" | "searchText" | "reservedCount" | "cancelReason">;

export type DayCounts = Pick<FestivalDay, "day" | "capacity" | "reserved" | "held">;

export function toSummaryRecord(f: Omit<RecordRow, "description" | "perUserLimit">): SummaryRecord {
  return {
    id: f.id,
    title: f.title,
    category: f.category,
    region: f.region,
    venueName: f.venueName,
    venueAddress: f.venueAddress,
    lat: f.lat,
    lng: f.lng,
    startDate: f.startDate,
    endDate: f.endDate,
    timezone: f.timezone,
    startsAt: f.startsAt.toISOString(),
    endsAt: f.endsAt.toISOString(),
    saleOpensAt: f.saleOpensAt.toISOString(),
    saleClosesAt: f.saleClosesAt.toISOString(),
    imageUrl: f.imageUrl,
    tags: f.tags,
    cancelledAt: f.cancelledAt?.toISOString() ?? null,
    createdAt: f.createdAt.toISOString(),
    updatedAt: f.updatedAt.toISOString(),
  };
}

export const toRecord = (f: RecordRow): FestivalRecord => ({
  ...toSummaryRecord(f),
  description: f.description,
  perUserLimit: f.perUserLimit,
});

type Times = Pick<FestivalRecord, "startsAt" | "endsAt" | "saleOpensAt" | "saleClosesAt">;

/**
 * Status is read from the clock, never stored, so it cannot go stale in a cache. Order of precedence:
 * ended, ongoing, then (before the first day) on_sale while the sale window is open, else upcoming.
 * The SQL twin is `statusCondition` in list-query.ts: keep them in step.
 */
export function statusAt(f: Times, now: Date): FestivalStatus {
  const t = now.getTime();
  if (t >= Date.parse(f.endsAt)) return "ended";
  if (t >= Date.parse(f.startsAt)) return "ongoing";
  return saleWindowOpen(f, t) ? "on_sale" : "upcoming";
}

const saleWindowOpen = (f: Times, t: number) =>
  t >= Date.parse(f.saleOpensAt) && t < Date.parse(f.saleClosesAt);

export function toSummary(f: SummaryRecord, now: Date, distanceKm?: number): FestivalSummary {
  const t = now.getTime();
  return {
    id: f.id,
    title: f.title,
    category: f.category,
    region: f.region,
    venue: { name: f.venueName, address: f.venueAddress, lat: f.lat, lng: f.lng },
    startDate: f.startDate,
    endDate: f.endDate,
    timezone: f.timezone,
    saleOpensAt: f.saleOpensAt,
    saleClosesAt: f.saleClosesAt,
    imageUrl: f.imageUrl,
    tags: f.tags,
    status: statusAt(f, now),
    saleOpen: !f.cancelledAt && saleWindowOpen(f, t) && t < Date.parse(f.endsAt),
    cancelled: f.cancelledAt !== null,
    ...(distanceKm !== undefined && { distanceKm: Math.round(distanceKm * 100) / 100 }),
  };
}

export function toDetail(f: FestivalRecord, days: DayCounts[], now: Date): FestivalDetail {
  return {
    ...toSummary(f, now),
    description: f.description,
    perUserLimit: f.perUserLimit,
    cancelledAt: f.cancelledAt,
    days: days.map((d) => ({
      date: d.day,
      capacity: d.capacity,
      remaining: Math.max(0, d.capacity - d.reserved - d.held),
    })),
    createdAt: f.createdAt,
    updatedAt: f.updatedAt,
  };
}
