import {
  char,
  date,
  index,
  int,
  mysqlEnum,
  mysqlTable,
  primaryKey,
  uniqueIndex,
} from "drizzle-orm/mysql-core";
import { at, createdAt, id, ref, updatedAt } from "./columns";

/** What the API shows. */
export const RESERVATION_STATUSES = ["confirmed", "cancelled", "checked_in"] as const;
/**
 * What a row can be: `pending` is a reservation whose places are not taken yet (reservations/
 * service.ts). It becomes `confirmed` in one statement or is deleted; nothing outside that path
 * ever shows it.
 */
export const RESERVATION_ROW_STATUSES = ["pending", ...RESERVATION_STATUSES] as const;
/** `admin`: an admin cancelled one user's reservation (POST /v1/admin/reservations/{id}/cancel). */
export const CANCEL_REASONS = ["user", "festival_cancelled", "account_deleted", "admin"] as const;

export const reservations = mysqlTable(
  "reservations",
  {
    id: id(),
    festivalId: ref("festival_id").notNull(),
    userId: ref("user_id").notNull(),
    /** The festival date the places are for (local date in the festival's timezone). */
    day: date("day", { mode: "string" }).notNull(),
    quantity: int("quantity").notNull(),
    status: mysqlEnum("status", RESERVATION_ROW_STATUSES).notNull(),
    confirmedAt: at("confirmed_at").notNull(),
    cancelledAt: at("cancelled_at"),
    cancelReason: mysqlEnum("cancel_reason", CANCEL_REASONS),
    checkedInAt: at("checked_in_at"),
    /**
     * SHA-256 of the client's Idempotency-Key and of the request it came with, written with the row
     * itself: a retry finds the reservation it made even when the Worker died before answering.
     */
    idempotencyKey: char("idempotency_key", { length: 64 }),
    requestHash: char("request_hash", { length: 64 }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  // Keyset lists (newest first) per user and per festival, with and without a status filter.
  (t) => [
    index("reservations_user_idx").on(t.userId, t.id),
    index("reservations_user_status_idx").on(t.userId, t.status, t.id),
    index("reservations_festival_idx").on(t.festivalId, t.id),
    index("reservations_festival_status_idx").on(t.festivalId, t.status, t.id),
    // Many NULLs allowed (no key): one reservation per user and key.
    uniqueIndex("reservations_idempotency_uq").on(t.userId, t.idempotencyKey),
    // The sweeper: pendings whose Worker never came back.
    index("reservations_status_created_idx").on(t.status, t.createdAt),
  ],
);

/**
 * Places one user holds in one festival (confirmed + checked in). Its row is the lock that keeps the
 * per-user limit under concurrency: a reservation raises it with one conditional upsert.
 */
export const reservationUserTotals = mysqlTable(
  "reservation_user_totals",
  {
    festivalId: ref("festival_id").notNull(),
    userId: ref("user_id").notNull(),
    quantity: int("quantity").notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.festivalId, t.userId] })],
);

export type Reservation = typeof reservations.$inferSelect;
export type ReservationStatus = (typeof RESERVATION_STATUSES)[number];
export type ReservationRowStatus = (typeof RESERVATION_ROW_STATUSES)[number];
export type CancelReason = (typeof CANCEL_REASONS)[number];
