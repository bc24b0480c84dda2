import {
  boolean,
  customType,
  date,
  double,
  index,
  int,
  json,
  mysqlTable,
  primaryKey,
  text,
  varchar,
} from "drizzle-orm/mysql-core";
// With the extension: local/seed.ts loads this file from Node too.
import { at, createdAt, id, ref, updatedAt } from "./columns.ts";

/**
 * Search columns compare bytes (utf8mb4_bin) on MySQL 8 and MariaDB alike: the text is normalized
 * before it is stored, and accent- or width-folding collations would make LOCATE disagree with it.
 */
const binaryText = (length?: number) =>
  customType<{ data: string; driverData: string }>({
    dataType: () => `${length ? `varchar(${length})` : "text"} character set utf8mb4 collate utf8mb4_bin`,
  });

export const festivals = mysqlTable(
  "festivals",
  {
    id: id(),
    title: varchar("title", { length: 200 }).notNull(),
    description: text("description").notNull(),
    category: varchar("category", { length: 40 }).notNull(),
    region: varchar("region", { length: 40 }).notNull(),
    venueName: varchar("venue_name", { length: 200 }).notNull(),
    venueAddress: varchar("venue_address", { length: 300 }).notNull(),
    lat: double("lat").notNull(),
    lng: double("lng").notNull(),
    /** Local calendar dates in the festival's timezone (a festival spans one or more days). */
    startDate: date("start_date", { mode: "string" }).notNull(),
    endDate: date("end_date", { mode: "string" }).notNull(),
    timezone: varchar("timezone", { length: 64 }).notNull(),
    /** start_date 00:00 and (end_date + 1) 00:00 in `timezone`, as UTC instants: status filters compare them in SQL. */
    startsAt: at("starts_at").notNull(),
    endsAt: at("ends_at").notNull(),
    /** Most places one user may hold across all their active reservations of this festival. */
    perUserLimit: int("per_user_limit").notNull(),
    saleOpensAt: at("sale_opens_at").notNull(),
    saleClosesAt: at("sale_closes_at").notNull(),
    imageUrl: varchar("image_url", { length: 500 }),
    tags: json("tags").$type<string[]>().notNull(),
    cancelledAt: at("cancelled_at"),
    cancelReason: varchar("cancel_reason", { length: 500 }),
    /** Confirmed places over all days; the popularity sort reads it. */
    reservedCount: int("reserved_count").notNull().default(0),
    /** Normalized title (relevance) and all searchable fields joined by "\n" (exact substring check). */
    searchTitle: binaryText(200)("search_title").notNull(),
    searchText: binaryText()("search_text").notNull(),
    /** Virtual waiting room (workers/api/sales): while on, a reservation needs an admission token. */
    queueEnabled: boolean("queue_enabled").notNull().default(false),
    queueRatePerMinute: int("queue_rate_per_minute").notNull().default(100),
    /** Most users admitted but not yet done (reserved, left, or admission expired). */
    queueActiveCap: int("queue_active_cap").notNull().default(1000),
    /** Admission clock start; NULL = sale_opens_at. Moved to "now" when the queue is switched on or its rate changes. */
    queueOpensAt: at("queue_opens_at"),
    /** Bumped with queue_opens_at: the Redis admission counter restarts from zero at each new epoch. */
    queueEpoch: int("queue_epoch").notNull().default(0),
    /** How long a waitlist offer holds its places before passing to the next in line. */
    waitlistOfferMinutes: int("waitlist_offer_minutes").notNull().default(30),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index("festivals_start_idx").on(t.startDate, t.id),
    index("festivals_category_idx").on(t.category, t.startDate, t.id),
    index("festivals_region_idx").on(t.region, t.startDate, t.id),
    index("festivals_popularity_idx").on(t.reservedCount, t.id),
    index("festivals_geo_idx").on(t.lat, t.lng),
    index("festivals_ends_idx").on(t.endsAt),
  ],
);

/** The columns that decide whether a festival sells a day to a user (sale window, dates, limit). */
export const festivalSaleColumns = {
  cancelledAt: festivals.cancelledAt,
  saleOpensAt: festivals.saleOpensAt,
  saleClosesAt: festivals.saleClosesAt,
  startDate: festivals.startDate,
  endDate: festivals.endDate,
  timezone: festivals.timezone,
  perUserLimit: festivals.perUserLimit,
};

/**
 * The ticket inventory of each festival date. `reserved + held <= capacity` is the invariant every
 * writer keeps with one conditional UPDATE (held = places offered to the waitlist, not yet claimed).
 */
export const festivalDays = mysqlTable(
  "festival_days",
  {
    festivalId: ref("festival_id").notNull(),
    day: date("day", { mode: "string" }).notNull(),
    capacity: int("capacity").notNull(),
    reserved: int("reserved").notNull().default(0),
    held: int("held").notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.festivalId, t.day] })],
);

/**
 * Bigram posting lists of `festivals.search_text` (see workers/api/festivals/search-text.ts): a query
 * of two or more characters becomes one index range per bigram plus an intersection.
 */
export const festivalSearchGrams = mysqlTable(
  "festival_search_grams",
  {
    gram: binaryText(2)("gram").notNull(),
    festivalId: ref("festival_id").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.gram, t.festivalId] }),
    index("festival_search_grams_festival_idx").on(t.festivalId),
  ],
);

export type Festival = typeof festivals.$inferSelect;
export type NewFestival = typeof festivals.$inferInsert;
export type FestivalDay = typeof festivalDays.$inferSelect;
export type NewFestivalDay = typeof festivalDays.$inferInsert;
