import { index, int, json, mysqlTable, uniqueIndex, varchar } from "drizzle-orm/mysql-core";
import { at, createdAt, id } from "./columns";

/**
 * The outbox: work that must happen after a change commits (join the chat room after a reservation,
 * tell holders a festival was cancelled, ...), written before or with the change, so a Worker that
 * dies after the COMMIT leaves a row the cron finishes (workers/api/follow-ups.ts runs them).
 * `due_at` is also the lease: a runner pushes it forward before it works on the row, so an
 * overlapping runner skips it until the lease ends. `dedupe_key` makes a job unique where repeating
 * the request must not queue it twice (one cancellation job per festival); many NULLs are allowed.
 */
export const followUps = mysqlTable(
  "follow_ups",
  {
    id: id(),
    kind: varchar("kind", { length: 40 }).notNull(),
    payload: json("payload").$type<Record<string, unknown>>().notNull(),
    dueAt: at("due_at").notNull(),
    attempts: int("attempts").notNull().default(0),
    dedupeKey: varchar("dedupe_key", { length: 191 }),
    createdAt: createdAt(),
  },
  (t) => [index("follow_ups_due_idx").on(t.dueAt), uniqueIndex("follow_ups_dedupe_uq").on(t.dedupeKey)],
);

export type FollowUp = typeof followUps.$inferSelect;
