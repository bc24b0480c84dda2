import type { ChatItem } from "../../workers/lib/dynamo.ts";
import { CHAT_LIMITS, type ChatMessage } from "./contract/protocol";

/**
 * A ChatRoom object's SQLite storage. Every call is synchronous: a message's seq, its buffer row,
 * its dedupe row and its outbox row are written in one transaction, and the runtime's output gate
 * holds the `ack` until that write is durable.
 */

const SCHEMA = `
CREATE TABLE IF NOT EXISTS room (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  festival_id INTEGER NOT NULL,
  last_seq INTEGER NOT NULL DEFAULT 0,
  summary_seq INTEGER NOT NULL DEFAULT 0,
  notified_seq INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS messages (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL,
  user_id INTEGER NOT NULL,
  nickname TEXT NOT NULL,
  text TEXT NOT NULL,
  sent_at INTEGER NOT NULL,
  client_msg_id TEXT NOT NULL,
  UNIQUE (user_id, client_msg_id)
);
CREATE TABLE IF NOT EXISTS sent_ids (
  user_id INTEGER NOT NULL,
  client_msg_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  sent_at INTEGER NOT NULL,
  PRIMARY KEY (user_id, client_msg_id)
);
CREATE INDEX IF NOT EXISTS sent_ids_sent_at ON sent_ids (sent_at);
CREATE TABLE IF NOT EXISTS cursors (
  user_id INTEGER PRIMARY KEY,
  read_seq INTEGER NOT NULL,
  flushed_seq INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS outbox (
  seq INTEGER PRIMARY KEY,
  payload TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS gone (
  user_id INTEGER NOT NULL,
  jti TEXT NOT NULL,
  reason TEXT NOT NULL,
  at INTEGER NOT NULL,
  PRIMARY KEY (user_id, jti)
);
`;

/** Why a user's sockets were closed by the Worker's word: they left, or their session ended. */
export type GoneReason = "left" | "revoked";

/**
 * A leave or revocation is remembered this long: enough for any connect that was checked before it
 * to arrive (a connect is one request; the Worker's check and its forward take seconds at worst).
 */
const GONE_KEEP_MS = 5 * 60_000;

export interface Author {
  userId: number;
  nickname: string;
}

export interface RoomState {
  festivalId: number;
  lastSeq: number;
  /** Highest seq whose summary (last message) MySQL has. */
  summarySeq: number;
  /** Highest seq the offline-members event covered. */
  notifiedSeq: number;
}

type MessageRow = {
  seq: number;
  id: string;
  user_id: number;
  nickname: string;
  text: string;
  sent_at: number;
};

const toMessage = (r: MessageRow): ChatMessage => ({
  seq: r.seq,
  id: r.id,
  userId: r.user_id,
  nickname: r.nickname,
  text: r.text,
  sentAt: new Date(r.sent_at).toISOString(),
});

const MESSAGE_COLUMNS = "seq, id, user_id, nickname, text, sent_at";

export class RoomStore {
  readonly #storage: DurableObjectStorage;
  readonly #sql: SqlStorage;

  constructor(storage: DurableObjectStorage) {
    this.#storage = storage;
    this.#sql = storage.sql;
    this.#sql.exec(SCHEMA);
  }

  /**
   * The room row, read once per load and then kept in step by the writes below (this class is its
   * only writer): every message and most frames ask for it, and that was a query each time.
   */
  #room: RoomState | undefined;

