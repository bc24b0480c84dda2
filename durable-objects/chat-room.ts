import { DurableObject } from "cloudflare:workers";
import { createKafkaLog, type KafkaLog, kafkaConfig } from "../workers/lib/kafka";
import { createLogger } from "../workers/lib/logger";
import { getServices } from "../workers/lib/services";
import { type ChatIdentity, decodeIdentity, IDENTITY_HEADER } from "./chat-room/contract/identity";
import { reportUnpersisted, UNPERSISTED_ALERT_MS } from "./chat-room/contract/persistence";
import {
  CHAT_LIMITS,
  type ChatErrorCode,
  type ClientFrame,
  ClientFrameSchema,
  cleanText,
  codePoints,
  type OnlineUser,
  PING_FRAME,
  PONG_FRAME,
  type ServerFrame,
} from "./chat-room/contract/protocol";
import { DRAIN_DELAY_MS, drainOutbox, RoomOutbox } from "./chat-room/outbox";
import { RoomStore } from "./chat-room/store";
import { type RoomTail, roomTail } from "./chat-room/tail";
import { FLUSH_DELAY_MS, FLUSH_RETRY_MS, flushRoom } from "./chat-room/write-through";

/** Who is behind a socket; kept in the socket's attachment, so it survives hibernation. */
type Attachment = Pick<ChatIdentity, "userId" | "nickname" | "role"> & {
  /** Set when the server closes the socket (member left), so presence is announced once. */
  closing?: boolean;
};

const userTag = (userId: number) => `user:${userId}`;

/**
 * One festival chat room. Sockets use the Hibernation API: an idle room is evicted from memory at no
 * cost while its sockets stay open. Durable state (seq, recent buffer, cursors, outbox) is in SQLite;
 * memory holds only what may be lost on eviction: send buckets and typing throttles.
 *
 * A message's life reads top to bottom below: received (webSocketMessage) → given the next seq and
 * stored with its outbox row in one transaction (#onSend → store.append) → acked → broadcast → drained
 * to Kafka by the alarm (#drain) → dropped once the consumer reports it in DynamoDB (markPersisted).
 * The modules only this class runs sit in ./chat-room/; ./chat-room/contract/ is what the Worker
 * shares with it (socket frames, the connect header, the unread events it publishes).
 */
