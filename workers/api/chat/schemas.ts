import { z } from "@hono/zod-openapi";
import { ChatMessageSchema } from "../../../durable-objects/chat-room/contract/protocol";

export const ChatRoomSummarySchema = z
  .object({
    roomId: z.string(),
    festivalId: z.number().int(),
    /** The festival's title. */
    name: z.string(),
    memberCount: z.number().int(),
    lastSeq: z.number().int(),
    lastMessage: ChatMessageSchema.nullable(),
    readSeq: z.number().int(),
    unreadCount: z.number().int(),
  })
  .openapi("ChatRoomSummary");

export const ChatRoomListSchema = z
  .object({ items: z.array(ChatRoomSummarySchema), nextCursor: z.string().nullable() })
  .openapi("ChatRoomList");

export type ChatRoomSummary = z.infer<typeof ChatRoomSummarySchema>;
export type ChatRoomList = z.infer<typeof ChatRoomListSchema>;

export const ChatMessagePageSchema = z
  .object({
    /** Newest first. */
    items: z.array(ChatMessageSchema),
    /** Pass as `before` for the next (older) page; null at the start of the room. */
    nextCursor: z.string().nullable(),
  })
  .openapi("ChatMessagePage");

export type ChatMessagePage = z.infer<typeof ChatMessagePageSchema>;

/**
 * The query of a keyset page read newest first (message history, reports): `before` is the previous
 * page's nextCursor, omitted for the newest page. The routes differ only in what a cursor counts (a
 * message seq, a report id), so only its example is theirs.
 */
export const beforePageQuery = (cursor: { example: number }) =>
  z.object({
    before: z.coerce
      .number()
      .int()
      .min(1)
      .max(Number.MAX_SAFE_INTEGER)
      .optional()
      .openapi({ param: { in: "query" }, example: cursor.example }),
    limit: z.coerce.number().int().min(1).max(100).default(50),
  });

export const ChatReportSchema = z
  .object({
    id: z.number().int(),
    seq: z.number().int(),
    reporterId: z.number().int(),
    reason: z.string(),
    reportedAt: z.iso.datetime(),
    /** The original message (also when deleted) while the room still holds it; null once it aged out. */
    message: ChatMessageSchema.nullable(),
  })
  .openapi("ChatReport");

export const ChatReportPageSchema = z
  .object({ items: z.array(ChatReportSchema), nextCursor: z.string().nullable() })
  .openapi("ChatReportPage");

export type ChatReportPage = z.infer<typeof ChatReportPageSchema>;

export const ChatSanctionSchema = z
  .object({
    userId: z.number().int(),
    kind: z.enum(["mute", "ban"]),
    /** When it ends; null = until lifted. */
    until: z.iso.datetime().nullable(),
  })
  .openapi("ChatSanction");

export type ChatSanction = z.infer<typeof ChatSanctionSchema>;

export const ChatPinnedSchema = z
  .object({ announcement: ChatMessageSchema.nullable() })
  .openapi("ChatPinned");
