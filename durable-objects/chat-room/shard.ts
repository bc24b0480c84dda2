import { DurableObject } from "cloudflare:workers";
import { createLogger } from "../../workers/lib/logger";
import type { Admission, ChatRoom } from "../chat-room";
import { CLOSE } from "./contract/close-codes";
import { decodeIdentity, IDENTITY_HEADER, roomName, SHARD_HEADER } from "./contract/identity";
import { PING_FRAME, PONG_FRAME } from "./contract/protocol";
import type { ShardItem } from "./shards";
import { type Attachment, attachmentFor, attachmentOf, type Close, SocketSet, sweepAt } from "./sockets";
import { FLUSH_RETRY_MS } from "./write-through";

/** A shard's sockets also know their room and shard number: after hibernation nothing else does. */
type ShardAttachment = Attachment & { festivalId: number; shard: number };

type Place = { festivalId: number; shard: number };
const PLACE_KEY = "place";

/** Message frames kept for a socket that joins while a delivery is on its way (see fetch). */
const RECENT = 200;
/** How often a shard with sockets sends the room its roster, so the room's count cannot drift for long. */
const ROSTER_EVERY_MS = 60_000;

/**
 * One shard of a large chat room (./shards.ts has the design): it holds sockets and nothing
 * durable. The room (the sequencer) admits each connect, answers each frame, and sends every frame
 * here once, for all the shard's sockets; the shard writes it to each socket. Sockets use the
 * Hibernation API like the room's own, so an idle shard costs nothing.
 */
