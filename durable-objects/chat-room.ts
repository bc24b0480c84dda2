import { DurableObject } from "cloudflare:workers";
import { createKafkaLog, type KafkaLog, kafkaConfig } from "../workers/lib/kafka";
import { createLogger } from "../workers/lib/logger";
import { getServices } from "../workers/lib/services";
import { type ChatIdentity, decodeIdentity, IDENTITY_HEADER } from "./chat-room/contract/identity";
import { reportUnpersisted, UNPERSISTED_ALERT_MS } from "./chat-room/contract/persistence";
import {
  CHAT_LIMITS,
  type ChatErrorCode,
  type ChatMessage,
  CLOSE,
  type ClientFrame,
  ClientFrameSchema,
  cleanText,
  codePoints,
  type OnlineUser,
  PING_FRAME,
  PONG_FRAME,
  type ServerFrame,
} from "./chat-room/contract/protocol";
import { RECHECK_MS, stillAllowed } from "./chat-room/membership";
import { type AuditEntry, type ReportRow, RoomModeration, type Sanction } from "./chat-room/moderation";
import { DRAIN_DELAY_MS, drainOutbox, RoomOutbox } from "./chat-room/outbox";
import { type GoneReason, RoomStore } from "./chat-room/store";
import { type RoomTail, roomTail } from "./chat-room/tail";
import { FLUSH_DELAY_MS, FLUSH_RETRY_MS, flushRoom } from "./chat-room/write-through";

/** Who is behind a socket; kept in the socket's attachment, so it survives hibernation. */
type Attachment = Pick<ChatIdentity, "userId" | "nickname" | "role"> & {
  /** Set when the server closes the socket (member left), so presence is announced once. */
  closing?: boolean;
  /** Epoch ms: the token's expiry, and when the membership was last confirmed (the Worker or RECHECK_MS). */
  exp?: number;
  checkedAt?: number;
  jti?: string;
};

type Close = (typeof CLOSE)[keyof typeof CLOSE];

const userTag = (userId: number) => `user:${userId}`;
/** An older Worker sends no expiry: such a socket gets one access-token lifetime (15 min). */
const LEGACY_TOKEN_MS = 15 * 60_000;
/**
 * Expiries and re-checks due within this much of each other share one wake-up: a busy room wakes at
 * most this often for them, and an idle socket closes at most this late (its frames are refused on time).
 */
const SWEEP_SLACK_MS = 30_000;
const DEFAULT_MAX_SOCKETS = 10_000;

