/**
 * A minimal RESP2 client over node:net, just enough for the local stand-ins to talk to a real Redis.
 *
 * - Commands go out as arrays of bulk strings, so every argument is binary-safe.
 * - Bulk strings come back as Buffers and status replies as JS strings, so callers can still tell
 *   `+OK` from a stored value "OK" (the Upstash REST encoding treats them differently).
 * - Error replies are returned as RespError values, not thrown: in a pipeline or a transaction an
 *   error is just one reply among others. Only connection failures reject.
 * - Replies resolve in the order the commands were written (Redis answers a connection in order),
 *   so any number of commands may be in flight at once (pipelining).
 */
import net from "node:net";

/** An error reply from Redis (`-ERR ...`). Returned as a value; only connection failures throw. */
export class RespError extends Error {
  override name = "RespError";
}

export type RespValue = string | number | null | Buffer | RespError | RespValue[];
export type RespArg = string | Buffer | number;

const CRLF = Buffer.from("\r\n");

/**
 * Encodes one command as a RESP array of bulk strings. The framing and string arguments are built
 * as one JS string and turned into bytes once (a Buffer per argument was most of this function's
 * cost); Buffer arguments are copied in as they are, so binary values stay byte-exact.
 */
export function encodeCommand(args: readonly RespArg[]): Buffer {
  let text = `*${args.length}\r\n`;
  let parts: Buffer[] | undefined;
  for (const arg of args) {
    if (Buffer.isBuffer(arg)) {
      parts ??= [];
      parts.push(Buffer.from(`${text}$${arg.length}\r\n`, "utf8"), arg);
      text = "\r\n";
    } else {
      const str = String(arg);
      text += `$${Buffer.byteLength(str, "utf8")}\r\n${str}\r\n`;
    }
  }
  if (parts === undefined) return Buffer.from(text, "utf8");
  parts.push(Buffer.from(text, "utf8"));
  return Buffer.concat(parts);
}

/** A bulk string or array length; -1 means nil. */
function lengthOf(line: string): number {
  const len = Number(line);
  if (!Number.isInteger(len) || len < -1)
    throw new Error(`RESP protocol error: bad length ${JSON.stringify(line)}`);
  return len;
}

/** An array whose elements are still arriving. */
interface OpenArray {
  items: RespValue[];
  remaining: number;
}

/**
 * Incremental RESP2 reply parser. It is resumable: a partial reply stays in the buffer, and
 * arrays being filled sit on a stack, so a reply split across many TCP chunks is parsed in
 * linear time instead of being re-parsed from the start on every chunk.
 */
export class RespParser {
  #buf: Buffer = Buffer.alloc(0);
  #chunks: Buffer[] = [];
  #chunkBytes = 0;
  /** Total bytes needed before the next parse attempt can make progress (e.g. a big bulk string). */
  #need = 0;
  #stack: OpenArray[] = [];
  #onReply: (reply: RespValue) => void;

  constructor(onReply: (reply: RespValue) => void) {
    this.#onReply = onReply;
  }

