import { z } from "@hono/zod-openapi";
import {
  and,
  asc,
  desc,
  eq,
  getTableColumns,
  gt,
  gte,
  inArray,
  isNotNull,
  isNull,
  lt,
  lte,
  or,
  type SQL,
  sql,
} from "drizzle-orm";
import { festivalSearchGrams, festivals } from "../../db/schema/festivals";
import { AppError } from "../../lib/errors";
import type { Logger } from "../../lib/logger";
import { enforce, type LimitPolicy } from "../../lib/rate-limit";
import type { Services } from "../../lib/services";
import { verifyAccessToken } from "../auth/tokens";
import { bearerToken } from "../middleware/auth";
import type { CachedPage } from "./cache";
import { toSummaryRecord } from "./model";
import type { FestivalSort, FestivalStatus } from "./schemas";
import { normalizeSearch, queryGrams } from "./search-text";

export interface ListParams {
  q?: string | undefined;
  category?: string | undefined;
  region?: string | undefined;
  from?: string | undefined;
  to?: string | undefined;
  status?: FestivalStatus | undefined;
  cancelled?: boolean | undefined;
  near?: { lat: number; lng: number; radiusKm: number } | undefined;
  sort: FestivalSort;
  cursor?: string | undefined;
  limit: number;
}

/**
 * A query of one character has no bigram, so it is answered by LOCATE over every festival the other
 * filters leave: a scan. Anonymous callers must send at least two characters (a bigram lookup on
 * the primary key); signed-in callers may search one, at most `SHORT_SEARCH.limit` times a minute,
 * so scanning the table takes accounts, not just a loop. Only the token's signature and expiry are
 * checked (no Redis): a public read must not fail because Redis does, and the limit fails open
 * for the same reason (README: a Redis failure never fails a read).
 */
export const MIN_ANONYMOUS_QUERY_CHARS = 2;
export const SHORT_SEARCH: LimitPolicy = {
  name: "search.short",
  limit: 10,
  window: "60 s",
  onRedisDown: "open",
};

export async function checkSearchCost(
  s: Services,
  env: Env,
  logger: Logger,
  q: string | undefined,
  authorization: string | undefined,
): Promise<void> {
  const chars = Array.from(normalizeSearch(q ?? "")).length;
  if (chars === 0 || chars >= MIN_ANONYMOUS_QUERY_CHARS) return;
  const token = bearerToken(authorization);
  const claims = token ? await verifyAccessToken(token, env.JWT_SECRET).catch(() => undefined) : undefined;
  if (!claims) {
    throw new AppError(
      400,
      "festival.query_too_short",
      `Search for at least ${MIN_ANONYMOUS_QUERY_CHARS} characters (signed in, one is enough)`,
      { details: { minChars: MIN_ANONYMOUS_QUERY_CHARS } },
    );
  }
  await enforce(s, logger, SHORT_SEARCH, `user:${claims.sub}`);
}

/** The keyset of the last item of a page, in the page's sort order (never an offset: inserts cannot shift it). */
const CursorSchema = z.discriminatedUnion("s", [
  z.object({ s: z.literal("startDate"), k: z.tuple([z.iso.date(), z.number().int()]) }),
  z.object({ s: z.literal("popularity"), k: z.tuple([z.number().int(), z.number().int()]) }),
  z.object({ s: z.literal("relevance"), k: z.tuple([z.number().int(), z.iso.date(), z.number().int()]) }),
]);
type Cursor = z.infer<typeof CursorSchema>;

const encodeCursor = (c: Cursor) =>
  btoa(String.fromCharCode(...new TextEncoder().encode(JSON.stringify(c))))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");

function decodeCursor(raw: string, sort: FestivalSort): Cursor {
  try {
    const bin = atob(raw.replace(/-/g, "+").replace(/_/g, "/"));
    const parsed = CursorSchema.parse(
      JSON.parse(new TextDecoder().decode(Uint8Array.from(bin, (ch) => ch.charCodeAt(0)))),
    );
    if (parsed.s === sort) return parsed;
  } catch {}
  throw new AppError(
    400,
    "festival.bad_cursor",
    "The cursor is not valid for this list; start again without it",
  );
}

/** SQL twin of `statusAt` in model.ts. */
function statusCondition(status: FestivalStatus, now: Date): SQL | undefined {
  const saleOpen = and(lte(festivals.saleOpensAt, now), gt(festivals.saleClosesAt, now));
  switch (status) {
    case "ended":
      return lte(festivals.endsAt, now);
    case "ongoing":
      return and(lte(festivals.startsAt, now), gt(festivals.endsAt, now));
    case "on_sale":
      return and(gt(festivals.startsAt, now), saleOpen);
    case "upcoming":
      return and(gt(festivals.startsAt, now), sql`not (${saleOpen})`);
  }
}

const EARTH_KM = 6371.0088;
const KM_PER_DEGREE = (EARTH_KM * Math.PI) / 180;
const distanceKm = (lat: number, lng: number) =>
  sql<number>`(${2 * EARTH_KM} * asin(least(1, sqrt(
    pow(sin(radians(${festivals.lat} - ${lat}) / 2), 2) +
    cos(radians(${lat})) * cos(radians(${festivals.lat})) * pow(sin(radians(${festivals.lng} - ${lng}) / 2), 2)))))`.mapWith(
    Number,
  );

