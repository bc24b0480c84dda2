/**
 * A small pool of pipelined Redis connections that reconnects by itself.
 *
 * Redis runs commands one at a time anyway, so a handful of pipelined connections serve hundreds of
 * concurrent HTTP requests; more than one only keeps a single huge reply from delaying everything.
 * A connection that dies (Redis restarted, socket reset, reply timeout) fails its in-flight commands
 * and is replaced on next use; while Redis is down every request fails fast (refused, or the connect
 * timeout) rather than queueing forever.
 */
import { type RespArg, RespConnection, type RespValue } from "../resp.ts";

export interface PoolOptions {
  host: string;
  port: number;
  db?: number;
  size?: number;
  connectTimeoutMs?: number;
}

export class RedisPool {
  #opts: PoolOptions;
  #slots: Array<Promise<RespConnection> | undefined>;
  #next = 0;
  #rotateScheduled = false;
  #closed = false;

  constructor(opts: PoolOptions) {
    this.#opts = opts;
    this.#slots = new Array(Math.max(1, opts.size ?? 4)).fill(undefined);
  }

  /** Runs one command on some pooled connection. */
  async send(args: readonly RespArg[]): Promise<RespValue> {
    return (await this.#pick()).send(args);
  }

  /** Runs several commands back to back on one connection, written in a single socket write. */
  async sendMany(commands: readonly (readonly RespArg[])[]): Promise<RespValue[]> {
    return (await this.#pick()).sendMany(commands);
  }

  async close(): Promise<void> {
    this.#closed = true;
    const slots = this.#slots.splice(0);
    await Promise.allSettled(slots.map(async (slot) => (await slot)?.close()));
  }

  /**
   * Round-robin over the slots, (re)connecting an empty or dead slot on demand. It moves on once per
   * event-loop turn, not per command: a connection writes what a turn queued in one go (resp.ts), so
   * the commands of one turn on one connection make one write where spread over all they made four.
   */
  #pick(): Promise<RespConnection> {
    if (this.#closed) return Promise.reject(new Error("Redis pool is closed"));
    const index = this.#next;
    if (!this.#rotateScheduled) {
      this.#rotateScheduled = true;
      setImmediate(() => {
        this.#rotateScheduled = false;
        this.#next = (this.#next + 1) % Math.max(1, this.#slots.length);
      });
    }
    const existing = this.#slots[index];
    if (existing) return existing;

    const connecting = RespConnection.connect({
      host: this.#opts.host,
      port: this.#opts.port,
      db: this.#opts.db,
      connectTimeoutMs: this.#opts.connectTimeoutMs,
    });
    this.#slots[index] = connecting;
    // Empty the slot when the attempt fails or the connection later dies, so the next request
    // reconnects. Only clear it if it still holds this attempt (a newer one may have replaced it).
    const clear = () => {
      if (this.#slots[index] === connecting) this.#slots[index] = undefined;
    };
    connecting.then((conn) => conn.onClose(clear), clear);
    return connecting;
  }
}
