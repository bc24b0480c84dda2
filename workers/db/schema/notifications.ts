import {
  index,
  int,
  json,
  mysqlEnum,
  mysqlTable,
  primaryKey,
  uniqueIndex,
  varchar,
} from "drizzle-orm/mysql-core";
import { at, createdAt, id, ref } from "./columns";

/**
 * The in-app inbox. `dedupe_key` makes an event idempotent per user: MySQL's unique index allows
 * many NULLs, so notifications without a key never collide. The push columns claim the push the
 * same way reminders are claimed, so two callers racing on one key push once.
 */
export const notifications = mysqlTable(
  "notifications",
  {
    id: id(),
    userId: ref("user_id").notNull(),
    type: varchar("type", { length: 40 }).notNull(),
    title: varchar("title", { length: 200 }).notNull(),
    body: varchar("body", { length: 1000 }).notNull(),
    data: json("data").$type<Record<string, string>>(),
    dedupeKey: varchar("dedupe_key", { length: 191 }),
    readAt: at("read_at"),
    pushClaimedAt: at("push_claimed_at"),
    pushedAt: at("pushed_at"),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex("notifications_user_dedupe_uq").on(t.userId, t.dedupeKey),
    // Newest-first pages, and the unread count (read_at IS NULL) of one user.
    index("notifications_user_idx").on(t.userId, t.id),
    index("notifications_user_unread_idx").on(t.userId, t.readAt),
    // Pushes still to settle (the retry job): a short range, as settled rows have pushed_at set.
    index("notifications_push_pending_idx").on(t.pushedAt, t.createdAt),
    // The retention job: the oldest rows, without walking the table when there are none.
    index("notifications_created_idx").on(t.createdAt),
  ],
);

/** FCM registration tokens. A token names one app install: registering it again moves it to the caller. */
export const pushDevices = mysqlTable(
  "push_devices",
  {
    id: id(),
    userId: ref("user_id").notNull(),
    token: varchar("token", { length: 512 }).notNull(),
    platform: mysqlEnum("platform", ["android", "ios", "web"]),
    createdAt: createdAt(),
    lastSeenAt: at("last_seen_at")
      .notNull()
      .$defaultFn(() => new Date()),
  },
  (t) => [uniqueIndex("push_devices_token_uq").on(t.token), index("push_devices_user_idx").on(t.userId)],
);

export const REMINDER_STATES = ["claimed", "sent", "skipped"] as const;

/**
 * One row per reminder ever due: (reservation, offset) is claimed by inserting it, so at most one
 * cron run owns it; `claim_id` says which. See workers/jobs/reminders.ts for the protocol.
 */
export const reminderDeliveries = mysqlTable(
  "reminder_deliveries",
  {
    reservationId: ref("reservation_id").notNull(),
    offsetHours: int("offset_hours").notNull(),
    status: mysqlEnum("status", REMINDER_STATES).notNull(),
    claimId: varchar("claim_id", { length: 36 }).notNull(),
    claimedAt: at("claimed_at").notNull(),
    attempts: int("attempts").notNull().default(1),
    doneAt: at("done_at"),
  },
  (t) => [
    primaryKey({ columns: [t.reservationId, t.offsetHours] }),
    index("reminder_deliveries_status_idx").on(t.status, t.claimedAt),
  ],
);

export type Notification = typeof notifications.$inferSelect;
export type PushDevice = typeof pushDevices.$inferSelect;
export type PushPlatform = NonNullable<PushDevice["platform"]>;
