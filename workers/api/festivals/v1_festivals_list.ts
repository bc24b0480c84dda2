import { createRoute, z } from "@hono/zod-openapi";
import { AppError, errorResponses } from "../../lib/errors";
import { RATE_LIMIT_ERRORS } from "../../lib/rate-limit";
import type { App } from "../router";
import { cachedPage, matchesIfNoneMatch, PRIVATE_CACHE_CONTROL, PUBLIC_CACHE_CONTROL } from "./cache";
import { checkSearchCost, type ListParams } from "./list-query";
import { festivalList } from "./read";
import { FESTIVAL_SORTS, FESTIVAL_STATUSES, FestivalSummarySchema } from "./schemas";

const ListQuerySchema = z.object({
  q: z
    .string()
    .max(100)
    .optional()
    .openapi({
      description:
        "Text inside title, tags, venue, region, category or description; Korean or English, any case. " +
        "At least 2 characters (1 when signed in, a few times a minute); `%` and `_` are plain characters",
      example: "불꽃",
    }),
  category: z.string().trim().toLowerCase().max(40).optional(),
  region: z.string().trim().max(40).optional(),
  from: z.iso.date().optional().openapi({ description: "Festivals with a day on or after this date" }),
  to: z.iso.date().optional().openapi({ description: "Festivals with a day on or before this date" }),
  status: z.enum(FESTIVAL_STATUSES).optional(),
  cancelled: z.enum(["true", "false"]).optional(),
  lat: z.coerce.number().min(-90).max(90).optional(),
  lng: z.coerce.number().min(-180).max(180).optional(),
  radiusKm: z.coerce.number().positive().max(1000).optional().openapi({ description: "With lat and lng" }),
  sort: z
    .enum(FESTIVAL_SORTS)
    .optional()
    .openapi({ description: "relevance (default with q; needs q), startDate (default), popularity" }),
  cursor: z.string().max(512).optional(),
  limit: z.coerce.number().int().min(1).max(50).default(20),
});

const ListResponseSchema = z.object({
  items: z.array(FestivalSummarySchema),
  nextCursor: z.string().nullable(),
});

export type V1FestivalsListQuery = z.input<typeof ListQuerySchema>;
export type V1FestivalsListResponse = z.infer<typeof ListResponseSchema>;

const route = createRoute({
  method: "get",
  path: "/v1/festivals",
  operationId: "festivalsList",
  tags: ["festivals"],
  summary: "Search and filter festivals, one keyset page at a time",
  description:
    "Pages follow `nextCursor` and neither repeat nor skip festivals while new ones are added. Lists are " +
    "cached up to 10 s for popularity order and status membership; admin changes show at once.",
  security: [],
  request: { query: ListQuerySchema },
  responses: {
    200: { description: "A page", content: { "application/json": { schema: ListResponseSchema } } },
    304: { description: "Not modified since the ETag in If-None-Match" },
    ...errorResponses([400, "festival.bad_cursor", "festival.query_too_short"], ...RATE_LIMIT_ERRORS),
  },
});

const invalid = (path: string, message: string) =>
  new AppError(400, "validation.failed", "The request is not valid", {
    details: { issues: [{ path, message }] },
  });

function toParams(qs: z.infer<typeof ListQuerySchema>): ListParams {
  const q = qs.q?.trim() || undefined;
  const nearParts = [qs.lat, qs.lng, qs.radiusKm].filter((v) => v !== undefined).length;
  if (nearParts !== 0 && nearParts !== 3) throw invalid("radiusKm", "lat, lng and radiusKm go together");
  if (qs.from && qs.to && qs.from > qs.to) throw invalid("to", "to must not be before from");
  if (qs.sort === "relevance" && !q) throw invalid("sort", "Sorting by relevance needs q");
  // Fixed key order: the object is hashed into the cache key.
  return {
    q,
    category: qs.category || undefined,
    region: qs.region || undefined,
    from: qs.from,
    to: qs.to,
    status: qs.status,
    cancelled: qs.cancelled === undefined ? undefined : qs.cancelled === "true",
    near:
      qs.lat !== undefined && qs.lng !== undefined && qs.radiusKm !== undefined
        ? { lat: qs.lat, lng: qs.lng, radiusKm: qs.radiusKm }
        : undefined,
    sort: qs.sort ?? (q ? "relevance" : "startDate"),
    cursor: qs.cursor,
    limit: qs.limit,
  };
}

/**
 * The edge and memory key of a list page: the canonical parameters (defaults applied, fixed order),
 * so URLs that ask for the same page share one entry.
 */
function pageUrl(base: string, p: ListParams): string {
  const q = new URLSearchParams();
  const add = (k: string, v: string | number | boolean | undefined) => {
    if (v !== undefined) q.append(k, String(v));
  };
  add("q", p.q);
  add("category", p.category);
  add("region", p.region);
  add("from", p.from);
  add("to", p.to);
  add("status", p.status);
  add("cancelled", p.cancelled);
  add("lat", p.near?.lat);
  add("lng", p.near?.lng);
  add("radiusKm", p.near?.radiusKm);
  add("sort", p.sort);
  add("cursor", p.cursor);
  add("limit", p.limit);
  return new URL(`/v1/festivals?${q}`, base).href;
}

export function registerV1FestivalsList(app: App) {
  app.openapi(route, async (c) => {
    // Before the caches: the same URL must not be answered for some callers and refused for others.
    const qs = c.req.valid("query");
    const authorization = c.req.header("authorization");
    await checkSearchCost(c.get("services"), c.env, c.get("logger"), qs.q, authorization);
    const params = toParams(qs);
    const anonymous = authorization === undefined;
    const { json, etag } = await cachedPage(
      pageUrl(c.req.url, params),
      { anonymous, ctx: c.executionCtx, log: c.get("logger") },
      () => festivalList(c.get("services"), params, c.get("logger")),
    );
    c.set("quietAccessLog", true);
    c.header("ETag", etag);
    c.header("Cache-Control", anonymous ? PUBLIC_CACHE_CONTROL : PRIVATE_CACHE_CONTROL);
    if (matchesIfNoneMatch(c.req.header("if-none-match"), etag)) return c.body(null, 304);
    c.header("Content-Type", "application/json");
    return c.body(json, 200);
  });
}
