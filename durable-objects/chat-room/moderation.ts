import type { ChatMessage } from "./contract/protocol";

/**
 * A room's moderation state, in the object's SQLite beside its messages: deletions (tombstones),
 * reports, mutes and bans, slow mode, the pinned announcement, and the audit log of every action
 * with who did it. Messages are never rewritten: a deletion is a row here and readers mask the text,
 * so the buffer, the outbox and DynamoDB keep the original for audit.
 */

const SCHEMA = `
CREATE TABLE IF NOT EXISTS deleted_messages (
  seq INTEGER PRIMARY KEY,
  actor_id INTEGER NOT NULL,
  at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS announcements (
  seq INTEGER PRIMARY KEY,
  message TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS reports (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  seq INTEGER NOT NULL,
  reporter_id INTEGER NOT NULL,
  reason TEXT NOT NULL,
  at INTEGER NOT NULL,
  UNIQUE (seq, reporter_id)
);
CREATE TABLE IF NOT EXISTS sanctions (
  user_id INTEGER NOT NULL,
  kind TEXT NOT NULL,
  until INTEGER,
  actor_id INTEGER NOT NULL,
  PRIMARY KEY (user_id, kind)
);
CREATE TABLE IF NOT EXISTS settings (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS moderation_log (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  action TEXT NOT NULL,
  actor_id INTEGER NOT NULL,
  target_user_id INTEGER,
  seq INTEGER,
  detail TEXT,
  at INTEGER NOT NULL
);
`;

export type Sanction = "mute" | "ban";

export type ModerationAction =
  | "delete"
  | "mute"
  | "unmute"
  | "ban"
  | "unban"
  | "slow_mode"
  | "announce"
  | "report";

export interface AuditEntry {
  action: ModerationAction;
  actorId: number;
  targetUserId?: number;
  seq?: number;
  /** Short, no message text: e.g. the mute's end or the slow-mode seconds. */
  detail?: string;
}

export interface ReportRow {
  id: number;
  seq: number;
  reporterId: number;
  reason: string;
  reportedAt: string;
}

