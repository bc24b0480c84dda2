import { z } from "@hono/zod-openapi";
import type { ChatItem } from "../../../workers/lib/dynamo.ts";

export { CLOSE } from "./close-codes";

/**
 * The chat WebSocket protocol of DESIGN.md, shared by the Worker route, the ChatRoom object and the
 * tests. JSON text frames; every frame has a `type`.
 */

/** Offered by clients in Sec-WebSocket-Protocol and echoed back, so browsers accept the upgrade. */
export const CHAT_PROTOCOL = "somsom.chat.v1";
/** A Sec-WebSocket-Protocol value carrying the access token (browsers cannot set Authorization). */
export const BEARER_PROTOCOL_PREFIX = "bearer.";

export const CHAT_LIMITS = {
  /** Messages kept in the object for `resume`; an older gap is `resume.too_old`. */
  bufferSize: 200,
  /** Messages in the `welcome` frame of a client that holds none. */
  welcomeMessages: 50,
  /**
   * At most this many messages replayed at once (a `resume`, or a welcome after `?after=`): a larger
   * gap is `resume.too_old` and comes from the paged history endpoint instead of one huge frame burst.
   */
  replayMax: 100,
  /** `resume` frames per user: a burst, then one per this interval (each replays up to replayMax). */
  resumeBurst: 3,
  resumeEveryMs: 10_000,
  /** `read` and `typing` frames per user: a burst, then a steady rate; more get `frame.rate_limited`. */
  chatterBurst: 20,
  chatterPerSecond: 5,
  /** Refused frames in a row after which the socket is closed as abusive (CLOSE.abuse). */
  refusalsBeforeClose: 50,
  /** Open sockets per user in one room (tabs, devices); one more is refused (`chat.too_many_sockets`). */
  maxSocketsPerUser: 5,
  /** Unicode code points per message, after control characters are stripped. */
  maxTextChars: 1000,
  /** Whole frame, in UTF-16 units: refuses junk before it is parsed. */
  maxFrameChars: 16 * 1024,
  /** Token bucket per user and room: a burst, then a steady rate. */
  sendBurst: 20,
  sendPerSecond: 2,
  /** One `typing` broadcast per user per interval. */
  typingEveryMs: 2000,
  /** A retried clientMsgId is recognised for this long, even after the message left the buffer. */
  dedupeWindowMs: 24 * 3600 * 1000,
} as const;

export const ChatMessageSchema = z
  .object({
    seq: z.number().int(),
    id: z.string(),
    userId: z.number().int(),
    nickname: z.string(),
    text: z.string(),
    sentAt: z.iso.datetime(),
    /** Set on an organiser's announcement (posted by admins or the festival's staff, pinned). */
    kind: z.enum(["announcement"]).optional(),
    /** A tombstone: staff deleted the message; `text` is then empty (the original is kept for audit). */
    deleted: z.boolean().optional(),
  })
  .openapi("ChatMessage");

export type ChatMessage = z.infer<typeof ChatMessageSchema>;

/** A message as the room produces it to Kafka and DynamoDB stores it, back in the form clients see. */
export const itemToMessage = (item: ChatItem): ChatMessage => ({
  seq: item.seq,
  id: item.id,
  userId: Number(item.userId),
  nickname: item.nickname,
  text: item.text,
  sentAt: new Date(item.sentAt).toISOString(),
  ...(item.kind ? { kind: item.kind } : {}),
});

const ClientMsgIdSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[\x21-\x7e]+$/, "clientMsgId must be printable ASCII");

/** Text is checked after cleaning (cleanText), so its limits live there, not here. */
export const ClientFrameSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("send"), clientMsgId: ClientMsgIdSchema, text: z.string() }),
  z.object({ type: z.literal("read"), seq: z.number().int().min(0) }),
  z.object({ type: z.literal("typing") }),
  z.object({ type: z.literal("resume"), afterSeq: z.number().int().min(0) }),
]);

export type ClientFrame = z.infer<typeof ClientFrameSchema>;

export interface OnlineUser {
  userId: number;
  nickname: string;
}

/**
 * The connect URL's query (`GET /v1/festivals/{id}/chat?after=<seq>`): a client that already holds
 * every message up to `after` says so, and the welcome then carries exactly the messages after it
 * (`resumed: true`) or none at all when the gap is too large (`resumed: false`: load it from the
 * history). Without `after` the welcome carries the newest messages. Either way the client needs no
 * `resume` frame after connecting, so no message arrives twice.
 */
export const ConnectQuerySchema = z.object({
  after: z.coerce
    .number()
    .int()
    .min(0)
    .max(Number.MAX_SAFE_INTEGER)
    .optional()
    .openapi({ description: "The last seq the client holds: the welcome carries what follows", example: 41 }),
});

export type ChatErrorCode =
  | "frame.invalid"
  | "frame.too_large"
  | "frame.rate_limited"
  | "message.empty"
  | "message.too_long"
  | "message.rate_limited"
  | "read.invalid_seq"
  | "resume.invalid_seq"
  | "resume.too_old"
  | "chat.muted"
  | "chat.slow_mode"
  | "internal";

export type ServerFrame =
  | {
      type: "welcome";
      roomId: string;
      lastSeq: number;
      /** The receiver's own read cursor, so a client can draw the unread marker. */
      readSeq: number;
      online: OnlineUser[];
      /**
       * Oldest first: every message after the connect's `after` when `resumed` is true, none when
       * it is false, the newest ones when the client sent no `after` (no `resumed` field then).
       */
      messages: ChatMessage[];
      resumed?: boolean;
      /** The current pinned announcement (added later: older rooms send none). */
      pinned?: ChatMessage | null;
    }
  | ({ type: "message" } & ChatMessage)
  | { type: "ack"; clientMsgId: string; seq: number }
  | { type: "presence"; event: "joined" | "left"; userId: number; nickname: string }
  | { type: "typing"; userId: number }
  /** Staff deleted this message: show it as deleted, drop its text (older clients ignore the frame). */
  | { type: "deleted"; seq: number }
  | {
      type: "error";
      code: ChatErrorCode;
      message: string;
      /** Set when the error answers a `send`, so the client knows which message failed. */
      clientMsgId?: string;
      retryAfterMs?: number;
      /** `chat.muted`: when the mute ends (ISO 8601). */
      until?: string;
    };

/** Answered by the runtime without waking a hibernated room: a cheap keep-alive. */
export const PING_FRAME = '{"type":"ping"}';
export const PONG_FRAME = '{"type":"pong"}';

// C0/C1 controls except tab and newline, and the bidi overrides that can disguise text. Joiners
// (ZWJ) stay: emoji sequences need them.
const STRIP = /[^\P{Cc}\t\n]|[\u202a-\u202e\u2066-\u2069]/gu;

export function cleanText(text: string): string {
  // Lone surrogates (a string cut mid-emoji) become U+FFFD: they cannot be encoded as UTF-8, so
  // Kafka, DynamoDB and every client would otherwise each mangle them their own way.
  return text.toWellFormed().replace(/\r\n?/g, "\n").replace(STRIP, "").trim();
}

export const codePoints = (text: string) => {
  let n = 0;
  for (const _ of text) n++;
  return n;
};