/**
 * A box the circle fits in, so the (lat, lng) index narrows the rows before the exact haversine
 * distance is computed. Longitude span from the tangent latitude (J. Matuschek, "Finding points within
 * a distance of a latitude/longitude using bounding coordinates"); a box over a pole or across
 * the antimeridian widens or splits.
 */
function boundingBox(lat: number, lng: number, radiusKm: number): SQL | undefined {
  const dLat = radiusKm / KM_PER_DEGREE;
  const latRange = and(gte(festivals.lat, lat - dLat), lte(festivals.lat, lat + dLat));
  const ratio = Math.sin(radiusKm / EARTH_KM) / Math.cos((lat * Math.PI) / 180);
  if (lat + dLat >= 90 || lat - dLat <= -90 || ratio >= 1) return latRange;
  const dLng = (Math.asin(ratio) * 180) / Math.PI;
  const [west, east] = [lng - dLng, lng + dLng];
  const lngRange =
    west < -180
      ? or(gte(festivals.lng, west + 360), lte(festivals.lng, east))
      : east > 180
        ? or(gte(festivals.lng, west), lte(festivals.lng, east - 360))
        : and(gte(festivals.lng, west), lte(festivals.lng, east));
  return and(latRange, lngRange);
}

const {
  description: _d,
  perUserLimit: _p,
  searchTitle: _t,
  searchText: _x,
  cancelReason: _c,
  ...summaryColumns
} = getTableColumns(festivals);

export async function queryFestivals(s: Services, p: ListParams, now: Date): Promise<CachedPage> {
  const conds: (SQL | undefined)[] = [];
  if (p.category) conds.push(eq(festivals.category, p.category));
  if (p.region) conds.push(eq(festivals.region, p.region));
  // Overlap of [startDate, endDate] with [from, to].
  if (p.from) conds.push(gte(festivals.endDate, p.from));
  if (p.to) conds.push(lte(festivals.startDate, p.to));
  if (p.status) conds.push(statusCondition(p.status, now));
  if (p.cancelled !== undefined)
    conds.push(p.cancelled ? isNotNull(festivals.cancelledAt) : isNull(festivals.cancelledAt));

  const distance = p.near ? distanceKm(p.near.lat, p.near.lng) : sql<number>`0`.mapWith(Number);
  if (p.near)
    conds.push(boundingBox(p.near.lat, p.near.lng, p.near.radiusKm), sql`${distance} <= ${p.near.radiusKm}`);

  const q = p.q ? normalizeSearch(p.q) : "";
  const grams = queryGrams(q);
  if (q) conds.push(sql`locate(${q}, ${festivals.searchText}) > 0`);
  const score = q
    ? sql<number>`(case when locate(${q}, ${festivals.searchTitle}) = 1 then 3 when locate(${q}, ${festivals.searchTitle}) > 0 then 2 else 1 end)`.mapWith(
        Number,
      )
    : sql<number>`0`.mapWith(Number);

  const cursor = p.cursor ? decodeCursor(p.cursor, p.sort) : undefined;
  if (cursor?.s === "startDate")
    conds.push(sql`(${festivals.startDate}, ${festivals.id}) > (${cursor.k[0]}, ${cursor.k[1]})`);
  if (cursor?.s === "popularity") {
    conds.push(sql`(${festivals.reservedCount}, ${festivals.id}) < (${cursor.k[0]}, ${cursor.k[1]})`);
  }
  if (cursor?.s === "relevance") {
    const [sc, day, id] = cursor.k;
    conds.push(
      or(lt(score, sc), and(eq(score, sc), sql`(${festivals.startDate}, ${festivals.id}) > (${day}, ${id})`)),
    );
  }

  const order =
    p.sort === "popularity"
      ? [desc(festivals.reservedCount), desc(festivals.id)]
      : p.sort === "relevance"
        ? [desc(score), asc(festivals.startDate), asc(festivals.id)]
        : [asc(festivals.startDate), asc(festivals.id)];

  const query = s.db
    .select({ ...summaryColumns, score, distance })
    .from(festivals)
    .where(and(...conds))
    .orderBy(...order)
    .limit(p.limit + 1)
    .$dynamic();
  if (grams.length) {
    // Festivals holding every bigram of the query: one primary-key range per bigram, then the intersection.
    const matches = s.db
      .select({ festivalId: festivalSearchGrams.festivalId })
      .from(festivalSearchGrams)
      .where(inArray(festivalSearchGrams.gram, grams))
      .groupBy(festivalSearchGrams.festivalId)
      .having(sql`count(*) = ${grams.length}`)
      .as("matches");
    query.innerJoin(matches, eq(matches.festivalId, festivals.id));
  }
  const rows = await query;

  const page = rows.slice(0, p.limit);
  const last = page.at(-1);
  let next: Cursor | undefined;
  if (last && rows.length > p.limit) {
    next =
      p.sort === "popularity"
        ? { s: "popularity", k: [last.reservedCount, last.id] }
        : p.sort === "relevance"
          ? { s: "relevance", k: [last.score, last.startDate, last.id] }
          : { s: "startDate", k: [last.startDate, last.id] };
  }
  return {
    items: page.map(({ score: _s, distance: d, reservedCount: _r, ...row }) => ({
      record: toSummaryRecord(row),
      ...(p.near && { distanceKm: d }),
    })),
    nextCursor: next ? encodeCursor(next) : null,
  };
}
