import { createLogger } from "../../workers/lib/logger";
import type { OnlineUser } from "./contract/protocol";
import type { Close } from "./sockets";

/**
 * The room's side of its shards (./shard.ts). A room holds its first sockets itself; past
 * CHAT_ROOM_SOCKETS new connects go to shard objects of CHAT_SHARD_SOCKETS sockets each, and the room
 * (the sequencer: seq, storage, moderation stay here) sends each frame once per shard, not once per
 * socket. Which users hold how many sockets on which shard is a table here, so presence, the per-user
 * cap and the room-full check count every socket of the room, and it survives the room's eviction.
 *
 * Delivery keeps order per shard: one call in flight per shard, the frames that arrive meanwhile go
 * in the next call (a busy room sends bigger batches, not more calls); a failed call is retried with
 * backoff before anything after it. A shard unreachable for long loses frames past MAX_QUEUE; its
 * clients see the seq gap and resume, which the room answers from its buffer.
 */

/** What a shard is told, in order: a frame for its sockets, or sockets to close. */
export type ShardItem =
  | {
      /** The serialized ServerFrame, as every socket receives it. */
      frame: string;
      exceptUserId?: number;
      /** Set on `message` frames: the shard replays these to a socket that joined mid-delivery. */
      seq?: number;
    }
  | { close: Close; userId: number; jti?: string };

