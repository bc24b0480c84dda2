import { z } from "@hono/zod-openapi";
import { onlyWhenFieldsParsed } from "../../lib/schemas";
import { addDays, isValidTimeZone } from "./calendar";
import { SEARCH_TEXT_TOO_LONG, searchColumns, searchTextFits } from "./search-text";

export const FESTIVAL_STATUSES = ["upcoming", "on_sale", "ongoing", "ended"] as const;
export const FESTIVAL_SORTS = ["relevance", "startDate", "popularity"] as const;
/** Each festival date is a row of inventory; a longer run is a season, not a festival. */
export const MAX_FESTIVAL_DAYS = 92;
export const MAX_TAGS = 10;
const MAX_CAPACITY = 1_000_000;

/**
 * Bounds that keep every derived instant (a date's midnight in any zone, an offset time in UTC)
 * inside the DATETIME columns and 4-digit years, so an odd date is a 400, not a failed insert.
 */
const FIRST_DAY = "1970-01-01";
const LAST_DAY = "9998-12-31";
const LAST_INSTANT_MS = Date.UTC(9999, 0, 1);

const DateSchema = z.iso
  .date()
  .refine((d) => d >= FIRST_DAY && d <= LAST_DAY, `Dates run from ${FIRST_DAY} to ${LAST_DAY}`)
  .openapi({ example: "2026-10-03" });
const InstantSchema = z.iso
  .datetime({ offset: true })
  .refine((t) => {
    const ms = Date.parse(t);
    return ms >= 0 && ms < LAST_INSTANT_MS;
  }, "Times run from 1970 to the end of 9998 (UTC)")
  .openapi({ example: "2026-09-01T01:00:00Z" });
const CapacityValueSchema = z.number().int().min(0).max(MAX_CAPACITY);

export const VenueSchema = z
  .object({
    name: z.string().trim().min(1).max(200),
    address: z.string().trim().min(1).max(300),
    lat: z.number().min(-90).max(90),
    lng: z.number().min(-180).max(180),
  })
  .openapi("Venue");

/** One number for every day, or a map naming each date of the range. */
export const CapacityInputSchema = z
  .union([CapacityValueSchema, z.record(DateSchema, CapacityValueSchema)])
  .openapi({ example: { "2026-10-03": 5000, "2026-10-04": 8000 } });

const festivalFields = {
  title: z.string().trim().min(1).max(200).openapi({ example: "서울세계불꽃축제" }),
  description: z.string().trim().max(5000),
  category: z
    .string()
    .trim()
    .toLowerCase()
    .regex(/^[a-z0-9][a-z0-9-]{1,39}$/, "Category is a slug: 2-40 lower-case letters, digits or hyphens")
    .openapi({ example: "fireworks" }),
  region: z.string().trim().min(1).max(40).openapi({ example: "서울" }),
  venue: VenueSchema,
  startDate: DateSchema,
  endDate: DateSchema,
  timezone: z.string().refine(isValidTimeZone, "Unknown IANA timezone").openapi({ example: "Asia/Seoul" }),
  capacity: CapacityInputSchema,
  perUserLimit: z.number().int().min(1).max(100),
  saleOpensAt: InstantSchema,
  saleClosesAt: InstantSchema,
  imageUrl: z
    .url({ protocol: /^https?$/ })
    .max(500)
    .nullable(),
  tags: z
    .array(z.string().trim().min(1).max(30))
    .max(MAX_TAGS)
    .transform((tags) => [...new Set(tags)]),
};

export interface RuleIssue {
  path: string;
  message: string;
}

