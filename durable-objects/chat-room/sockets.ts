import { createLogger } from "../../workers/lib/logger";
import { getServices } from "../../workers/lib/services";
import { CLOSE } from "./contract/close-codes";
import type { ChatIdentity } from "./contract/identity";
import { CHAT_LIMITS, type OnlineUser } from "./contract/protocol";
import { RECHECK_MS, stillAllowed } from "./membership";

/**
 * The sockets one object holds, for the room's own object and for its shards alike (./shard.ts):
 * who is behind each, who is online, closing them, and the sweep that closes expired tokens and
 * re-checks memberships. Everything lives in the sockets' attachments, so it survives hibernation.
 */

/** Who is behind a socket; kept in the socket's attachment, so it survives hibernation. */
export type Attachment = Pick<ChatIdentity, "userId" | "nickname" | "role"> & {
  /** Set when the server closes the socket (member left), so presence is announced once. */
  closing?: boolean;
  /** Epoch ms: the token's expiry, and when the membership was last confirmed (the Worker or RECHECK_MS). */
  exp?: number;
  checkedAt?: number;
  jti?: string;
};

export type Close = (typeof CLOSE)[keyof typeof CLOSE];

/** An older Worker sends no expiry: such a socket gets one access-token lifetime (15 min). */
const LEGACY_TOKEN_MS = 15 * 60_000;
/**
 * Expiries and re-checks due within this much of each other share one wake-up: a busy room wakes at
 * most this often for them, and an idle socket closes at most this late (its frames are refused on time).
 */
export const SWEEP_SLACK_MS = 30_000;

const userTag = (userId: number) => `user:${userId}`;

export const attachmentOf = (ws: WebSocket) => ws.deserializeAttachment() as Attachment | null;

/** The socket's attachment, unless the socket is closing (or carries none). */
const openAttachment = (ws: WebSocket) => {
  const att = attachmentOf(ws);
  return att && !att.closing ? att : undefined;
};

/** A connect's attachment: the token's expiry, or one token lifetime for an older Worker's header. */
export function attachmentFor(identity: ChatIdentity, now: number): Attachment {
  return {
    userId: identity.userId,
    nickname: identity.nickname,
    role: identity.role,
    exp: identity.exp !== undefined ? identity.exp * 1000 : now + LEGACY_TOKEN_MS,
    checkedAt: identity.checkedAt ?? now,
    ...(identity.jti ? { jti: identity.jti } : {}),
  };
}

/** When the sweep must look at a new socket next: its expiry or its membership re-check. */
export const sweepAt = (att: Attachment, now: number) =>
  Math.min(att.exp ?? now + LEGACY_TOKEN_MS, (att.checkedAt ?? now) + RECHECK_MS) + SWEEP_SLACK_MS;

export class SocketSet {
  readonly #ctx: DurableObjectState;
  readonly #log = createLogger({ component: "chat-sockets" });
  /** Frames this object wrote to sockets since it was loaded (the fan-out figures of the admin view). */
  framesSent = 0;
  /**
   * Each socket's user and whether it is closing, read from its attachment once per load: a broadcast
   * then deserializes no attachment (per message that was one structured-clone read per socket).
   * Kept in step by accept/close/departed, the only writers of those two fields.
   */
  readonly #brief = new WeakMap<WebSocket, { userId: number; closing: boolean }>();
  /** Refused frames in a row per socket; an accepted frame resets it. */
  readonly #refusals = new WeakMap<WebSocket, number>();

  constructor(ctx: DurableObjectState) {
    this.#ctx = ctx;
  }

  accept(server: WebSocket, attachment: Attachment) {
    this.#ctx.acceptWebSocket(server, [userTag(attachment.userId)]);
    server.serializeAttachment(attachment);
    this.#brief.set(server, { userId: attachment.userId, closing: false });
  }