  /** Feeds bytes from the socket; calls onReply for each complete reply. Throws on a protocol error. */
  feed(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#chunkBytes += chunk.length;
    if (this.#buf.length + this.#chunkBytes < this.#need) return;
    this.#buf =
      this.#buf.length === 0 && this.#chunks.length === 1
        ? chunk
        : Buffer.concat([this.#buf, ...this.#chunks]);
    this.#chunks = [];
    this.#chunkBytes = 0;
    this.#need = 0;

    let offset = 0;
    for (;;) {
      const step = this.#parseOne(offset);
      if (step === undefined) break;
      offset = step.next;
      if (step.kind === "value") this.#complete(step.value);
    }
    this.#buf = this.#buf.subarray(offset);
    if (this.#need > 0) this.#need -= offset;
  }

  /** Parses one element header (and its payload for scalars) at offset, or returns undefined if incomplete. */
  #parseOne(
    offset: number,
  ): { kind: "value"; value: RespValue; next: number } | { kind: "open"; next: number } | undefined {
    const buf = this.#buf;
    if (offset >= buf.length) return undefined;
    const lineEnd = buf.indexOf(CRLF, offset);
    if (lineEnd === -1) {
      this.#need = buf.length + 1;
      return undefined;
    }
    const type = buf[offset];
    const line = buf.toString("utf8", offset + 1, lineEnd);
    const next = lineEnd + 2;
    switch (type) {
      case 0x2b: // '+' status
        return { kind: "value", value: line, next };
      case 0x2d: // '-' error
        return { kind: "value", value: new RespError(line), next };
      case 0x3a: // ':' integer
        return { kind: "value", value: Number(line), next };
      case 0x24: {
        // '$' bulk string
        const len = lengthOf(line);
        if (len < 0) return { kind: "value", value: null, next };
        const end = next + len;
        if (buf.length < end + 2) {
          this.#need = end + 2;
          return undefined;
        }
        // Copy out so a reply does not pin the whole read buffer in memory.
        return { kind: "value", value: Buffer.from(buf.subarray(next, end)), next: end + 2 };
      }
      case 0x2a: {
        // '*' array
        const len = lengthOf(line);
        if (len < 0) return { kind: "value", value: null, next };
        if (len === 0) return { kind: "value", value: [], next };
        this.#stack.push({ items: [], remaining: len });
        return { kind: "open", next };
      }
      default:
        throw new Error(`RESP protocol error: unexpected type byte ${String(type)}`);
    }
  }

  /** Hands a finished value to its enclosing array, closing arrays that become full, or emits it. */
  #complete(value: RespValue): void {
    let done = value;
    for (;;) {
      const top = this.#stack.at(-1);
      if (top === undefined) {
        this.#onReply(done);
        return;
      }
      top.items.push(done);
      if (--top.remaining > 0) return;
      this.#stack.pop();
      done = top.items;
    }
  }
}

export interface RespConnectOptions {
  host: string;
  port: number;
  /** SELECT this database right after connecting. */
  db?: number;
  /** Give up connecting after this long (default 2000 ms), so an outage fails fast instead of hanging. */
  connectTimeoutMs?: number;
  /**
   * If replies are outstanding and the socket has been silent this long, the connection is declared
   * dead (default 30000 ms; 0 disables). Guards against a frozen Redis; an idle connection never times out.
   */
  replyTimeoutMs?: number;
}

interface Waiter {
  resolve: (reply: RespValue) => void;
  reject: (error: Error) => void;
}

/** One pipelined connection to Redis. Use RespConnection.connect to create one. */
export class RespConnection {
  #socket: net.Socket;
  /** FIFO of callers awaiting replies; entries before #head are already answered. */
  #waiters: (Waiter | undefined)[] = [];
  #head = 0;
  #closedError: Error | undefined;
  #closeListeners: Array<(error: Error) => void> = [];
  /** Encoded commands not yet written: flushed together once per event-loop turn (see #write). */
  #outgoing: Buffer[] = [];
  #flushScheduled = false;

  private constructor(socket: net.Socket, replyTimeoutMs: number) {
    this.#socket = socket;
    const parser = new RespParser((reply) => this.#deliver(reply));
    socket.on("data", (chunk: Buffer) => {
      try {
        parser.feed(chunk);
      } catch (error) {
        this.#fail(error as Error);
      }
    });
    socket.on("error", (error) => this.#fail(error));
    socket.on("close", () => this.#fail(new Error("Redis connection closed")));
    if (replyTimeoutMs > 0) {
      socket.setTimeout(replyTimeoutMs, () => {
        if (this.pending > 0) this.#fail(new Error(`Redis did not answer within ${replyTimeoutMs} ms`));
      });
    }
  }

  static connect(opts: RespConnectOptions): Promise<RespConnection> {
    const connectTimeoutMs = opts.connectTimeoutMs ?? 2000;
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: opts.host, port: opts.port });
      socket.setNoDelay(true);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(
          new Error(
            `connecting to Redis at ${opts.host}:${opts.port} timed out after ${connectTimeoutMs} ms`,
          ),
        );
      }, connectTimeoutMs);
      const onError = (error: Error) => {
        clearTimeout(timer);
        socket.destroy();
        reject(error);
      };
      socket.once("error", onError);
      socket.once("connect", () => {
        clearTimeout(timer);
        socket.off("error", onError);
        const conn = new RespConnection(socket, opts.replyTimeoutMs ?? 30_000);
        if (!opts.db) {
          resolve(conn);
          return;
        }
        conn.send(["SELECT", opts.db]).then((reply) => {
          if (reply instanceof RespError) {
            conn.close();
            reject(reply);
          } else {
            resolve(conn);
          }
        }, reject);
      });
    });
  }

  /** Replies still outstanding on this connection. */
  get pending(): number {
    return this.#waiters.length - this.#head;
  }

  /** Set once the connection is unusable; the reason it died. */
  get closedError(): Error | undefined {
    return this.#closedError;
  }

  /** Calls listener once when the connection dies (immediately if it already has). */
  onClose(listener: (error: Error) => void): void {
    if (this.#closedError) listener(this.#closedError);
    else this.#closeListeners.push(listener);
  }

  /** Sends one command; resolves with its reply (a RespError for an error reply). */
  send(args: readonly RespArg[]): Promise<RespValue> {
    if (this.#closedError) return Promise.reject(this.#closedError);
    // The one-command case without sendMany's array of promises: it is every REST request but pipelines.
    const reply = new Promise<RespValue>((resolve, reject) => {
      this.#waiters.push({ resolve, reject });
    });
    this.#enqueue(encodeCommand(args));
    return reply;
  }

  /**
   * Sends several commands in a single socket write, so nothing else sent on this connection can
   * land between them (that is what makes MULTI ... EXEC safe on a shared pipelined connection).
   */
  sendMany(commands: readonly (readonly RespArg[])[]): Promise<RespValue[]> {
    return this.#write(commands);
  }

  close(): void {
    this.#fail(new Error("Redis connection closed by client"));
  }

  #write(commands: readonly (readonly RespArg[])[]): Promise<RespValue[]> {
    if (this.#closedError) return Promise.reject(this.#closedError);
    if (commands.length === 0) return Promise.resolve([]);
    const replies = commands.map(
      () =>
        new Promise<RespValue>((resolve, reject) => {
          this.#waiters.push({ resolve, reject });
        }),
    );
    // One buffer: whatever is flushed with it, these commands stay back to back (MULTI ... EXEC).
    this.#enqueue(
      commands.length === 1 ? encodeCommand(commands[0] ?? []) : Buffer.concat(commands.map(encodeCommand)),
    );
    return Promise.all(replies);
  }

  /**
   * Queues encoded bytes and writes everything queued in one socket write at the end of this
   * event-loop turn (setImmediate runs after all the I/O callbacks of the turn). Under load many
   * HTTP requests arrive in the same turn: one write (and one wake-up of Redis, one read of its
   * answers) instead of one per command is most of the stand-in's CPU saved, and on a machine
   * whose cores the Worker needs that matters. Order is unchanged: waiters and bytes are queued in
   * the same order, and a command's bytes never get split.
   */
  #enqueue(bytes: Buffer): void {
    this.#outgoing.push(bytes);
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(this.#flush);
  }

  #flush = (): void => {
    this.#flushScheduled = false;
    const out = this.#outgoing;
    this.#outgoing = [];
    // A connection that died meanwhile has already rejected these commands' waiters.
    if (this.#closedError || out.length === 0) return;
    this.#socket.write(out.length === 1 ? (out[0] as Buffer) : Buffer.concat(out));
  };

  #deliver(reply: RespValue): void {
    const waiter = this.#waiters[this.#head];
    if (waiter === undefined) {
      this.#fail(new Error("RESP protocol error: reply without a pending command"));
      return;
    }
    this.#waiters[this.#head++] = undefined;
    // Compact now and then instead of shift()ing on every reply.
    if (this.#head > 1024 && this.#head * 2 > this.#waiters.length) {
      this.#waiters = this.#waiters.slice(this.#head);
      this.#head = 0;
    }
    waiter.resolve(reply);
  }

  #fail(error: Error): void {
    if (this.#closedError) return;
    this.#closedError = error;
    this.#outgoing = [];
    this.#socket.destroy();
    const waiters = this.#waiters.slice(this.#head);
    this.#waiters = [];
    this.#head = 0;
    for (const waiter of waiters) waiter?.reject(error);
    for (const listener of this.#closeListeners.splice(0)) listener(error);
  }
}
