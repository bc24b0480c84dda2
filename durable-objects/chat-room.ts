import { DurableObject } from "cloudflare:workers";
import { createKafkaLog, type KafkaLog, kafkaConfig } from "../workers/lib/kafka";
import { createLogger } from "../workers/lib/logger";
import { getServices } from "../workers/lib/services";
import {
  type ChatIdentity,
  decodeIdentity,
  IDENTITY_HEADER,
  PLACES_SHARDS_HEADER,
  SHARD_HEADER,
  shardName,
} from "./chat-room/contract/identity";
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
import { type AuditEntry, type ReportRow, RoomModeration, type Sanction } from "./chat-room/moderation";
import { DRAIN_DELAY_MS, drainOutbox, RoomOutbox } from "./chat-room/outbox";
import { RoomShards, type ShardPeer, shardLimits } from "./chat-room/shards";
import { Single } from "./chat-room/single";
import {
  type Attachment,
  attachmentFor,
  attachmentOf,
  type Close,
  SocketSet,
  sweepAt,
} from "./chat-room/sockets";
import { type GoneReason, RoomStore } from "./chat-room/store";
import { type RoomTail, roomTail } from "./chat-room/tail";
import { FLUSH_DELAY_MS, FLUSH_RETRY_MS, flushRoom } from "./chat-room/write-through";

const DEFAULT_MAX_SOCKETS = 10_000;

/** The connect is refused before any socket exists; the Worker turns this into its error envelope. */
const refuse = ({ status, code, message }: Refusal) => Response.json({ code, message }, { status });

/** Why a connect is refused, before any socket exists. */
export interface Refusal {
  status: 401 | 403 | 429 | 503;
  code: string;
  message: string;
}

/** The admin view of a room's fan-out (GET /v1/admin/chat/rooms/{id}); counters since the object was loaded. */
export interface RoomFanout {
  roomSockets: number;
  shards: { shard: number; sockets: number }[];
  messagesAccepted: number;
  socketFramesSent: number;
  shardCalls: number;
  shardFramesDropped: number;
}

/** A shard's connect, as the room answers it (./chat-room/shard.ts). */
export type Admission =
  | { ok: true; welcome: Extract<ServerFrame, { type: "welcome" }> }
  | ({ ok: false } & Refusal);

/**
 * Where a frame came from and how to answer it: a socket of this object, or one on a shard (the
 * answers then travel back in the RPC's result).
 */