  #briefOf(ws: WebSocket) {
    let brief = this.#brief.get(ws);
    if (!brief) {
      const att = attachmentOf(ws);
      brief = { userId: att?.userId ?? -1, closing: !att || att.closing === true };
      this.#brief.set(ws, brief);
    }
    return brief;
  }

  #markClosing(ws: WebSocket, att: Attachment) {
    ws.serializeAttachment({ ...att, closing: true });
    this.#brief.set(ws, { userId: att.userId, closing: true });
  }

  /** Open sockets, not counting those being closed. */
  all(): WebSocket[] {
    return this.#ctx.getWebSockets().filter((ws) => openAttachment(ws));
  }

  /** Open sockets of a user. */
  of(userId: number): WebSocket[] {
    return this.#ctx.getWebSockets(userTag(userId)).filter((ws) => openAttachment(ws));
  }

  /** Sockets open here, per user. */
  users(): Map<number, { nickname: string; sockets: number }> {
    const seen = new Map<number, { nickname: string; sockets: number }>();
    for (const ws of this.#ctx.getWebSockets()) {
      const att = openAttachment(ws);
      if (!att) continue;
      const entry = seen.get(att.userId) ?? { nickname: att.nickname, sockets: 0 };
      entry.sockets++;
      seen.set(att.userId, entry);
    }
    return seen;
  }

  online(): OnlineUser[] {
    return [...this.users()].map(([userId, { nickname }]) => ({ userId, nickname }));
  }

  /** Sends one serialized frame to every open socket but the given user's. */
  broadcast(data: string, exceptUserId?: number) {
    for (const ws of this.#ctx.getWebSockets()) {
      const { userId, closing } = this.#briefOf(ws);
      if (closing || userId === exceptUserId) continue;
      this.write(ws, data);
    }
  }

  write(ws: WebSocket, data: string) {
    try {
      ws.send(data);
      this.framesSent++;
    } catch {
      // A socket that is going away; its close event tidies up.
    }
  }

  /**
   * Server-side close. Returns, per user, how many of their sockets it closed and whether none is
   * left here, so the caller announces presence `left` once.
   */
  close(sockets: WebSocket[], { code, reason }: Close): Map<number, { nickname: string; closed: number }> {
    const users = new Map<number, { nickname: string; closed: number }>();
    for (const ws of sockets) {
      const att = openAttachment(ws);
      if (!att) continue;
      this.#markClosing(ws, att);
      const entry = users.get(att.userId) ?? { nickname: att.nickname, closed: 0 };
      entry.closed++;
      users.set(att.userId, entry);
      try {
        ws.close(code, reason);
      } catch {
        // Already closed.
      }
    }
    return users;
  }

  /**
   * Counts a frame's outcome toward CHAT_LIMITS.refusalsBeforeClose: an accepted frame resets the
   * count, a refused one adds to it, and once the limit is reached the socket closes with CLOSE.abuse
   * through the holder's `close` (which announces presence, or tells the room what closed).
   */
  refused(ws: WebSocket, wasRefused: boolean, close: (sockets: WebSocket[], close: Close) => void) {
    if (!wasRefused) return void this.#refusals.delete(ws);
    const refusals = (this.#refusals.get(ws) ?? 0) + 1;
    this.#refusals.set(ws, refusals);
    // A client that ignores its errors (retryAfterMs) and keeps sending is not a client we serve.
    if (refusals >= CHAT_LIMITS.refusalsBeforeClose) close([ws], CLOSE.abuse);
  }

  /** Answers the client's close frame with the same code, as the closing handshake asks. */
  echoClose(ws: WebSocket, code: number, reason: string) {
    try {
      // 1005 (no code) and 1006 (dropped) only report a close: they may not be sent in a close frame.
      ws.close(code === 1005 || code === 1006 ? 1000 : code, reason);
    } catch {
      // Already closed.
    }
  }

  /** The client closed (or the socket failed): the attachment if it was open until now. */
  departed(ws: WebSocket): Attachment | undefined {
    const att = openAttachment(ws);
    if (att) this.#markClosing(ws, att);
    return att;
  }

  /**
   * Closes the sockets whose token expired and re-checks in MySQL the users whose membership was
   * last confirmed RECHECK_MS ago (a leave the Worker could not tell the room), through `close` so the
   * caller announces presence. Returns when it is next due; none while no socket is open, so an empty
   * object sleeps. `retryMs`: how soon to try again when MySQL cannot be reached.
   */
  async sweep(
    env: Env,
    festivalId: number | undefined,
    close: (sockets: WebSocket[], close: Close) => void,
    retryMs: number,
  ): Promise<number | undefined> {
    const now = Date.now();
    const expired: WebSocket[] = [];
    const due: WebSocket[] = [];
    let next = Infinity;
    for (const ws of this.#ctx.getWebSockets()) {
      const att = openAttachment(ws);
      if (!att) continue;
      // A socket accepted by an older version carries neither time: it is treated as new here.
      const exp = att.exp ?? now + LEGACY_TOKEN_MS;
      const recheckAt = (att.checkedAt ?? now) + RECHECK_MS;
      if (exp <= now) expired.push(ws);
      else if (recheckAt <= now) due.push(ws);
      else next = Math.min(next, exp, recheckAt);
    }
    close(expired, CLOSE.tokenExpired);
    if (due.length && festivalId !== undefined) {
      const ids = [...new Set(due.map((ws) => (attachmentOf(ws) as Attachment).userId))];
      try {
        const allowed = await stillAllowed(getServices(env), festivalId, ids);
        const checkedAt = Date.now();
        const left: WebSocket[] = [];
        for (const ws of due) {
          const att = openAttachment(ws);
          if (!att) continue;
          if (!allowed.has(att.userId)) left.push(ws);
          else {
            ws.serializeAttachment({ ...att, checkedAt });
            next = Math.min(next, att.exp ?? Infinity, checkedAt + RECHECK_MS);
          }
        }
        close(left, CLOSE.left);
      } catch (error) {
        this.#log.warn("chat sockets: membership re-check failed; retrying", { error, room: festivalId });
        next = Math.min(next, now + retryMs);
      }
    }
    return next === Infinity ? undefined : next + SWEEP_SLACK_MS;
  }
}
