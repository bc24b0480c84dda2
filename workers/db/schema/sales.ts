import { date, index, int, mysqlEnum, mysqlTable, tinyint, uniqueIndex } from "drizzle-orm/mysql-core";
import { at, createdAt, id, ref, updatedAt } from "./columns";

/**
 * waiting → offered → claimed, or → expired / left / cancelled (festival cancelled, account deleted).
 * An entry is offered as soon as places are held for it, even fewer than it asked for: places freed
 * later top it up first (strict arrival order), and it may claim what is held at any time.
 */
export const WAITLIST_STATUSES = ["waiting", "offered", "claimed", "expired", "left", "cancelled"] as const;

/**
 * The waitlist of sold-out festival days (workers/api/sales/waitlist.ts). An offered entry's places
 * (`held_quantity`) are counted in `festival_days.held` until it is claimed (they become `reserved`
 * in the same transaction) or expires (they pass to the next entry in the same transaction).
 */
export const waitlistEntries = mysqlTable(
  "waitlist_entries",
  {
    id: id(),
    festivalId: ref("festival_id").notNull(),
    userId: ref("user_id").notNull(),
    day: date("day", { mode: "string" }).notNull(),
    /** Places asked for. */
    quantity: int("quantity").notNull(),
    /** Places held for this entry (part of `festival_days.held`); at most `quantity`. */
    heldQuantity: int("held_quantity").notNull().default(0),
    status: mysqlEnum("status", WAITLIST_STATUSES).notNull(),
    /**
     * 1 while waiting or offered, NULL once closed: the unique index then allows one live entry per
     * user and day (MySQL and MariaDB let a unique index hold many NULLs) without a partial index.
     */
    live: tinyint("live"),
    offeredAt: at("offered_at"),
    offerExpiresAt: at("offer_expires_at"),
    /** Set when the "offer expiring soon" notice went out, so the job sends it once. */
    remindedAt: at("reminded_at"),
    reservationId: ref("reservation_id"),
    closedAt: at("closed_at"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex("waitlist_live_uq").on(t.festivalId, t.userId, t.day, t.live),
    // The line of one day in arrival order (offers, positions, counts).
    index("waitlist_line_idx").on(t.festivalId, t.day, t.status, t.id),
    // The expiry job: offers due, across festivals.
    index("waitlist_expiry_idx").on(t.status, t.offerExpiresAt),
    index("waitlist_user_idx").on(t.userId, t.status),
  ],
);

export type WaitlistEntry = typeof waitlistEntries.$inferSelect;
export type WaitlistStatus = (typeof WAITLIST_STATUSES)[number];