  /** Undefined until the Worker first names the festival this object serves. */
  state(): RoomState | undefined {
    if (this.#room) return this.#room;
    const [row] = this.#sql
      .exec<{ festival_id: number; last_seq: number; summary_seq: number; notified_seq: number }>(
        "SELECT festival_id, last_seq, summary_seq, notified_seq FROM room WHERE id = 1",
      )
      .toArray();
    this.#room = row
      ? {
          festivalId: row.festival_id,
          lastSeq: row.last_seq,
          summarySeq: row.summary_seq,
          notifiedSeq: row.notified_seq,
        }
      : undefined;
    return this.#room;
  }

  lastSeq(): number {
    return this.state()?.lastSeq ?? 0;
  }

  bindFestival(festivalId: number): void {
    this.#sql.exec("INSERT OR IGNORE INTO room (id, festival_id) VALUES (1, ?)", festivalId);
  }

  /**
   * The seq a (user, clientMsgId) was first stored under, if it is still remembered: in the dedupe
   * window, or in the buffer (whose unique key would refuse a second copy after the window ended).
   */
  sentSeq(userId: number, clientMsgId: string): number | undefined {
    const [row] = this.#sql
      .exec<{ seq: number }>(
        `SELECT seq FROM sent_ids WHERE user_id = ? AND client_msg_id = ?
         UNION ALL SELECT seq FROM messages WHERE user_id = ? AND client_msg_id = ? LIMIT 1`,
        userId,
        clientMsgId,
        userId,
        clientMsgId,
      )
      .toArray();
    return row?.seq;
  }

  /** When the user's newest message was sent (within the dedupe window): slow mode's clock. */
  lastSentAt(userId: number): number | undefined {
    const [row] = this.#sql
      .exec<{ at: number | null }>("SELECT MAX(sent_at) AS at FROM sent_ids WHERE user_id = ?", userId)
      .toArray();
    return row?.at ?? undefined;
  }

  append(
    author: Author,
    text: string,
    clientMsgId: string,
    now: number,
    kind?: ChatMessage["kind"],
  ): ChatMessage {
    const message = this.#storage.transactionSync(() => {
      const room = this.state();
      if (!room) throw new Error("chat room used before its festival was bound");
      const seq = room.lastSeq + 1;
      const id = crypto.randomUUID();
      this.#sql.exec("UPDATE room SET last_seq = ? WHERE id = 1", seq);
      this.#sql.exec(
        `INSERT INTO messages (${MESSAGE_COLUMNS}, client_msg_id) VALUES (?, ?, ?, ?, ?, ?, ?)`,
        seq,
        id,
        author.userId,
        author.nickname,
        text,
        now,
        clientMsgId,
      );
      this.#sql.exec(
        "INSERT INTO sent_ids (user_id, client_msg_id, seq, sent_at) VALUES (?, ?, ?, ?)",
        author.userId,
        clientMsgId,
        seq,
        now,
      );
      const item: ChatItem = {
        roomId: String(room.festivalId),
        seq,
        id,
        userId: String(author.userId),
        nickname: author.nickname,
        text,
        sentAt: now,
        ...(kind ? { kind } : {}),
      };
      this.#sql.exec(
        "INSERT INTO outbox (seq, payload, created_at) VALUES (?, ?, ?)",
        seq,
        JSON.stringify(item),
        now,
      );
      this.#sql.exec("DELETE FROM messages WHERE seq <= ?", seq - CHAT_LIMITS.bufferSize);
      // Writing a message means having read everything up to it.
      this.#advanceRead(author.userId, seq);
      const message = toMessage({
        seq,
        id,
        user_id: author.userId,
        nickname: author.nickname,
        text,
        sent_at: now,
      });
      return kind ? { ...message, kind } : message;
    });
    // After the commit: a transaction that threw left the row, and so the cached copy, as it was.
    if (this.#room) this.#room = { ...this.#room, lastSeq: message.seq };
    return message;
  }

  /** The newest `limit` messages, oldest first. */
  recent(limit: number): ChatMessage[] {
    return this.#sql
      .exec<MessageRow>(`SELECT ${MESSAGE_COLUMNS} FROM messages ORDER BY seq DESC LIMIT ?`, limit)
      .toArray()
      .reverse()
      .map(toMessage);
  }

  /** Up to `limit` buffered messages with seq < before, newest first (the history endpoint's tail). */
  below(before: number, limit: number): ChatMessage[] {
    return this.#sql
      .exec<MessageRow>(
        `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE seq < ? ORDER BY seq DESC LIMIT ?`,
        before,
        limit,
      )
      .toArray()
      .map(toMessage);
  }

  /** The buffer holds every seq from this one to lastSeq (lastSeq + 1 when it is empty). */
  bufferedFrom(): number {
    const [row] = this.#sql.exec<{ seq: number | null }>("SELECT MIN(seq) AS seq FROM messages").toArray();
    return row?.seq ?? this.lastSeq() + 1;
  }

  /**
   * Every message after `afterSeq`, or undefined when some of them already left the buffer: a
   * resume is answered completely or not at all.
   */
  after(afterSeq: number): ChatMessage[] | undefined {
    const rows = this.#sql
      .exec<MessageRow>(`SELECT ${MESSAGE_COLUMNS} FROM messages WHERE seq > ? ORDER BY seq`, afterSeq)
      .toArray();
    const expected = this.lastSeq() - afterSeq;
    return rows.length === expected ? rows.map(toMessage) : undefined;
  }

  lastMessage(): ChatMessage | undefined {
    return this.recent(1)[0];
  }

  readSeq(userId: number): number {
    const [row] = this.#sql
      .exec<{ read_seq: number }>("SELECT read_seq FROM cursors WHERE user_id = ?", userId)
      .toArray();
    return row?.read_seq ?? 0;
  }

  /** Cursors only move forward; true when this one did. */
  advanceRead(userId: number, seq: number): boolean {
    return this.#advanceRead(userId, seq);
  }

  #advanceRead(userId: number, seq: number): boolean {
    const cursor = this.#sql.exec(
      `INSERT INTO cursors (user_id, read_seq) VALUES (?, ?)
       ON CONFLICT (user_id) DO UPDATE SET read_seq = excluded.read_seq WHERE excluded.read_seq > read_seq`,
      userId,
      seq,
    );
    return cursor.rowsWritten > 0;
  }

  /** Cursors that moved since they were last written to MySQL. */
  unflushedCursors(): { userId: number; readSeq: number }[] {
    return this.#sql
      .exec<{ user_id: number; read_seq: number }>(
        "SELECT user_id, read_seq FROM cursors WHERE read_seq > flushed_seq",
      )
      .toArray()
      .map((r) => ({ userId: r.user_id, readSeq: r.read_seq }));
  }

  markCursorsFlushed(cursors: readonly { userId: number; readSeq: number }[]): void {
    for (const c of cursors) {
      this.#sql.exec(
        "UPDATE cursors SET flushed_seq = MAX(flushed_seq, ?) WHERE user_id = ?",
        c.readSeq,
        c.userId,
      );
    }
  }

  markSummaryFlushed(seq: number): void {
    this.#sql.exec("UPDATE room SET summary_seq = MAX(summary_seq, ?) WHERE id = 1", seq);
    this.#room = undefined;
  }

  markNotified(seq: number): void {
    this.#sql.exec("UPDATE room SET notified_seq = MAX(notified_seq, ?) WHERE id = 1", seq);
    this.#room = undefined;
  }

  pruneSentIds(olderThan: number): void {
    this.#sql.exec("DELETE FROM sent_ids WHERE sent_at < ?", olderThan);
  }

  /** Records a leave (jti "": every token) or one token's revocation, and forgets the stale ones. */
  recordGone(userId: number, jti: string, reason: GoneReason, at: number): void {
    this.#sql.exec("DELETE FROM gone WHERE at < ?", at - GONE_KEEP_MS);
    this.#sql.exec(
      "INSERT OR REPLACE INTO gone (user_id, jti, reason, at) VALUES (?, ?, ?, ?)",
      userId,
      jti,
      reason,
      at,
    );
  }

  /** Whether a leave or revocation of this user (or this token) came at or after `checkedAt`. */
  goneSince(userId: number, jti: string, checkedAt: number): GoneReason | undefined {
    const [row] = this.#sql
      .exec<{ reason: GoneReason }>(
        "SELECT reason FROM gone WHERE user_id = ? AND jti IN ('', ?) AND at >= ? LIMIT 1",
        userId,
        jti,
        checkedAt,
      )
      .toArray();
    return row?.reason;
  }

  /** A deleted account keeps its messages under an anonymous name, in the buffer and the outbox. */
  anonymize(userId: number, nickname: string): void {
    this.#sql.exec("UPDATE messages SET nickname = ? WHERE user_id = ?", nickname, userId);
    this.#sql.exec(
      "UPDATE outbox SET payload = json_set(payload, '$.nickname', ?) WHERE json_extract(payload, '$.userId') = ?",
      nickname,
      String(userId),
    );
  }
}
