import {
  boolean,
  index,
  int,
  json,
  mysqlEnum,
  mysqlTable,
  primaryKey,
  uniqueIndex,
  varchar,
} from "drizzle-orm/mysql-core";
import { at, createdAt, id, ref, updatedAt } from "./columns";

export const ROLES = ["user", "admin"] as const;

export const users = mysqlTable(
  "users",
  {
    id: id(),
    /** Stored lower-cased: the unique index then makes emails unique case-insensitively. */
    email: varchar("email", { length: 254 }).notNull(),
    nickname: varchar("nickname", { length: 40 }).notNull(),
    /** `pbkdf2-sha256$<iterations>$<salt b64>$<hash b64>`: parameters travel with the hash. */
    passwordHash: varchar("password_hash", { length: 255 }).notNull(),
    role: mysqlEnum("role", ROLES).notNull().default("user"),
    /**
     * Raised whenever every session must end (password or role change, logout everywhere, deletion).
     * Access tokens and refresh families carry the version they were issued under; an older one is
     * refused (workers/api/auth/sessions.ts).
     */
    sessionVersion: int("session_version").notNull().default(0),
    notifyReminders: boolean("notify_reminders").notNull().default(true),
    /** Hours before a reserved festival day to remind; default D-1 and H-1. */
    reminderOffsetsHours: json("reminder_offsets_hours").$type<number[]>().notNull(),
    notifyChat: boolean("notify_chat").notNull().default(true),
    notifyFestivalUpdates: boolean("notify_festival_updates").notNull().default(true),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    /** Set when the account is deleted: the row stays so chat history keeps an anonymous author. */
    deletedAt: at("deleted_at"),
  },
  (t) => [uniqueIndex("users_email_uq").on(t.email)],
);

export type User = typeof users.$inferSelect;
export type NewUser = typeof users.$inferInsert;

/**
 * Festival-scoped staff: may check people in at that festival's gate without being an admin.
 * Looked up on every check-in, so a revoked grant takes effect at once.
 */
export const festivalStaff = mysqlTable(
  "festival_staff",
  {
    festivalId: ref("festival_id").notNull(),
    userId: ref("user_id").notNull(),
    grantedBy: ref("granted_by").notNull(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.festivalId, t.userId] }), index("festival_staff_user_idx").on(t.userId)],
);