export class ChatShard extends DurableObject<Env> {
  readonly #sockets: SocketSet;
  readonly #log = createLogger({ component: "chat-shard" });
  /** The newest message frames delivered here, by seq (memory only: lost on eviction, when no join is mid-way). */
  #recent: { seq: number; frame: string }[] = [];
  /** Highest message seq delivered: a delivery the room retried after a lost answer is not sent twice. */
  #deliveredSeq = 0;
  /** Delivery calls received since this object was loaded (the fan-out figures of the bench). */
  #calls = 0;
  /**
   * Which room and shard this is, also in storage: after a restart that dropped every socket without
   * close events (a deploy), no attachment is left to say it, and the room still counts those
   * sockets until this shard's next roster, which must then go out empty.
   */
  #place: Place | undefined;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#sockets = new SocketSet(ctx);
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(PING_FRAME, PONG_FRAME));
  }

  #room(festivalId: number) {
    const rooms = this.env.CHAT_ROOM as DurableObjectNamespace<ChatRoom>;
    return rooms.get(rooms.idFromName(roomName(festivalId)));
  }

  /** The Worker's connect, after the room answered it with this shard (SHARD_HEADER). */
  override async fetch(request: Request): Promise<Response> {
    const identity = decodeIdentity(request.headers.get(IDENTITY_HEADER));
    const shard = Number(request.headers.get(SHARD_HEADER));
    if (
      !identity ||
      !Number.isInteger(shard) ||
      shard < 0 ||
      request.headers.get("upgrade")?.toLowerCase() !== "websocket"
    ) {
      return new Response("internal chat connect only", { status: 400 });
    }
    const admission: Admission = await this.#room(identity.festivalId).admit(shard, identity);
    if (!admission.ok) {
      const { status, code, message } = admission;
      return Response.json({ code, message }, { status });
    }
    const placed = this.#place?.festivalId === identity.festivalId && this.#place.shard === shard;
    this.#place = { festivalId: identity.festivalId, shard };
    // No await from here on: a delivery that arrived while the room answered is in #recent, and
    // every later one finds the socket.
    const now = Date.now();
    const { 0: client, 1: server } = new WebSocketPair();
    const attachment: ShardAttachment = {
      ...attachmentFor(identity, now),
      festivalId: identity.festivalId,
      shard,
    };
    this.#sockets.accept(server, attachment);
    this.#sockets.write(server, JSON.stringify(admission.welcome));
    for (const r of this.#recent) if (r.seq > admission.welcome.lastSeq) this.#sockets.write(server, r.frame);
    if (!placed) await this.ctx.storage.put(PLACE_KEY, this.#place);
    await this.#wakeBy(Math.min(sweepAt(attachment, now), now + ROSTER_EVERY_MS));
    const headers = identity.protocol ? { "Sec-WebSocket-Protocol": identity.protocol } : undefined;
    return new Response(null, { status: 101, webSocket: client, headers });
  }

  /** RPC from the room, in order: frames for every socket here (but one user's), and closes. */
  async deliver(items: ShardItem[]): Promise<void> {
    this.#calls++;
    for (const item of items) {
      if ("close" in item) {
        const sockets = this.#sockets
          .of(item.userId)
          .filter((ws) => !item.jti || attachmentOf(ws)?.jti === item.jti);
        this.#close(sockets, item.close);
        continue;
      }
      if (item.seq !== undefined) {
        if (item.seq <= this.#deliveredSeq) continue;
        this.#deliveredSeq = item.seq;
        this.#recent.push({ seq: item.seq, frame: item.frame });
        if (this.#recent.length > RECENT) this.#recent.splice(0, this.#recent.length - RECENT);
      }
      this.#sockets.broadcast(item.frame, item.exceptUserId);
    }
  }

  /** Every frame goes to the room, which answers it as for its own sockets. */
  override async webSocketMessage(ws: WebSocket, raw: string | ArrayBuffer): Promise<void> {
    const me = attachmentOf(ws) as ShardAttachment | null;
    if (!me || me.closing) return;
    if (me.exp !== undefined && me.exp <= Date.now()) return this.#close([ws], CLOSE.tokenExpired);
    let answer: { replies: string[]; refused: boolean };
    try {
      answer = await this.#room(me.festivalId).receive(me, raw);
    } catch (error) {
      this.#log.error("chat shard: the room did not answer a frame", { error, room: me.festivalId });
      const frame = { type: "error", code: "internal", message: "Something went wrong on our side; retry" };
      return this.#sockets.write(ws, JSON.stringify(frame));
    }
    for (const reply of answer.replies) this.#sockets.write(ws, reply);
    this.#sockets.refused(ws, answer.refused, (sockets, close) => this.#close(sockets, close));
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    await this.#departed(ws);
    this.#sockets.echoClose(ws, code, reason);
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    await this.#departed(ws);
  }

  async #departed(ws: WebSocket) {
    const me = this.#sockets.departed(ws) as ShardAttachment | undefined;
    if (me) await this.#tellDetached(me, 1);
  }

  /** Server-side close (a ban, a leave, an expired token, abuse): the room hears how many closed. */
  #close(sockets: WebSocket[], close: Close) {
    const place = sockets.map((ws) => attachmentOf(ws) as ShardAttachment | null).find(Boolean);
    const closed = this.#sockets.close(sockets, close);
    if (!place) return;
    for (const [userId, { nickname, closed: count }] of closed) {
      void this.#tellDetached({ ...place, userId, nickname }, count);
    }
  }

  async #tellDetached(me: ShardAttachment, count: number) {
    try {
      await this.#room(me.festivalId).detached(me.shard, me.userId, me.nickname, count);
    } catch (error) {
      // The next roster (ROSTER_EVERY_MS) sets the room's count right.
      this.#log.warn("chat shard: could not tell the room a socket closed", { error, room: me.festivalId });
    }
  }

  /** Sweep (expired tokens, membership re-checks) as the room does for its own sockets, then the roster. */
  override async alarm(): Promise<void> {
    this.#place ??= await this.ctx.storage.get<Place>(PLACE_KEY);
    const place = this.#place;
    if (!place) return;
    const now = Date.now();
    const sweepNext = await this.#sockets.sweep(
      this.env,
      place.festivalId,
      (sockets, close) => this.#close(sockets, close),
      FLUSH_RETRY_MS,
    );
    try {
      const users = [...this.#sockets.users()].map(([userId, u]) => ({ userId, ...u }));
      await this.#room(place.festivalId).roster(place.shard, users);
    } catch (error) {
      this.#log.warn("chat shard: could not send the room its roster", { error, room: place.festivalId });
    }
    // With no socket left (the roster above said so, empty) the shard sleeps until its next connect.
    if (this.#sockets.all().length)
      await this.#wakeBy(Math.min(sweepNext ?? Infinity, now + ROSTER_EVERY_MS));
  }

  async #wakeBy(at: number) {
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > at) await this.ctx.storage.setAlarm(at);
  }

  /** RPC from the admin route: sockets here and what this shard sent since it was loaded. */
  async fanout(): Promise<{ sockets: number; deliveries: number; socketFramesSent: number }> {
    return {
      sockets: this.#sockets.all().length,
      deliveries: this.#calls,
      socketFramesSent: this.#sockets.framesSent,
    };
  }
}
