import { index, int, json, mysqlTable, primaryKey } from "drizzle-orm/mysql-core";
import type { ChatMessage } from "../../../durable-objects/chat-room/contract/protocol";
import { at, createdAt, ref, updatedAt } from "./columns";

/**
 * One row per festival room (room id = festival id). The summary columns are written by the
 * ChatRoom object after messages (debounced), so the room list reads MySQL only, never the objects.
 */
export const chatRooms = mysqlTable("chat_rooms", {
  festivalId: ref("festival_id").primaryKey(),
  lastSeq: int("last_seq", { unsigned: true }).notNull().default(0),
  lastMessage: json("last_message").$type<ChatMessage>(),
  /** Kept exact by join/leave, which change it in the same transaction as the membership row. */
  memberCount: int("member_count", { unsigned: true }).notNull().default(0),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

/** Who may connect to a room, and how far each member has read (written through from the object). */
export const chatMembers = mysqlTable(
  "chat_members",
  {
    festivalId: ref("festival_id").notNull(),
    userId: ref("user_id").notNull(),
    readSeq: int("read_seq", { unsigned: true }).notNull().default(0),
    joinedAt: at("joined_at")
      .notNull()
      .$defaultFn(() => new Date()),
  },
  (t) => [
    primaryKey({ columns: [t.festivalId, t.userId] }),
    index("chat_members_user_idx").on(t.userId, t.festivalId),
  ],
);

export type ChatRoomRow = typeof chatRooms.$inferSelect;
export type ChatMemberRow = typeof chatMembers.$inferSelect;
