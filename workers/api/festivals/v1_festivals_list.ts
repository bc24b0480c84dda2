import { createRoute, z } from "@hono/zod-openapi";
import { AppError, errorResponses } from "../../lib/errors";
import { RATE_LIMIT_ERRORS } from "../../lib/rate-limit";
import type { App } from "../router";
import { etagOf, matchesIfNoneMatch, PUBLIC_CACHE_CONTROL, pages } from "./cache";
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

export function registerV1FestivalsList(app: App) {
  app.openapi(route, async (c) => {
    // Before the caches: the same URL must not be answered for some callers and refused for others.
    const qs = c.req.valid("query");
    await checkSearchCost(c.get("services"), c.env, c.get("logger"), qs.q, c.req.header("authorization"));
    const key = c.req.url;
    const { body, etag } =
      pages.get(key) ??
      (await (async () => {
        const body = await festivalList(c.get("services"), toParams(c.req.valid("query")), c.get("logger"));
        const page = { body, etag: await etagOf(JSON.stringify(body)) };
        pages.set(key, page);
        return page;
      })());
    c.header("ETag", etag);
    c.header("Cache-Control", PUBLIC_CACHE_CONTROL);
    if (matchesIfNoneMatch(c.req.header("if-none-match"), etag)) return c.body(null, 304);
    return c.json(body, 200);
  });
}