export class RoomModeration {
  readonly #sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
    this.#sql.exec(SCHEMA);
  }

  audit(entry: AuditEntry, now: number): void {
    this.#sql.exec(
      "INSERT INTO moderation_log (action, actor_id, target_user_id, seq, detail, at) VALUES (?, ?, ?, ?, ?, ?)",
      entry.action,
      entry.actorId,
      entry.targetUserId ?? null,
      entry.seq ?? null,
      entry.detail ?? null,
      now,
    );
  }

  /** True when the message was not deleted before (a repeated delete is a no-op, not a second tombstone). */
  markDeleted(seq: number, actorId: number, now: number): boolean {
    const r = this.#sql.exec(
      "INSERT OR IGNORE INTO deleted_messages (seq, actor_id, at) VALUES (?, ?, ?)",
      seq,
      actorId,
      now,
    );
    if (r.rowsWritten === 0) return false;
    // A deleted announcement is no longer pinned.
    this.#sql.exec("DELETE FROM settings WHERE key = 'pinned' AND value = ?", String(seq));
    this.#settings.delete("pinned");
    return true;
  }

  deletedIn(fromSeq: number, toSeq: number): number[] {
    return this.#sql
      .exec<{ seq: number }>("SELECT seq FROM deleted_messages WHERE seq BETWEEN ? AND ?", fromSeq, toSeq)
      .toArray()
      .map((r) => r.seq);
  }

  /** What readers see: deleted messages without their text, announcements marked as such. */
  present(messages: ChatMessage[]): ChatMessage[] {
    if (!messages.length) return messages;
    const seqs = messages.map((m) => m.seq);
    const from = Math.min(...seqs);
    const to = Math.max(...seqs);
    const deleted = new Set(this.deletedIn(from, to));
    const announced = new Set(
      this.#sql
        .exec<{ seq: number }>("SELECT seq FROM announcements WHERE seq BETWEEN ? AND ?", from, to)
        .toArray()
        .map((r) => r.seq),
    );
    if (!deleted.size && !announced.size) return messages;
    return messages.map((m) => {
      const shown: ChatMessage = announced.has(m.seq) ? { ...m, kind: "announcement" } : m;
      return deleted.has(m.seq) ? { ...shown, text: "", deleted: true } : shown;
    });
  }

  /** Records an announcement and pins it (the newest one is the pinned one). */
  announce(message: ChatMessage): void {
    this.#sql.exec(
      "INSERT OR REPLACE INTO announcements (seq, message) VALUES (?, ?)",
      message.seq,
      JSON.stringify(message),
    );
    this.#setSetting("pinned", String(message.seq));
  }

  /** The newest announcement in the range that is not deleted: its own push to offline members. */
  announcementIn(fromSeq: number, toSeq: number): ChatMessage | undefined {
    const [row] = this.#sql
      .exec<{ message: string }>(
        `SELECT message FROM announcements WHERE seq BETWEEN ? AND ?
         AND seq NOT IN (SELECT seq FROM deleted_messages) ORDER BY seq DESC LIMIT 1`,
        fromSeq,
        toSeq,
      )
      .toArray();
    return row ? (JSON.parse(row.message) as ChatMessage) : undefined;
  }

  pinned(): ChatMessage | null {
    const seq = this.#setting("pinned");
    if (seq === undefined) return null;
    const [row] = this.#sql
      .exec<{ message: string }>("SELECT message FROM announcements WHERE seq = ?", Number(seq))
      .toArray();
    return row ? (JSON.parse(row.message) as ChatMessage) : null;
  }

  /** True when this reporter had not reported this message yet. */
  report(seq: number, reporterId: number, reason: string, now: number): boolean {
    const r = this.#sql.exec(
      "INSERT OR IGNORE INTO reports (seq, reporter_id, reason, at) VALUES (?, ?, ?, ?)",
      seq,
      reporterId,
      reason,
      now,
    );
    return r.rowsWritten > 0;
  }

  /** Newest first, keyset by id: `before` is the previous page's last id. */
  reports(before: number, limit: number): ReportRow[] {
    return this.#sql
      .exec<{ id: number; seq: number; reporter_id: number; reason: string; at: number }>(
        "SELECT id, seq, reporter_id, reason, at FROM reports WHERE id < ? ORDER BY id DESC LIMIT ?",
        before,
        limit,
      )
      .toArray()
      .map((r) => ({
        id: r.id,
        seq: r.seq,
        reporterId: r.reporter_id,
        reason: r.reason,
        reportedAt: new Date(r.at).toISOString(),
      }));
  }

  /** `until` null = until lifted. */
  sanction(userId: number, kind: Sanction, until: number | null, actorId: number): void {
    this.#sql.exec(
      "INSERT OR REPLACE INTO sanctions (user_id, kind, until, actor_id) VALUES (?, ?, ?, ?)",
      userId,
      kind,
      until,
      actorId,
    );
    this.#sanctions = undefined;
  }

  lift(userId: number, kind: Sanction): void {
    this.#sql.exec("DELETE FROM sanctions WHERE user_id = ? AND kind = ?", userId, kind);
    this.#sanctions = undefined;
  }

  /** The end of the user's current sanction of this kind (Infinity = until lifted), if one holds now. */
  activeUntil(userId: number, kind: Sanction, now: number): number | undefined {
    const until = this.#sanctionsByKey().get(`${kind}:${userId}`);
    if (until === undefined) return undefined;
    return until > now ? until : undefined;
  }

  /**
   * Every sanction, read once per load (a room has few) and dropped on each change: every message
   * asks whether its sender is muted, and that was a query each time. Infinity = until lifted.
   */
  #sanctions: Map<string, number> | undefined;

  #sanctionsByKey(): Map<string, number> {
    if (!this.#sanctions) {
      this.#sanctions = new Map();
      const rows = this.#sql.exec<{ user_id: number; kind: string; until: number | null }>(
        "SELECT user_id, kind, until FROM sanctions WHERE until IS NULL OR until > ?",
        Date.now(),
      );
      for (const r of rows)
        this.#sanctions.set(`${r.kind}:${r.user_id}`, r.until ?? Number.POSITIVE_INFINITY);
    }
    return this.#sanctions;
  }

  /** Seconds a member waits between messages; 0 = off. */
  slowModeSeconds(): number {
    return Number(this.#setting("slow_mode_s") ?? 0);
  }

  setSlowMode(seconds: number): void {
    this.#setSetting("slow_mode_s", String(seconds));
  }

  /** Settings read so far (slow mode is asked for on every message); this class is their only writer. */
  readonly #settings = new Map<string, string | undefined>();

  #setting(key: string): string | undefined {
    if (this.#settings.has(key)) return this.#settings.get(key);
    const [row] = this.#sql
      .exec<{ value: string }>("SELECT value FROM settings WHERE key = ?", key)
      .toArray();
    this.#settings.set(key, row?.value);
    return row?.value;
  }

  #setSetting(key: string, value: string): void {
    this.#sql.exec("INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)", key, value);
    this.#settings.set(key, value);
  }
}