/** The connect is refused before any socket exists; the Worker turns this into its error envelope. */
const refuse = (status: number, code: string, message: string) =>
  Response.json({ code, message }, { status });

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
  readonly #moderation: RoomModeration;
  #kafka: KafkaLog | undefined;
  /** Token buckets per frame kind and user ("send:12"): lost on eviction, when they would be full anyway. */
  readonly #buckets = new Map<string, { tokens: number; at: number }>();
  /** Refused frames in a row per socket; an accepted frame resets it. */
  readonly #refusals = new WeakMap<WebSocket, number>();
  readonly #lastTyping = new Map<number, number>();
  /** The oldest-unpersisted time last reported to Redis (the admin view); undefined after eviction. */
  #reportedOldest: number | null | undefined;
  /** When the debounced write-through is due; undefined = none pending (or unknown after eviction). */
  #flushAt: number | undefined;
  /** The alarm this instance last set, so a later need never postpones an earlier one. */
  #alarmAt: number | undefined;
  /** Whether #alarmAt is known (false after an eviction until storage was asked). */
  #alarmKnown = false;
  /** The write-through + sweep round in flight, if any (see #startUpkeep). */
  #upkeep: Promise<void> | undefined;
  #upkeepMissed = false;
  #draining: Promise<number | undefined> | undefined;
  readonly #log = createLogger({ component: "chat-room" });

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#store = new RoomStore(ctx.storage);
    this.#outbox = new RoomOutbox(ctx.storage);
    this.#moderation = new RoomModeration(ctx.storage.sql);
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(PING_FRAME, PONG_FRAME));
  }

  /** Only the Worker's chat route calls this, after it checked the token and the membership. */
  override async fetch(request: Request): Promise<Response> {
    const identity = decodeIdentity(request.headers.get(IDENTITY_HEADER));
    if (!identity || request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return new Response("internal chat connect only", { status: 400 });
    }
    const now = Date.now();
    const exp = identity.exp !== undefined ? identity.exp * 1000 : now + LEGACY_TOKEN_MS;
    // A leave or logout that reached the room after the Worker began its check may not have been
    // seen by it: the socket would outlive the membership it was checked against.
    const gone =
      identity.checkedAt !== undefined &&
      this.#store.goneSince(identity.userId, identity.jti ?? "", identity.checkedAt);
    if (gone === "left") return refuse(403, "chat.not_member", "Join the festival's chat room first");
    if (gone === "revoked" || exp <= now) {
      return refuse(401, "auth.invalid_token", "The access token is missing, expired or invalid");
    }
    if (this.#moderation.activeUntil(identity.userId, "ban", now) !== undefined) {
      return refuse(403, "chat.banned", "You are banned from this room");
    }
    if (this.#socketsOf(identity.userId).length >= CHAT_LIMITS.maxSocketsPerUser) {
      return refuse(
        429,
        "chat.too_many_sockets",
        `At most ${CHAT_LIMITS.maxSocketsPerUser} open chat connections per user and room`,
      );
    }
    const maxSockets = Number(this.env.CHAT_MAX_SOCKETS_PER_ROOM) || DEFAULT_MAX_SOCKETS;
    if (this.ctx.getWebSockets().length >= maxSockets) {
      return refuse(503, "chat.room_full", "The room is full; try again later");
    }

    this.#store.bindFestival(identity.festivalId);
    const { 0: client, 1: server } = new WebSocketPair();
    const attachment: Attachment = {
      userId: identity.userId,
      nickname: identity.nickname,
      role: identity.role,
      exp,
      checkedAt: identity.checkedAt ?? now,
      ...(identity.jti ? { jti: identity.jti } : {}),
    };
    this.ctx.acceptWebSocket(server, [userTag(identity.userId)]);
    server.serializeAttachment(attachment);

    // With `after` the welcome carries exactly what the client lacks (or nothing, when that is too
    // much to replay), so it never needs a `resume` that would repeat the welcome's messages.
    const replay = identity.after === undefined ? undefined : this.#replay(identity.after);
    this.#send(server, {
      type: "welcome",
      roomId: String(identity.festivalId),
      lastSeq: this.#store.lastSeq(),
      readSeq: Math.max(identity.readSeq, this.#store.readSeq(identity.userId)),
      online: this.#online(),
      ...(identity.after === undefined
        ? { messages: this.#moderation.present(this.#store.recent(CHAT_LIMITS.welcomeMessages)) }
        : { messages: replay ?? [], resumed: replay !== undefined }),
      pinned: this.#moderation.pinned(),
    });
    if (this.#socketsOf(identity.userId).length === 1) {
      this.#broadcast(
        { type: "presence", event: "joined", userId: identity.userId, nickname: identity.nickname },
        identity.userId,
      );
    }
    this.#wakeBy(Math.min(exp, (attachment.checkedAt ?? now) + RECHECK_MS) + SWEEP_SLACK_MS);
    const headers = identity.protocol ? { "Sec-WebSocket-Protocol": identity.protocol } : undefined;
    return new Response(null, { status: 101, webSocket: client, headers });
  }

  /** Every message after `afterSeq` if the buffer holds them all and they are few enough to replay. */
  #replay(afterSeq: number): ChatMessage[] | undefined {
    if (this.#store.lastSeq() - afterSeq > CHAT_LIMITS.replayMax) return undefined;
    const missed = this.#store.after(Math.min(afterSeq, this.#store.lastSeq()));
    return missed && this.#moderation.present(missed);
  }

  override async webSocketMessage(ws: WebSocket, raw: string | ArrayBuffer): Promise<void> {
    const me = ws.deserializeAttachment() as Attachment | null;
    if (!me || me.closing) return;
    // The sweep closes expired sockets a little late (SWEEP_SLACK_MS); their frames stop on time.
    if (me.exp !== undefined && me.exp <= Date.now()) return this.#close([ws], CLOSE.tokenExpired);
    const refusedBefore = this.#refusals.get(ws) ?? 0;
    this.#frame(ws, me, raw);
    if ((this.#refusals.get(ws) ?? 0) === refusedBefore) this.#refusals.delete(ws);
  }

  #frame(ws: WebSocket, me: Attachment, raw: string | ArrayBuffer) {
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
    if (frame.type === "send") return this.#onSend(ws, me, frame);
    // Cheap frames still cost a storage write or a broadcast each: bounded per user, like sends.
    const resume = frame.type === "resume";
    const waitMs = resume
      ? this.#takeToken(`resume:${me.userId}`, CHAT_LIMITS.resumeBurst, 1000 / CHAT_LIMITS.resumeEveryMs)
      : this.#takeToken(`chatter:${me.userId}`, CHAT_LIMITS.chatterBurst, CHAT_LIMITS.chatterPerSecond);
    if (waitMs > 0) {
      return this.#fail(ws, "frame.rate_limited", `Too many ${frame.type} frames`, { retryAfterMs: waitMs });
    }
    if (frame.type === "read") return this.#onRead(ws, me, frame.seq);
    if (frame.type === "typing") return this.#onTyping(me);
    return this.#onResume(ws, frame.afterSeq);
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
    const waitMs = this.#takeToken(`send:${me.userId}`, CHAT_LIMITS.sendBurst, CHAT_LIMITS.sendPerSecond);
    if (waitMs > 0) {
      return this.#fail(ws, "message.rate_limited", "You are sending too fast", {
        clientMsgId,
        retryAfterMs: waitMs,
      });
    }
    // After the rate limit, which still bounds a client that ignores these; they are not counted
    // as refusals: a muted or slowed member is never disconnected for trying.
    const held = this.#heldBack(me, Date.now());
    if (held) {
      return this.#send(ws, {
        type: "error",
        code: held.code,
        message: held.message,
        clientMsgId,
        ...held.extra,
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
   * Debounces: a burst of messages sets the alarm once. After an eviction the pending alarm is read
   * from storage first, so a late need (a socket's expiry) never postpones an earlier one (a drain).
   */
  #wakeBy(at: number) {
    if (this.#alarmKnown && this.#alarmAt !== undefined && this.#alarmAt <= at) return;
    void this.#setAlarmBy(at);
  }

  async #setAlarmBy(at: number) {
    if (!this.#alarmKnown) {
      const stored = await this.ctx.storage.getAlarm();
      // Another call may have set one while this read was on its way: it knows better.
      if (!this.#alarmKnown) this.#alarmAt = stored ?? undefined;
      this.#alarmKnown = true;
    }
    if (this.#alarmAt !== undefined && this.#alarmAt <= at) return;
    this.#alarmAt = at;
    await this.ctx.storage.setAlarm(at);
  }

  /**
   * The room's one alarm serves two duties, each saying when it wants to run again: the debounced
   * write-through to MySQL/Redis (cursors, summary, unread events) and the outbox drain to Kafka
   * (with its own backoff). Neither waits for the other (#startUpkeep).
   */
  override async alarm(): Promise<void> {
    this.#alarmAt = undefined;
    this.#alarmKnown = true;
    // A drain-only wake leaves a write-through that is not due yet for its own time (after an
    // eviction the due time is unknown: flush now).
    this.#startUpkeep();
    const drainAt = await this.#drain();
    if (drainAt !== undefined) this.#wakeBy(drainAt);
  }

  /**
   * The write-through and the membership sweep talk to MySQL and Redis, which can be slow under
   * load; awaited beside the drain they held the next alarm, and so the next drain to Kafka (the
   * durability path), back by as long (a bench saw 30 s). They run beside the alarm instead, one
   * round at a time, each setting its own next wake when it ends. A fallback alarm stays set while a
   * round with a known write-through runs, so an eviction mid-round still brings the room back to
   * finish it (a sweep cut short is redone by the next wake of the room).
   */
  #startUpkeep() {
    if (this.#upkeep) {
      this.#upkeepMissed = true;
      return;
    }
    const flushDue = this.#flushAt === undefined || this.#flushAt <= Date.now();
    const flushing = flushDue ? this.#flush() : Promise.resolve(this.#flushAt);
    // Only for a known write-through: that fallback's own round then finds nothing due and sets none.
    if (flushDue && this.#flushAt !== undefined) this.#wakeBy(Date.now() + FLUSH_RETRY_MS);
    if (flushDue) this.#flushAt = undefined;
    this.#upkeep = Promise.all([flushing, this.#sweep()])
      .then(([flushAt, sweepAt]) => {
        const next = Math.min(flushAt ?? Infinity, sweepAt ?? Infinity);
        if (next !== Infinity) this.#wakeBy(next);
      })
      .catch((error) => {
        this.#log.error("chat room upkeep failed; retrying", {
          error,
          room: this.#store.state()?.festivalId,
        });
        this.#wakeBy(Date.now() + FLUSH_RETRY_MS);
      })
      .finally(() => {
        this.#upkeep = undefined;
        // An alarm that came while this round ran skipped its upkeep: run it now.
        if (this.#upkeepMissed) {
          this.#upkeepMissed = false;
          this.#wakeBy(Date.now());
        }
      });
  }

  /**
   * Closes the sockets whose token expired and re-checks in MySQL the users whose membership was
   * last confirmed RECHECK_MS ago (a leave the Worker could not tell the room). Returns when it is
   * next due; none while no socket is open, so an empty room sleeps.
   */
  async #sweep(): Promise<number | undefined> {
    const now = Date.now();
    const expired: WebSocket[] = [];
    const due: WebSocket[] = [];
    let next = Infinity;
    for (const ws of this.ctx.getWebSockets()) {
      const att = ws.deserializeAttachment() as Attachment | null;
      if (!att || att.closing) continue;
      // A socket accepted by an older version carries neither time: it is treated as new here.
      const exp = att.exp ?? now + LEGACY_TOKEN_MS;
      const recheckAt = (att.checkedAt ?? now) + RECHECK_MS;
      if (exp <= now) expired.push(ws);
      else if (recheckAt <= now) due.push(ws);
      else next = Math.min(next, exp, recheckAt);
    }
    this.#close(expired, CLOSE.tokenExpired);
    const festivalId = this.#store.state()?.festivalId;
    if (due.length && festivalId !== undefined) {
      const ids = [...new Set(due.map((ws) => (ws.deserializeAttachment() as Attachment).userId))];
      try {
        const allowed = await stillAllowed(getServices(this.env), festivalId, ids);
        const checkedAt = Date.now();
        const left: WebSocket[] = [];
        for (const ws of due) {
          const att = ws.deserializeAttachment() as Attachment | null;
          if (!att || att.closing) continue;
          if (!allowed.has(att.userId)) left.push(ws);
          else {
            ws.serializeAttachment({ ...att, checkedAt });
            next = Math.min(next, att.exp ?? Infinity, checkedAt + RECHECK_MS);
          }
        }
        this.#close(left, CLOSE.left);
      } catch (error) {
        this.#log.warn("chat room: membership re-check failed; retrying", { error, room: festivalId });
        next = Math.min(next, now + FLUSH_RETRY_MS);
      }
    }
    return next === Infinity ? undefined : next + SWEEP_SLACK_MS;
  }

  /**
   * One drain at a time: two overlapping ones (an alarm run by hand in tests, or a retried alarm
   * while the previous still awaits Kafka) would both send the same unproduced rows. The consumer
   * makes a duplicate harmless, but there is no reason to make one.
   */
  #drain(): Promise<number | undefined> {
    this.#draining ??= this.#drainOnce().finally(() => {
      this.#draining = undefined;
    });
    return this.#draining;
  }

  async #drainOnce(): Promise<number | undefined> {
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
      await flushRoom(getServices(this.env), this.#store, this.#moderation);
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
    const missed = this.#replay(afterSeq);
    if (!missed) {
      return this.#fail(
        ws,
        "resume.too_old",
        "The gap is too old or too long to replay; load it from the history",
      );
    }
    for (const message of missed) this.#send(ws, { type: "message", ...message });
  }

  /** Token bucket per key; returns 0 when a token was taken, else the wait for the next one. */
  #takeToken(key: string, burst: number, perSecond: number): number {
    const now = Date.now();
    const bucket = this.#buckets.get(key) ?? { tokens: burst, at: now };
    bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) / 1000) * perSecond);
    bucket.at = now;
    this.#buckets.set(key, bucket);
    if (bucket.tokens < 1) return Math.ceil(((1 - bucket.tokens) / perSecond) * 1000);
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
    this.#gone(userId, "", "left", CLOSE.left);
  }

  /**
   * RPC from the Worker: the user's sessions ended (logout everywhere, a role or password change,
   * deletion), or with `jti` one token was logged out. Their sockets close now, and a connect that
   * was checked before this call is refused.
   */
  async revoke(userId: number, jti?: string): Promise<void> {
    this.#gone(userId, jti ?? "", "revoked", CLOSE.sessionRevoked);
  }

  #gone(userId: number, jti: string, reason: GoneReason, close: Close) {
    this.#store.recordGone(userId, jti, reason, Date.now());
    const sockets = this.#socketsOf(userId).filter(
      (ws) => !jti || (ws.deserializeAttachment() as Attachment).jti === jti,
    );
    this.#close(sockets, close);
  }

  /** RPC from the unread-push job: which of these users have a socket open here now. */
  async onlineAmong(userIds: number[]): Promise<number[]> {
    const online = new Set(this.#online().map((u) => u.userId));
    return userIds.filter((id) => online.has(id));
  }

  /** Server-side close: presence `left` goes out once for each user who has no socket left. */
  #close(sockets: WebSocket[], { code, reason }: Close) {
    const users = new Map<number, string>();
    for (const ws of sockets) {
      const att = ws.deserializeAttachment() as Attachment | null;
      if (!att || att.closing) continue;
      ws.serializeAttachment({ ...att, closing: true });
      users.set(att.userId, att.nickname);
      try {
        ws.close(code, reason);
      } catch {
        // Already closed.
      }
    }
    for (const [userId, nickname] of users) {
      if (this.#socketsOf(userId).length === 0) {
        this.#broadcast({ type: "presence", event: "left", userId, nickname }, userId);
      }
    }
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
    const tail = roomTail(this.#store, this.#outbox, before, limit);
    return { ...tail, items: this.#moderation.present(tail.items) };
  }

  // Moderation and announcements: RPCs from the Worker's staff routes, which checked who may call.

  /** A muted member, or one sending faster than slow mode allows, is answered with an error frame. */
  #heldBack(me: Attachment, now: number) {
    const mutedUntil = this.#moderation.activeUntil(me.userId, "mute", now);
    if (mutedUntil !== undefined) {
      return {
        code: "chat.muted" as const,
        message: "You are muted in this room",
        extra: Number.isFinite(mutedUntil) ? { until: new Date(mutedUntil).toISOString() } : {},
      };
    }
    const slowMs = this.#moderation.slowModeSeconds() * 1000;
    // Admins announce and answer questions at their own pace.
    if (!slowMs || me.role === "admin") return undefined;
    const wait = (this.#store.lastSentAt(me.userId) ?? 0) + slowMs - now;
    if (wait <= 0) return undefined;
    return {
      code: "chat.slow_mode" as const,
      message: "Slow mode is on: wait before sending again",
      extra: { retryAfterMs: wait },
    };
  }

  #audit(entry: AuditEntry) {
    this.#moderation.audit(entry, Date.now());
    // Ids only: a reason or a message's text stays in the room's audit table, out of the logs.
    this.#log.info("chat moderation", { room: this.#store.state()?.festivalId, ...entry });
  }

  /** Tombstones a message for every client and the history; the original stays stored for audit. */
  async deleteMessage(seq: number, actorId: number): Promise<"deleted" | "already" | "not_found"> {
    if (seq < 1 || seq > this.#store.lastSeq()) return "not_found";
    if (!this.#moderation.markDeleted(seq, actorId, Date.now())) return "already";
    this.#audit({ action: "delete", actorId, seq });
    this.#broadcast({ type: "deleted", seq });
    return "deleted";
  }

  /** Which of the seqs in this range were deleted: the history route masks DynamoDB's copies with it. */
  async deletedIn(fromSeq: number, toSeq: number): Promise<number[]> {
    return this.#moderation.deletedIn(fromSeq, toSeq);
  }

  /** `until` epoch ms, null = until lifted. A ban closes the user's sockets and refuses their connects. */
  async sanction(userId: number, kind: Sanction, until: number | null, actorId: number): Promise<void> {
    this.#moderation.sanction(userId, kind, until, actorId);
    this.#audit({
      action: kind,
      actorId,
      targetUserId: userId,
      detail: until === null ? "indefinite" : new Date(until).toISOString(),
    });
    if (kind === "ban") this.#close(this.#socketsOf(userId), CLOSE.banned);
  }

  async liftSanction(userId: number, kind: Sanction, actorId: number): Promise<void> {
    this.#moderation.lift(userId, kind);
    this.#audit({ action: kind === "ban" ? "unban" : "unmute", actorId, targetUserId: userId });
  }

  async setSlowMode(seconds: number, actorId: number): Promise<void> {
    this.#moderation.setSlowMode(seconds);
    this.#audit({ action: "slow_mode", actorId, detail: String(seconds) });
  }

  /** Posts an organiser's announcement as a message of the room, pinned; offline members get a push. */
  async announce(
    festivalId: number,
    author: { userId: number; nickname: string },
    text: string,
  ): Promise<ChatMessage> {
    this.#store.bindFestival(festivalId);
    const now = Date.now();
    // No await between the two writes: the runtime commits them together.
    const message = this.#store.append(
      author,
      text,
      `announcement:${crypto.randomUUID()}`,
      now,
      "announcement",
    );
    this.#moderation.announce(message);
    this.#audit({ action: "announce", actorId: author.userId, seq: message.seq });
    this.#broadcast({ type: "message", ...message });
    this.#flushBy(now + FLUSH_DELAY_MS);
    this.#wakeBy(now + DRAIN_DELAY_MS);
    return message;
  }

  async pinned(): Promise<ChatMessage | null> {
    return this.#moderation.pinned();
  }

  /** False when this member had reported the message already; undefined when no such message exists. */
  async report(seq: number, reporterId: number, reason: string): Promise<boolean | undefined> {
    if (seq < 1 || seq > this.#store.lastSeq()) return undefined;
    const added = this.#moderation.report(seq, reporterId, reason, Date.now());
    if (added) this.#audit({ action: "report", actorId: reporterId, seq });
    return added;
  }

  /** Staff's view: the reports, each with the original message while the room still holds it. */
  async reports(before: number, limit: number): Promise<(ReportRow & { message: ChatMessage | null })[]> {
    return this.#moderation.reports(before, limit).map((r) => {
      const [held] = this.#store.below(r.seq + 1, 1);
      return { ...r, message: held?.seq === r.seq ? held : null };
    });
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
    extra: { clientMsgId?: string; retryAfterMs?: number; until?: string } = {},
  ) {
    this.#send(ws, { type: "error", code, message, ...extra });
    // A client that ignores its errors (retryAfterMs) and keeps sending is not a client we serve.
    const refusals = (this.#refusals.get(ws) ?? 0) + 1;
    this.#refusals.set(ws, refusals);
    if (refusals >= CHAT_LIMITS.refusalsBeforeClose) this.#close([ws], CLOSE.abuse);
  }
}
