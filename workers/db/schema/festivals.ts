import {
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
import { at, createdAt, id, ref, updatedAt } from "./columns";

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
    /** Most places one user may hold across all their active reservations of this festival. */
    perUserLimit: int("per_user_limit").notNull(),
    saleOpensAt: at("sale_opens_at").notNull(),
    saleClosesAt: at("sale_closes_at").notNull(),
    imageUrl: varchar("image_url", { length: 500 }),
    tags: json("tags").$type<string[]>().notNull(),
    cancelledAt: at("cancelled_at"),
    /** Confirmed places over all days; the popularity sort reads it. */
    reservedCount: int("reserved_count").notNull().default(0),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index("festivals_start_idx").on(t.startDate, t.id), index("festivals_category_idx").on(t.category)],
);

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

export type Festival = typeof festivals.$inferSelect;
export type NewFestival = typeof festivals.$inferInsert;
export type FestivalDay = typeof festivalDays.$inferSelect;