interface Peer {
  me: Attachment;
  reply(frame: ServerFrame): void;
  /** The frame was refused (#fail): the socket's holder counts these and closes an abusive socket. */
  refused(): void;
}

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
  /** The sockets this object holds itself, and the shards that hold the rest of a large room's. */
  readonly #sockets: SocketSet;
  readonly #shards: RoomShards;
  #kafka: KafkaLog | undefined;
  /** Token buckets per frame kind and user ("send:12"): lost on eviction, when they would be full anyway. */
  readonly #buckets = new Map<string, { tokens: number; at: number }>();
  readonly #lastTyping = new Map<number, number>();
  /** The oldest-unpersisted time last reported to Redis (the admin view); undefined after eviction. */
  #reportedOldest: number | null | undefined;
  /** When the debounced write-through is due; undefined = none pending (or unknown after eviction). */
  #flushAt: number | undefined;
  /** The alarm this instance last set, so a later need never postpones an earlier one. */
  #alarmAt: number | undefined;
  /** Whether #alarmAt is known (false after an eviction until storage was asked). */
  #alarmKnown = false;
  /** The write-through + sweep round (see #upkeepOnce) and the Kafka drain: one of each at a time. */
  readonly #upkeep = new Single(
    () => this.#upkeepOnce(),
    () => this.#wakeBy(Date.now()),
  );
  readonly #drain = new Single(() => this.#drainOnce());
  /** Messages accepted since this object was loaded (the admin view's fan-out per message). */
  #accepted = 0;
  readonly #log = createLogger({ component: "chat-room" });

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#store = new RoomStore(ctx.storage);
    this.#outbox = new RoomOutbox(ctx.storage);
    this.#moderation = new RoomModeration(ctx.storage.sql);
    this.#sockets = new SocketSet(ctx);
    const shards = env.CHAT_SHARD as DurableObjectNamespace<ShardPeer & Rpc.DurableObjectBranded>;
    this.#shards = new RoomShards(ctx.storage.sql, (n) => {
      const festivalId = this.#store.state()?.festivalId;
      return shards.get(shards.idFromName(shardName(festivalId ?? 0, n)));
    });
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(PING_FRAME, PONG_FRAME));
  }

  /**
   * Only the Worker's chat route calls this, after it checked the token and the membership. Past
   * CHAT_ROOM_SOCKETS the answer is a 307 naming a shard, for a Worker that can follow it.
   */
  override async fetch(request: Request): Promise<Response> {
    const identity = decodeIdentity(request.headers.get(IDENTITY_HEADER));
    if (!identity || request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return new Response("internal chat connect only", { status: 400 });
    }
    const now = Date.now();
    const refusal = this.#refusal(identity, now);
    if (refusal) return refuse(refusal);
    this.#store.bindFestival(identity.festivalId);
    const limits = shardLimits(this.env);
    if (
      request.headers.get(PLACES_SHARDS_HEADER) === "1" &&
      this.ctx.getWebSockets().length >= limits.roomSockets
    ) {
      return new Response(null, {
        status: 307,
        headers: { [SHARD_HEADER]: String(this.#shards.place(limits)) },
      });
    }

    const { 0: client, 1: server } = new WebSocketPair();
    const attachment = attachmentFor(identity, now);
    this.#sockets.accept(server, attachment);
    this.#reply(server, this.#welcome(identity));
    this.#joined(identity);
    this.#wakeBy(sweepAt(attachment, now));
    const headers = identity.protocol ? { "Sec-WebSocket-Protocol": identity.protocol } : undefined;
    return new Response(null, { status: 101, webSocket: client, headers });
  }

  /** RPC from a shard: the Worker sent this connect there (the room's 307); admitted, it counts here. */
  async admit(shard: number, identity: ChatIdentity): Promise<Admission> {
    const refusal = this.#refusal(identity, Date.now());
    if (refusal) return { ok: false, ...refusal };
    this.#store.bindFestival(identity.festivalId);
    this.#shards.added(shard, identity.userId, identity.nickname);
    const welcome = this.#welcome(identity);
    this.#joined(identity);
    return { ok: true, welcome };
  }

  /** The checks every connect passes, wherever its socket will be held. */
  #refusal(identity: ChatIdentity, now: number): Refusal | undefined {
    const exp = attachmentFor(identity, now).exp ?? now;
    const shut = this.#shut(identity, now);
    if (shut === "left")
      return { status: 403, code: "chat.not_member", message: "Join the festival's chat room first" };
    if (shut === "revoked" || exp <= now) {
      return {
        status: 401,
        code: "auth.invalid_token",
        message: "The access token is missing, expired or invalid",
      };
    }
    if (shut === "banned") {
      return { status: 403, code: "chat.banned", message: "You are banned from this room" };
    }
    if (this.#socketCount(identity.userId) >= CHAT_LIMITS.maxSocketsPerUser) {
      return {
        status: 429,
        code: "chat.too_many_sockets",
        message: `At most ${CHAT_LIMITS.maxSocketsPerUser} open chat connections per user and room`,
      };
    }
    const maxSockets = Number(this.env.CHAT_MAX_SOCKETS_PER_ROOM) || DEFAULT_MAX_SOCKETS;
    if (this.ctx.getWebSockets().length + this.#shards.total() >= maxSockets) {
      return { status: 503, code: "chat.room_full", message: "The room is full; try again later" };
    }
    return undefined;
  }

  /**
   * Why this user's socket may not open or stay open: a leave or revocation after `checkedAt` (a
   * connect's check, or a socket's last membership check), else a ban. Shared by connects (#refusal)
   * and frames forwarded by a shard (receive), so the two cannot drift.
   */
  #shut(
    who: Pick<ChatIdentity, "userId" | "jti" | "checkedAt">,
    now: number,
  ): GoneReason | "banned" | undefined {
    // A leave or logout that reached the room after the Worker began its check may not have been
    // seen by it: the socket would outlive the membership it was checked against.
    const gone =
      who.checkedAt !== undefined
        ? this.#store.goneSince(who.userId, who.jti ?? "", who.checkedAt)
        : undefined;
    if (gone) return gone;
    return this.#moderation.activeUntil(who.userId, "ban", now) !== undefined ? "banned" : undefined;
  }

  /**
   * With `after` the welcome carries exactly what the client lacks (or nothing, when that is too
   * much to replay), so it never needs a `resume` that would repeat the welcome's messages.
   */
  #welcome(identity: ChatIdentity): Extract<ServerFrame, { type: "welcome" }> {
    const replay = identity.after === undefined ? undefined : this.#replay(identity.after);
    return {
      type: "welcome",
      roomId: String(identity.festivalId),
      lastSeq: this.#store.lastSeq(),
      readSeq: Math.max(identity.readSeq, this.#store.readSeq(identity.userId)),
      online: this.#online(),
      ...(identity.after === undefined
        ? { messages: this.#moderation.present(this.#store.recent(CHAT_LIMITS.welcomeMessages)) }
        : { messages: replay ?? [], resumed: replay !== undefined }),
      pinned: this.#moderation.pinned(),
    };
  }

  /** Presence `joined` once per user: for their first socket anywhere in the room. */
  #joined(identity: ChatIdentity) {
    if (this.#socketCount(identity.userId) !== 1) return;
    this.#broadcast(
      { type: "presence", event: "joined", userId: identity.userId, nickname: identity.nickname },
      identity.userId,
    );
  }

  /** Every message after `afterSeq` if the buffer holds them all and they are few enough to replay. */
  #replay(afterSeq: number): ChatMessage[] | undefined {
    if (this.#store.lastSeq() - afterSeq > CHAT_LIMITS.replayMax) return undefined;
    const missed = this.#store.after(Math.min(afterSeq, this.#store.lastSeq()));
    return missed && this.#moderation.present(missed);
  }

  override async webSocketMessage(ws: WebSocket, raw: string | ArrayBuffer): Promise<void> {
    const me = attachmentOf(ws);
    if (!me || me.closing) return;
    // The sweep closes expired sockets a little late (SWEEP_SLACK_MS); their frames stop on time.
    if (me.exp !== undefined && me.exp <= Date.now()) return this.#close([ws], CLOSE.tokenExpired);
    let refused = false;
    this.#frame({ me, reply: (f) => this.#reply(ws, f), refused: () => (refused = true) }, raw);
    this.#sockets.refused(ws, refused, (sockets, close) => this.#close(sockets, close));
  }

  /** RPC from a shard: a frame from one of its sockets; the answers go back to that socket. */
  async receive(me: Attachment, raw: string | ArrayBuffer): Promise<{ replies: string[]; refused: boolean }> {
    const replies: string[] = [];
    let refused = false;
    // A socket the room told its shard to close (a ban, a leave) may still have frames on the way.
    if (this.#shut(me, Date.now())) return { replies, refused };
    this.#frame({ me, reply: (f) => replies.push(JSON.stringify(f)), refused: () => (refused = true) }, raw);
    return { replies, refused };
  }

  #frame(peer: Peer, raw: string | ArrayBuffer) {
    if (typeof raw !== "string") return this.#fail(peer, "frame.invalid", "Frames are JSON text");
    if (raw.length > CHAT_LIMITS.maxFrameChars)
      return this.#fail(peer, "frame.too_large", "The frame is too large");
    let data: unknown;
    try {
      data = JSON.parse(raw);
    } catch {
      return this.#fail(peer, "frame.invalid", "The frame is not JSON");
    }
    const parsed = ClientFrameSchema.safeParse(data);
    if (!parsed.success) {
      return this.#fail(peer, "frame.invalid", "Unknown frame type or malformed fields");
    }
    try {
      this.#handle(peer, parsed.data);
    } catch (error) {
      // A storage failure rolled its transaction back: nothing was acked, the client may retry.
      this.#log.error("chat frame failed", { error, type: parsed.data.type, userId: peer.me.userId });
      this.#fail(peer, "internal", "Something went wrong on our side; retry");
    }
  }

  #handle(peer: Peer, frame: ClientFrame) {
    const { me } = peer;
    if (frame.type === "send") return this.#onSend(peer, frame);
    // Cheap frames still cost a storage write or a broadcast each: bounded per user, like sends.
    const resume = frame.type === "resume";
    const waitMs = resume
      ? this.#takeToken(`resume:${me.userId}`, CHAT_LIMITS.resumeBurst, 1000 / CHAT_LIMITS.resumeEveryMs)
      : this.#takeToken(`chatter:${me.userId}`, CHAT_LIMITS.chatterBurst, CHAT_LIMITS.chatterPerSecond);
    if (waitMs > 0) {
      return this.#fail(peer, "frame.rate_limited", `Too many ${frame.type} frames`, {
        retryAfterMs: waitMs,
      });
    }
    if (frame.type === "read") return this.#onRead(peer, frame.seq);
    if (frame.type === "typing") return this.#onTyping(me);
    return this.#onResume(peer, frame.afterSeq);
  }

  #onSend(peer: Peer, frame: Extract<ClientFrame, { type: "send" }>) {
    const { me } = peer;
    const { clientMsgId } = frame;
    const text = cleanText(frame.text);
    if (!text) return this.#fail(peer, "message.empty", "The message is empty", { clientMsgId });
    if (codePoints(text) > CHAT_LIMITS.maxTextChars) {
      return this.#fail(
        peer,
        "message.too_long",
        `Messages are at most ${CHAT_LIMITS.maxTextChars} characters`,
        {
          clientMsgId,
        },
      );
    }
    // A retry is answered before the rate limit: it costs nothing, and the client is owed its ack.
    const seq = this.#store.sentSeq(me.userId, clientMsgId);
    if (seq !== undefined) return peer.reply({ type: "ack", clientMsgId, seq });
    const waitMs = this.#takeToken(
      `send:${me.userId}`,
      Number(this.env.CHAT_SEND_BURST) || CHAT_LIMITS.sendBurst,
      Number(this.env.CHAT_SEND_PER_SECOND) || CHAT_LIMITS.sendPerSecond,
    );
    if (waitMs > 0) {
      return this.#fail(peer, "message.rate_limited", "You are sending too fast", {
        clientMsgId,
        retryAfterMs: waitMs,
      });
    }
    // After the rate limit, which still bounds a client that ignores these; they are not counted
    // as refusals: a muted or slowed member is never disconnected for trying.
    const held = this.#heldBack(me, Date.now());
    if (held) {
      return peer.reply({
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
    this.#accepted++;
    peer.reply({ type: "ack", clientMsgId, seq: message.seq });
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
   * (with its own backoff). Neither waits for the other (#upkeepOnce).
   */
  override async alarm(): Promise<void> {
    this.#alarmAt = undefined;
    this.#alarmKnown = true;
    // A drain-only wake leaves a write-through that is not due yet for its own time (after an
    // eviction the due time is unknown: flush now).
    void this.#upkeep.run();
    const drainAt = await this.#drain.run();
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
  #upkeepOnce(): Promise<void> {
    const flushDue = this.#flushAt === undefined || this.#flushAt <= Date.now();
    const flushing = flushDue ? this.#flush() : Promise.resolve(this.#flushAt);
    // Only for a known write-through: that fallback's own round then finds nothing due and sets none.
    if (flushDue && this.#flushAt !== undefined) this.#wakeBy(Date.now() + FLUSH_RETRY_MS);
    if (flushDue) this.#flushAt = undefined;
    const sweeping = this.#sockets.sweep(
      this.env,
      this.#store.state()?.festivalId,
      (sockets, close) => this.#close(sockets, close),
      FLUSH_RETRY_MS,
    );
    return Promise.all([flushing, sweeping])
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
      });
  }

  /**
   * One drain at a time (#drain): two overlapping ones (an alarm run by hand in tests, or a retried
   * alarm while the previous still awaits Kafka) would both send the same unproduced rows. The
   * consumer makes a duplicate harmless, but there is no reason to make one.
   */
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

  #onRead(peer: Peer, seq: number) {
    if (seq > this.#store.lastSeq())
      return this.#fail(peer, "read.invalid_seq", "No message has this seq yet");
    if (this.#store.advanceRead(peer.me.userId, seq)) this.#flushBy(Date.now() + FLUSH_DELAY_MS);
  }

  #onTyping(me: Attachment) {
    const now = Date.now();
    if (now - (this.#lastTyping.get(me.userId) ?? 0) < CHAT_LIMITS.typingEveryMs) return;
    this.#lastTyping.set(me.userId, now);
    this.#broadcast({ type: "typing", userId: me.userId }, me.userId);
  }

  #onResume(peer: Peer, afterSeq: number) {
    if (afterSeq > this.#store.lastSeq())
      return this.#fail(peer, "resume.invalid_seq", "No message has this seq yet");
    const missed = this.#replay(afterSeq);
    if (!missed) {
      return this.#fail(
        peer,
        "resume.too_old",
        "The gap is too old or too long to replay; load it from the history",
      );
    }
    for (const message of missed) peer.reply({ type: "message", ...message });
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
    this.#sockets.echoClose(ws, code, reason);
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
    const sockets = this.#sockets.of(userId).filter((ws) => !jti || attachmentOf(ws)?.jti === jti);
    this.#close(sockets, close);
    this.#closeRemote(userId, close, jti || undefined);
  }

  /** The user's sockets on shards close too; each shard tells `detached` what it closed. */
  #closeRemote(userId: number, close: Close, jti?: string) {
    const shards = this.#shards.shardsOf(userId);
    if (shards.length) this.#shards.send({ close, userId, ...(jti ? { jti } : {}) }, shards);
  }

  /** RPC from the unread-push job: which of these users have a socket open in the room now. */
  async onlineAmong(userIds: number[]): Promise<number[]> {
    const online = new Set(this.#online().map((u) => u.userId));
    return userIds.filter((id) => online.has(id));
  }

  /** Server-side close: presence `left` goes out once for each user who has no socket left. */
  #close(sockets: WebSocket[], close: Close) {
    for (const [userId, { nickname }] of this.#sockets.close(sockets, close))
      this.#leftIfLast(userId, nickname);
  }

  #departed(ws: WebSocket) {
    const me = this.#sockets.departed(ws);
    if (me) this.#leftIfLast(me.userId, me.nickname);
  }

  #leftIfLast(userId: number, nickname: string) {
    if (this.#socketCount(userId) === 0) {
      this.#broadcast({ type: "presence", event: "left", userId, nickname }, userId);
    }
  }

  /** RPC from a shard: `count` of the user's sockets there closed (by the client or the server). */
  async detached(shard: number, userId: number, nickname: string, count: number): Promise<void> {
    this.#shards.removed(shard, userId, count);
    this.#leftIfLast(userId, nickname);
  }

  /**
   * RPC from a shard's sweep: every socket it holds, per user. The room's table drifts when a shard
   * lost sockets without telling (a restart of the shard closes them without close events).
   */
  async roster(shard: number, users: { userId: number; nickname: string; sockets: number }[]): Promise<void> {
    for (const gone of this.#shards.replace(shard, users)) this.#leftIfLast(gone.userId, gone.nickname);
  }

  /** RPC from the admin route: where the room's sockets are and what a message costs each object. */
  async fanout(): Promise<RoomFanout> {
    return {
      roomSockets: this.ctx.getWebSockets().length,
      shards: this.#shards.perShard(),
      messagesAccepted: this.#accepted,
      socketFramesSent: this.#sockets.framesSent,
      shardCalls: this.#shards.calls,
      shardFramesDropped: this.#shards.dropped,
    };
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
    if (kind === "ban") {
      this.#close(this.#sockets.of(userId), CLOSE.banned);
      this.#closeRemote(userId, CLOSE.banned);
    }
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

  /** Open sockets of a user in the whole room: here and on shards. */
  #socketCount(userId: number): number {
    return this.#sockets.of(userId).length + this.#shards.socketsOf(userId);
  }

  #online(): OnlineUser[] {
    const seen = new Map<number, OnlineUser>();
    for (const u of [...this.#shards.online(), ...this.#sockets.online()]) seen.set(u.userId, u);
    return [...seen.values()];
  }

  /** To every socket of the room but the given user's: those here, and each shard once for its own. */
  #broadcast(frame: ServerFrame, exceptUserId?: number) {
    const data = JSON.stringify(frame);
    this.#sockets.broadcast(data, exceptUserId);
    this.#shards.send({
      frame: data,
      ...(exceptUserId !== undefined ? { exceptUserId } : {}),
      ...(frame.type === "message" ? { seq: frame.seq } : {}),
    });
  }

  #reply(ws: WebSocket, frame: ServerFrame) {
    this.#sockets.write(ws, JSON.stringify(frame));
  }

  /** Answers a frame with an error; the socket's holder counts it toward CHAT_LIMITS.refusalsBeforeClose. */
  #fail(
    peer: Peer,
    code: ChatErrorCode,
    message: string,
    extra: { clientMsgId?: string; retryAfterMs?: number; until?: string } = {},
  ) {
    peer.reply({ type: "error", code, message, ...extra });
    peer.refused();
  }
}