/** Rules across fields, shared by create (zod) and update (checked against the merged festival). */
export function festivalRuleIssues(f: {
  startDate: string;
  endDate: string;
  saleOpensAt: string | Date;
  saleClosesAt: string | Date;
  capacity?: z.infer<typeof CapacityInputSchema> | undefined;
  /** Dates that already have a capacity (update, when dates or capacity change): need no new one. */
  knownDays?: ReadonlySet<string>;
}): RuleIssue[] {
  const issues: RuleIssue[] = [];
  if (f.endDate < f.startDate)
    issues.push({ path: "endDate", message: "endDate must not be before startDate" });
  else if (f.endDate > addDays(f.startDate, MAX_FESTIVAL_DAYS - 1)) {
    issues.push({ path: "endDate", message: `A festival spans at most ${MAX_FESTIVAL_DAYS} days` });
  }
  if (new Date(f.saleClosesAt).getTime() <= new Date(f.saleOpensAt).getTime()) {
    issues.push({ path: "saleClosesAt", message: "saleClosesAt must be after saleOpensAt" });
  }
  if (issues.length || typeof f.capacity === "number") return issues;
  const map = f.capacity ?? {};
  for (const day of Object.keys(map)) {
    if (day < f.startDate || day > f.endDate) {
      issues.push({ path: `capacity.${day}`, message: "This date is outside startDate..endDate" });
    }
  }
  if (f.capacity === undefined && !f.knownDays) return issues;
  for (let d = f.startDate; d <= f.endDate; d = addDays(d, 1)) {
    if (!(d in map) && !f.knownDays?.has(d)) {
      issues.push({ path: `capacity.${d}`, message: "Every date of the festival needs a capacity" });
    }
  }
  return issues;
}

export const CreateFestivalSchema = z
  .object({
    ...festivalFields,
    description: festivalFields.description.default(""),
    imageUrl: festivalFields.imageUrl.default(null),
    tags: festivalFields.tags.default([]),
  })
  .strict()
  .superRefine((f, ctx) => {
    for (const i of festivalRuleIssues(f))
      ctx.addIssue({ code: "custom", path: i.path.split("."), message: i.message });
    if (!searchTextFits(searchColumns({ ...f, venueName: f.venue.name }).searchText))
      ctx.addIssue({ code: "custom", path: ["description"], message: SEARCH_TEXT_TOO_LONG });
  }, onlyWhenFieldsParsed)
  .openapi("CreateFestival");

export const UpdateFestivalSchema = z
  .object(festivalFields)
  .partial()
  .strict()
  .refine((f) => Object.keys(f).length > 0, "Send at least one field to change")
  .openapi("UpdateFestival");

/** A retried create with the same key within 24 h answers the first result instead of a second festival. */

export const CancelFestivalSchema = z.object({ reason: z.string().trim().max(500).optional() }).strict();

export type CreateFestivalInput = z.infer<typeof CreateFestivalSchema>;
export type UpdateFestivalInput = z.infer<typeof UpdateFestivalSchema>;

export const FestivalStatusSchema = z.enum(FESTIVAL_STATUSES).openapi({
  description:
    "From the clock: upcoming (before the sale window and the festival), on_sale (sale window open, festival not begun), ongoing, ended",
});

export const FestivalSummarySchema = z
  .object({
    id: z.number().int(),
    title: z.string(),
    category: z.string(),
    region: z.string(),
    venue: VenueSchema,
    startDate: DateSchema,
    endDate: DateSchema,
    timezone: z.string(),
    saleOpensAt: z.iso.datetime(),
    saleClosesAt: z.iso.datetime(),
    imageUrl: z.string().nullable(),
    tags: z.array(z.string()),
    status: FestivalStatusSchema,
    /** The sale window is open and the festival is neither cancelled nor over. */
    saleOpen: z.boolean(),
    cancelled: z.boolean(),
    distanceKm: z.number().optional().openapi({ description: "Only with lat/lng/radiusKm" }),
  })
  .openapi("FestivalSummary");

export const FestivalDaySchema = z
  .object({ date: DateSchema, capacity: z.number().int(), remaining: z.number().int() })
  .openapi("FestivalDay");

export const FestivalSchema = FestivalSummarySchema.omit({ distanceKm: true })
  .extend({
    description: z.string(),
    perUserLimit: z.number().int(),
    cancelledAt: z.iso.datetime().nullable(),
    days: z.array(FestivalDaySchema),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .openapi("Festival");

export const FestivalIdParamsSchema = z.object({
  festivalId: z.coerce
    .number()
    .int()
    .positive()
    .openapi({ param: { name: "festivalId", in: "path" }, example: 1 }),
});

export type FestivalSummary = z.infer<typeof FestivalSummarySchema>;
export type FestivalDetail = z.infer<typeof FestivalSchema>;
export type FestivalStatus = (typeof FESTIVAL_STATUSES)[number];
export type FestivalSort = (typeof FESTIVAL_SORTS)[number];