export class ChatRoom extends DurableObject<Env> {
  readonly #store: RoomStore;
  readonly #outbox: RoomOutbox;
  #kafka: KafkaLog | undefined;
  readonly #buckets = new Map<number, { tokens: number; at: number }>();
  readonly #lastTyping = new Map<number, number>();
  /** The oldest-unpersisted time last reported to Redis (the admin view); undefined after eviction. */
  #reportedOldest: number | null | undefined;
  /** When the debounced write-through is due; undefined = none pending (or unknown after eviction). */
  #flushAt: number | undefined;
  /** The alarm this instance last set, so a later need never postpones an earlier one. */
  #alarmAt: number | undefined;
  readonly #log = createLogger({ component: "chat-room" });

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#store = new RoomStore(ctx.storage);
    this.#outbox = new RoomOutbox(ctx.storage);
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(PING_FRAME, PONG_FRAME));
  }

  /** Only the Worker's chat route calls this, after it checked the token and the membership. */
  override async fetch(request: Request): Promise<Response> {
    const identity = decodeIdentity(request.headers.get(IDENTITY_HEADER));
    if (!identity || request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return new Response("internal chat connect only", { status: 400 });
    }
    this.#store.bindFestival(identity.festivalId);
    const { 0: client, 1: server } = new WebSocketPair();
    const attachment: Attachment = {
      userId: identity.userId,
      nickname: identity.nickname,
      role: identity.role,
    };
    this.ctx.acceptWebSocket(server, [userTag(identity.userId)]);
    server.serializeAttachment(attachment);

    this.#send(server, {
      type: "welcome",
      roomId: String(identity.festivalId),
      lastSeq: this.#store.lastSeq(),
      readSeq: Math.max(identity.readSeq, this.#store.readSeq(identity.userId)),
      online: this.#online(),
      messages: this.#store.recent(CHAT_LIMITS.welcomeMessages),
    });
    if (this.#socketsOf(identity.userId).length === 1) {
      this.#broadcast(
        { type: "presence", event: "joined", userId: identity.userId, nickname: identity.nickname },
        identity.userId,
      );
    }
    const headers = identity.protocol ? { "Sec-WebSocket-Protocol": identity.protocol } : undefined;
    return new Response(null, { status: 101, webSocket: client, headers });
  }

  override async webSocketMessage(ws: WebSocket, raw: string | ArrayBuffer): Promise<void> {
    const me = ws.deserializeAttachment() as Attachment | null;
    if (!me || me.closing) return;
    if (typeof raw !== "string") return this.#fail(ws, "frame.invalid", "Frames are JSON text");
    if (raw.length > CHAT_LIMITS.maxFrameChars)
      return this.#fail(ws, "frame.too_large", "The frame is too large");
    let data: unknown;
    try {
      data = JSON.parse(raw);
    } catch {
      return this.#fail(ws, "frame.invalid", "The frame is not JSON");
    }
    const parsed = ClientFrameSchema.safeParse(data);
    if (!parsed.success) {
      return this.#fail(ws, "frame.invalid", "Unknown frame type or malformed fields");
    }
    try {
      this.#handle(ws, me, parsed.data);
    } catch (error) {
      // A storage failure rolled its transaction back: nothing was acked, the client may retry.
      this.#log.error("chat frame failed", { error, type: parsed.data.type, userId: me.userId });
      this.#fail(ws, "internal", "Something went wrong on our side; retry");
    }
  }

  #handle(ws: WebSocket, me: Attachment, frame: ClientFrame) {
    switch (frame.type) {
      case "send":
        return this.#onSend(ws, me, frame);
      case "read":
        return this.#onRead(ws, me, frame.seq);
      case "typing":
        return this.#onTyping(me);
      case "resume":
        return this.#onResume(ws, frame.afterSeq);
    }
  }

  #onSend(ws: WebSocket, me: Attachment, frame: Extract<ClientFrame, { type: "send" }>) {
    const { clientMsgId } = frame;
    const text = cleanText(frame.text);
    if (!text) return this.#fail(ws, "message.empty", "The message is empty", { clientMsgId });
    if (codePoints(text) > CHAT_LIMITS.maxTextChars) {
      return this.#fail(
        ws,
        "message.too_long",
        `Messages are at most ${CHAT_LIMITS.maxTextChars} characters`,
        {
          clientMsgId,
        },
      );
    }
    // A retry is answered before the rate limit: it costs nothing, and the client is owed its ack.
    const seq = this.#store.sentSeq(me.userId, clientMsgId);
    if (seq !== undefined) return this.#send(ws, { type: "ack", clientMsgId, seq });
    const waitMs = this.#takeToken(me.userId);
    if (waitMs > 0) {
      return this.#fail(ws, "message.rate_limited", "You are sending too fast", {
        clientMsgId,
        retryAfterMs: waitMs,
      });
    }
    // One transaction: the next seq, the buffer and dedupe rows, and the outbox row. The runtime's
    // output gate holds the ack until that write is durable, so an acked message is never lost.
    const message = this.#store.append(me, text, clientMsgId, Date.now());
    this.#send(ws, { type: "ack", clientMsgId, seq: message.seq });
    this.#broadcast({ type: "message", ...message });
    // The alarm takes it on to Kafka soon, and the room summary to MySQL within a second, off the
    // sender's path.
    this.#flushBy(Date.now() + FLUSH_DELAY_MS);
    this.#wakeBy(Date.now() + DRAIN_DELAY_MS);
  }

  /** The write-through is due by `at`; a due time already set stays (the debounce). */
  #flushBy(at: number) {
    this.#flushAt ??= at;
    this.#wakeBy(this.#flushAt);
  }

  /**
   * Debounces: a burst of messages sets the alarm once. After an eviction #alarmAt is unknown, so the
   * first call may move a pending alarm by up to FLUSH_DELAY_MS; each duty re-arms itself anyway.
   */
  #wakeBy(at: number) {
    if (this.#alarmAt !== undefined && this.#alarmAt <= at) return;
    this.#alarmAt = at;
    void this.ctx.storage.setAlarm(at);
  }

  /**
   * The room's one alarm serves two duties, each saying when it wants to run again: the debounced
   * write-through to MySQL/Redis (cursors, summary, unread events) and the outbox drain to Kafka
   * (with its own backoff). Neither waits for the other.
   */
  override async alarm(): Promise<void> {
    this.#alarmAt = undefined;
    // A drain-only wake leaves a write-through that is not due yet for its own time (after an
    // eviction the due time is unknown: flush now).
    const flushDue = this.#flushAt === undefined || this.#flushAt <= Date.now();
    const flushing = flushDue ? this.#flush() : Promise.resolve(this.#flushAt);
    if (flushDue) this.#flushAt = undefined;
    const [flushAt, drainAt] = await Promise.all([flushing, this.#drain()]);
    const next = Math.min(flushAt ?? Infinity, drainAt ?? Infinity);
    if (next !== Infinity) this.#wakeBy(next);
  }

  async #drain(): Promise<number | undefined> {
    this.#kafka ??= createKafkaLog(kafkaConfig(this.env));
    const room = this.#store.state()?.festivalId;
    const next = await drainOutbox(
      this.#outbox,
      this.#kafka,
      this.env.KAFKA_TOPIC,
      (error, state) =>
        this.#log.warn("chat outbox drain failed; backing off", {
          error,
          room,
          failures: state.failures,
          retryInMs: state.retryAt - Date.now(),
        }),
      (seq, error) =>
        this.#log.error("ALERT chat outbox: Kafka refused a message for good; dead-lettered", {
          error,
          room,
          seq,
        }),
    );
    await this.#reportOldest();
    return next;
  }

  /** RPC from the chat consumer: every message of this room up to `seq` is in DynamoDB. */
  async markPersisted(seq: number): Promise<void> {
    // A forged or foreign record can name any seq; past the last one it would hide later messages.
    this.#outbox.markPersisted(Math.min(seq, this.#store.lastSeq()));
    await this.#reportOldest();
  }

  /** Keeps the admin view of this room's oldest unpersisted message current; warns when it is old. */
  async #reportOldest(): Promise<void> {
    const oldest = this.#outbox.oldestUnpersistedAt() ?? null;
    const room = this.#store.state()?.festivalId;
    if (oldest !== null && Date.now() - oldest > UNPERSISTED_ALERT_MS) {
      this.#log.warn("ALERT chat outbox: messages not in DynamoDB for long", {
        room,
        ageMs: Date.now() - oldest,
      });
    }
    if (oldest === this.#reportedOldest || room === undefined) return;
    try {
      await reportUnpersisted(getServices(this.env), String(room), oldest ?? undefined);
      this.#reportedOldest = oldest;
    } catch (error) {
      this.#log.warn("chat room: could not report its unpersisted messages", { error, room });
    }
  }

  async #flush(): Promise<number | undefined> {
    try {
      await flushRoom(getServices(this.env), this.#store, new Set(this.#online().map((u) => u.userId)));
      this.#store.pruneSentIds(Date.now() - CHAT_LIMITS.dedupeWindowMs);
      return undefined;
    } catch (error) {
      // Our own retry, not the runtime's: it gives up after a few attempts, and nothing here may be lost.
      this.#log.error("chat room flush failed; retrying", { error, room: this.#store.state()?.festivalId });
      return Date.now() + FLUSH_RETRY_MS;
    }
  }

  // The other frames: read cursors, typing, resume.

  #onRead(ws: WebSocket, me: Attachment, seq: number) {
    if (seq > this.#store.lastSeq()) return this.#fail(ws, "read.invalid_seq", "No message has this seq yet");
    if (this.#store.advanceRead(me.userId, seq)) this.#flushBy(Date.now() + FLUSH_DELAY_MS);
  }

  #onTyping(me: Attachment) {
    const now = Date.now();
    if (now - (this.#lastTyping.get(me.userId) ?? 0) < CHAT_LIMITS.typingEveryMs) return;
    this.#lastTyping.set(me.userId, now);
    this.#broadcast({ type: "typing", userId: me.userId }, me.userId);
  }

  #onResume(ws: WebSocket, afterSeq: number) {
    if (afterSeq > this.#store.lastSeq())
      return this.#fail(ws, "resume.invalid_seq", "No message has this seq yet");
    const missed = this.#store.after(afterSeq);
    if (!missed) {
      return this.#fail(
        ws,
        "resume.too_old",
        "The gap is older than the recent buffer; load it from the history",
      );
    }
    for (const message of missed) this.#send(ws, { type: "message", ...message });
  }

  /** Token bucket per user; returns 0 when a token was taken, else the wait for the next one. */
  #takeToken(userId: number): number {
    const now = Date.now();
    const { sendBurst, sendPerSecond } = CHAT_LIMITS;
    const bucket = this.#buckets.get(userId) ?? { tokens: sendBurst, at: now };
    bucket.tokens = Math.min(sendBurst, bucket.tokens + ((now - bucket.at) / 1000) * sendPerSecond);
    bucket.at = now;
    this.#buckets.set(userId, bucket);
    if (bucket.tokens < 1) return Math.ceil(((1 - bucket.tokens) / sendPerSecond) * 1000);
    bucket.tokens -= 1;
    return 0;
  }

  // Sockets and members leaving.

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    this.#departed(ws);
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code, reason);
    } catch {
      // Already closed.
    }
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    this.#departed(ws);
  }

  /** RPC from the Worker: the user is no longer a member; their sockets here close now. */
  async memberLeft(userId: number, anonymizeAs?: string): Promise<void> {
    if (anonymizeAs) this.#store.anonymize(userId, anonymizeAs);
    const sockets = this.#socketsOf(userId);
    for (const ws of sockets) {
      const att = ws.deserializeAttachment() as Attachment;
      ws.serializeAttachment({ ...att, closing: true });
      ws.close(4003, "left the room");
    }
    const first = sockets[0]?.deserializeAttachment() as Attachment | undefined;
    if (first) this.#broadcast({ type: "presence", event: "left", userId, nickname: first.nickname }, userId);
  }

  #departed(ws: WebSocket) {
    const me = ws.deserializeAttachment() as Attachment | null;
    if (!me || me.closing) return;
    ws.serializeAttachment({ ...me, closing: true });
    if (this.#socketsOf(me.userId).length === 0) {
      this.#broadcast(
        { type: "presence", event: "left", userId: me.userId, nickname: me.nickname },
        me.userId,
      );
    }
  }

  /** RPC from the history endpoint: the part of the history that DynamoDB may not have yet. */
  async history(before: number, limit: number): Promise<RoomTail> {
    return roomTail(this.#store, this.#outbox, before, limit);
  }

  /** Open sockets of a user, not counting those being closed. */
  #socketsOf(userId: number): WebSocket[] {
    return this.ctx
      .getWebSockets(userTag(userId))
      .filter((ws) => !(ws.deserializeAttachment() as Attachment | null)?.closing);
  }

  #online(): OnlineUser[] {
    const seen = new Map<number, OnlineUser>();
    for (const ws of this.ctx.getWebSockets()) {
      const att = ws.deserializeAttachment() as Attachment | null;
      if (att && !att.closing) seen.set(att.userId, { userId: att.userId, nickname: att.nickname });
    }
    return [...seen.values()];
  }

  #broadcast(frame: ServerFrame, exceptUserId?: number) {
    const data = JSON.stringify(frame);
    for (const ws of this.ctx.getWebSockets()) {
      const att = ws.deserializeAttachment() as Attachment | null;
      if (!att || att.closing || att.userId === exceptUserId) continue;
      try {
        ws.send(data);
      } catch {
        // A socket that is going away; its close event tidies up.
      }
    }
  }

  #send(ws: WebSocket, frame: ServerFrame) {
    try {
      ws.send(JSON.stringify(frame));
    } catch {
      // Closed meanwhile.
    }
  }

  #fail(
    ws: WebSocket,
    code: ChatErrorCode,
    message: string,
    extra: { clientMsgId?: string; retryAfterMs?: number } = {},
  ) {
    this.#send(ws, { type: "error", code, message, ...extra });
  }
}