/** The shard's RPC surface the room calls (the class is in ./shard.ts). */
export interface ShardPeer {
  deliver(items: ShardItem[]): Promise<void>;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS shard_sockets (
  shard INTEGER NOT NULL,
  user_id INTEGER NOT NULL,
  nickname TEXT NOT NULL,
  sockets INTEGER NOT NULL,
  PRIMARY KEY (shard, user_id)
);
`;

/** Items waiting for one shard; past this the oldest frames are dropped (clients resume the gap). */
const MAX_QUEUE = 5_000;
/** Items per call: a few hundred frames of a few hundred bytes each stay far below RPC limits. */
const MAX_BATCH = 500;
const RETRY = { firstMs: 100, maxMs: 5_000 } as const;
/** A connect the room sent to a shard is admitted within this, or it never comes (the client left). */
const PLACING_MS = 10_000;

export interface ShardLimits {
  /** Sockets the room's own object holds before it places connects on shards. */
  roomSockets: number;
  /** Sockets per shard. */
  shardSockets: number;
}

export function shardLimits(env: Env): ShardLimits {
  const num = (value: string | undefined, fallback: number) => {
    const n = Number(value);
    return value !== undefined && value !== "" && Number.isFinite(n) && n >= 0 ? n : fallback;
  };
  return {
    roomSockets: num(env.CHAT_ROOM_SOCKETS, 100),
    shardSockets: Math.max(1, num(env.CHAT_SHARD_SOCKETS, 1_000)),
  };
}

interface Link {
  queue: ShardItem[];
  pumping: boolean;
}

export class RoomShards {
  readonly #sql: SqlStorage;
  readonly #peer: (shard: number) => ShardPeer;
  readonly #links = new Map<number, Link>();
  readonly #log = createLogger({ component: "chat-shards" });
  /** Shard → sockets there; read from the table once per load, then kept in step with it. */
  #counts: Map<number, number> | undefined;
  /** Per shard, when connects were sent there that it has not admitted yet (see place). */
  readonly #placing = new Map<number, number[]>();
  /** Calls made to shards and frames dropped for an unreachable one, since this object was loaded. */
  calls = 0;
  dropped = 0;

  constructor(sql: SqlStorage, peer: (shard: number) => ShardPeer) {
    this.#sql = sql;
    this.#peer = peer;
    sql.exec(SCHEMA);
  }

  #shardCounts(): Map<number, number> {
    if (!this.#counts) {
      this.#counts = new Map();
      const rows = this.#sql.exec<{ shard: number; n: number }>(
        "SELECT shard, SUM(sockets) AS n FROM shard_sockets GROUP BY shard",
      );
      for (const r of rows) if (r.n > 0) this.#counts.set(r.shard, r.n);
    }
    return this.#counts;
  }

  /** Sockets on shards in all. */
  total(): number {
    let n = 0;
    for (const c of this.#shardCounts().values()) n += c;
    return n;
  }

  perShard(): { shard: number; sockets: number }[] {
    return [...this.#shardCounts()]
      .map(([shard, sockets]) => ({ shard, sockets }))
      .sort((a, b) => a.shard - b.shard);
  }

  socketsOf(userId: number): number {
    return (
      this.#sql
        .exec<{ n: number | null }>("SELECT SUM(sockets) AS n FROM shard_sockets WHERE user_id = ?", userId)
        .one().n ?? 0
    );
  }

  online(): OnlineUser[] {
    return this.#sql
      .exec<{ user_id: number; nickname: string }>(
        "SELECT user_id, MIN(nickname) AS nickname FROM shard_sockets GROUP BY user_id",
      )
      .toArray()
      .map((r) => ({ userId: r.user_id, nickname: r.nickname }));
  }

  /**
   * The shard a new socket goes to: the first one with room, so shards fill in order. Connects sent
   * to a shard but not admitted yet count too (for PLACING_MS), or a crowd arriving at once would all
   * be sent to the same last free place.
   */
  place({ shardSockets }: ShardLimits): number {
    const counts = this.#shardCounts();
    const now = Date.now();
    for (let shard = 0; ; shard++) {
      const placing = (this.#placing.get(shard) ?? []).filter((at) => now - at < PLACING_MS);
      if ((counts.get(shard) ?? 0) + placing.length < shardSockets) {
        this.#placing.set(shard, [...placing, now]);
        return shard;
      }
    }
  }

  added(shard: number, userId: number, nickname: string) {
    this.#placing.get(shard)?.shift();
    this.#sql.exec(
      `INSERT INTO shard_sockets (shard, user_id, nickname, sockets) VALUES (?, ?, ?, 1)
       ON CONFLICT (shard, user_id) DO UPDATE SET sockets = sockets + 1, nickname = excluded.nickname`,
      shard,
      userId,
      nickname,
    );
    const counts = this.#shardCounts();
    counts.set(shard, (counts.get(shard) ?? 0) + 1);
  }

  /** `count` sockets of the user closed on the shard. */
  removed(shard: number, userId: number, count: number) {
    const row = this.#sql
      .exec<{ sockets: number }>(
        "SELECT sockets FROM shard_sockets WHERE shard = ? AND user_id = ?",
        shard,
        userId,
      )
      .toArray()[0];
    if (!row) return;
    const taken = Math.min(count, row.sockets);
    if (row.sockets - taken <= 0) {
      this.#sql.exec("DELETE FROM shard_sockets WHERE shard = ? AND user_id = ?", shard, userId);
    } else {
      this.#sql.exec(
        "UPDATE shard_sockets SET sockets = ? WHERE shard = ? AND user_id = ?",
        row.sockets - taken,
        shard,
        userId,
      );
    }
    this.#setCount(shard, (this.#shardCounts().get(shard) ?? 0) - taken);
  }

  /**
   * The shard's own count of its sockets, sent by its sweep: it replaces the table's rows, which
   * drift when a shard lost sockets without telling (a restart closes them without close events).
   * Returns the users the table held on this shard who are no longer there.
   */
  replace(
    shard: number,
    users: { userId: number; nickname: string; sockets: number }[],
  ): { userId: number; nickname: string }[] {
    const before = this.#sql
      .exec<{ user_id: number; nickname: string }>(
        "SELECT user_id, nickname FROM shard_sockets WHERE shard = ?",
        shard,
      )
      .toArray()
      .map((r) => ({ userId: r.user_id, nickname: r.nickname }));
    this.#sql.exec("DELETE FROM shard_sockets WHERE shard = ?", shard);
    let total = 0;
    for (const u of users) {
      if (u.sockets <= 0) continue;
      total += u.sockets;
      this.#sql.exec(
        "INSERT INTO shard_sockets (shard, user_id, nickname, sockets) VALUES (?, ?, ?, ?)",
        shard,
        u.userId,
        u.nickname,
        u.sockets,
      );
    }
    this.#setCount(shard, total);
    const now = new Set(users.filter((u) => u.sockets > 0).map((u) => u.userId));
    return before.filter((u) => !now.has(u.userId));
  }

  #setCount(shard: number, n: number) {
    if (n > 0) this.#shardCounts().set(shard, n);
    else this.#shardCounts().delete(shard);
  }

  /** A frame for every shard that holds sockets (`only`: just this one, e.g. a user's sockets to close). */
  send(item: ShardItem, only?: number[]) {
    for (const shard of only ?? this.#shardCounts().keys()) {
      const link = this.#links.get(shard) ?? { queue: [], pumping: false };
      this.#links.set(shard, link);
      link.queue.push(item);
      if (link.queue.length > MAX_QUEUE) {
        const over = link.queue.length - MAX_QUEUE;
        // Closes are kept: a banned member's socket must still close when the shard is back.
        link.queue = [...link.queue.slice(0, over).filter((i) => "close" in i), ...link.queue.slice(over)];
        this.dropped += over;
      }
      if (!link.pumping) void this.#pump(shard, link);
    }
  }

  /** Shards where the user holds sockets. */
  shardsOf(userId: number): number[] {
    return this.#sql
      .exec<{ shard: number }>("SELECT shard FROM shard_sockets WHERE user_id = ?", userId)
      .toArray()
      .map((r) => r.shard);
  }

  async #pump(shard: number, link: Link) {
    link.pumping = true;
    let wait: number = RETRY.firstMs;
    try {
      while (link.queue.length) {
        const batch = link.queue.splice(0, MAX_BATCH);
        try {
          this.calls++;
          await this.#peer(shard).deliver(batch);
          wait = RETRY.firstMs;
        } catch (error) {
          // Back at the head: nothing after it goes first.
          link.queue.unshift(...batch);
          this.#log.warn("chat room: delivery to a shard failed; retrying", {
            error,
            shard,
            queued: link.queue.length,
          });
          await new Promise((r) => setTimeout(r, wait));
          wait = Math.min(wait * 2, RETRY.maxMs);
          // A shard whose sockets are all gone needs nothing more.
          if (!this.#shardCounts().has(shard)) link.queue = link.queue.filter((i) => "close" in i);
        }
      }
    } finally {
      link.pumping = false;
    }
  }
}
