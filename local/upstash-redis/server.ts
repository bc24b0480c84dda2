/**
 * Local stand-in for the Upstash Redis REST API, backed by a real Redis, so the unmodified
 * official client works against it:
 *
 *   new Redis({ url: standin.url, token: standin.token })
 *
 * Endpoints, as Upstash serves them:
 * - POST /             body ["SET","k","v"]                → {result} | 400 {error}
 * - POST /pipeline     body [[...],[...]]                  → [{result}|{error}, ...] (one failure does not stop the rest)
 * - POST /multi-exec   body [[...],[...]]                  → same shape, run in MULTI/EXEC; a queue-time error aborts it (400)
 * - GET|POST /cmd/arg/arg?opt=val  path form; a POST body is appended as one raw argument, then query params
 * Auth: `Authorization: Bearer <token>` (or `?_token=`), else 401 {"error":"Unauthorized"}.
 * Redis unreachable: 503 {error}, never a hang (the pool has a connect timeout).
 * `Upstash-Encoding: base64` switches result strings to base64, see encode.ts.
 */
import http from "node:http";
import { closeServer, listen, readBody, sendJson } from "../http.ts";
import { RespError } from "../resp.ts";
import { type Prepared, type PreparedCommand, prepareCommand } from "./commands.ts";
import { type Entry, encodeResult, toEntry } from "./encode.ts";
import { RedisPool } from "./pool.ts";

export interface RedisStandin {
  url: string;
  port: number;
  token: string;
  /** Delay added to every request from now on (production's network round trip; 0 = none). */
  setLatency(ms: number): void;
  /**
   * Fault injection: while on, every authorized request is answered 200 with JSON of the wrong shape
   * (`{"result":{"garbage":true}}`), as a broken proxy in front of Upstash might. Drives the Worker's
   * unexpected-error path (generic 500, logged with the request id) through its public interface.
   */
  setGarbage(on: boolean): void;
  close(): Promise<void>;
}

export interface RedisStandinOptions {
  /** 0 or undefined: a free port. Always listens on 127.0.0.1. */
  port?: number;
  /** The real Redis; `db` is SELECTed on every connection, and is the whole "Upstash database". */
  redis: { host: string; port: number; db?: number };
  /** Bearer token clients must send. */
  token: string;
  /** Added before each request is handled: a round trip to a remote region. */
  latencyMs?: number;
}

/** Upstash accepts large values; this only guards the process against runaway bodies. */
const MAX_BODY_BYTES = 32 * 1024 * 1024;

/** A failure answered with an HTTP status and an Upstash-style `{error}` body. */
class HttpError extends Error {
  status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

export async function startRedisStandin(opts: RedisStandinOptions): Promise<RedisStandin> {
  const pool = new RedisPool({ host: opts.redis.host, port: opts.redis.port, db: opts.redis.db, size: 4 });
  let latencyMs = opts.latencyMs ?? 0;
  let garbage = false;
  const delayed = async (req: http.IncomingMessage): Promise<Reply> => {
    if (latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, latencyMs));
    if (garbage && authorized(req, requestUrl(req), opts.token)) {
      req.resume();
      return { status: 200, body: { result: { garbage: true } } };
    }
    return handle(req, opts.token, pool);
  };
  const server = http.createServer((req, res) => {
    delayed(req).then(
      ({ status, body }) => sendJson(res, status, body),
      (error: unknown) => {
        const status = error instanceof HttpError ? error.status : 500;
        if (status === 500) console.error("upstash-redis stand-in: unexpected error", error);
        sendJson(res, status, { error: error instanceof Error ? error.message : String(error) });
      },
    );
  });

  const port = await listen(server, opts.port);

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    token: opts.token,
    setLatency(ms) {
      latencyMs = ms;
    },
    setGarbage(on) {
      garbage = on;
    },
    async close() {
      await closeServer(server);
      await pool.close();
    },
  };
}

interface Reply {
  status: number;
  body: unknown;
}

async function handle(req: http.IncomingMessage, token: string, pool: RedisPool): Promise<Reply> {
  const method = req.method ?? "GET";
  if (method !== "GET" && method !== "POST" && method !== "PUT") {
    throw new HttpError(405, "ERR method not allowed");
  }
  const url = requestUrl(req);
  if (!authorized(req, url, token)) throw new HttpError(401, "Unauthorized");

  const base64 = String(req.headers["upstash-encoding"] ?? "").toLowerCase() === "base64";
  const body = method === "GET" ? Buffer.alloc(0) : await readBody(req, MAX_BODY_BYTES);
  if (body === undefined) throw new HttpError(413, "ERR request body too large");
  const path = url.pathname;

  if (method !== "GET" && path === "/") {
    return runSingle(pool, prepareCommand(parseCommand(parseJson(body))), base64);
  }
  if (method !== "GET" && (path === "/pipeline" || path === "/multi-exec")) {
    const commands = parseJson(body);
    if (!Array.isArray(commands) || commands.length === 0) {
      throw new HttpError(400, "ERR expected a non-empty array of commands");
    }
    const parsed = commands.map(parseCommand);
    return path === "/pipeline" ? runPipeline(pool, parsed, base64) : runTransaction(pool, parsed, base64);
  }
  return runSingle(pool, pathCommand(url, body), base64);
}

/** What a request's URL is read for: the path and the query parameters. */
type RequestUrl = Pick<URL, "pathname" | "searchParams">;

/** The JSON endpoints the client posts to, spelled as it sends them: nothing for URL parsing to change. */
const JSON_ENDPOINTS = new Map<string, RequestUrl>(
  ["/", "/pipeline", "/multi-exec"].map((pathname) => [
    pathname,
    { pathname, searchParams: new URLSearchParams() },
  ]),
);

/** The request's URL; the JSON endpoints skip `new URL`, a good part of a request's own CPU under load. */
function requestUrl(req: http.IncomingMessage): RequestUrl {
  const raw = req.url ?? "/";
  return JSON_ENDPOINTS.get(raw) ?? new URL(raw, "http://localhost");
}

/** Bearer header first; the `_token` query parameter only when there is no Authorization header. */
function authorized(req: http.IncomingMessage, url: RequestUrl, token: string): boolean {
  const header = req.headers.authorization;
  if (header !== undefined) return header === `Bearer ${token}`;
  return url.searchParams.get("_token") === token;
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString("utf8"));
  } catch {
    throw new HttpError(400, "ERR failed to parse command: request body is not valid JSON");
  }
}

/** A JSON command: an array whose items are strings, numbers or booleans (the client's serialiser emits these). */
function parseCommand(value: unknown): string[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new HttpError(400, "ERR failed to parse command: expected a non-empty JSON array");
  }
  return value.map((arg) => {
    if (typeof arg === "string") return arg;
    if (typeof arg === "number" || typeof arg === "boolean") return String(arg);
    throw new HttpError(400, "ERR failed to parse command: arguments must be strings, numbers or booleans");
  });
}

/**
 * `/set/key/value?EX=100` → SET key value EX 100. A POST body is one more raw (binary-safe)
 * argument, after the path segments and before the query parameters.
 */
function pathCommand(url: RequestUrl, body: Buffer): Prepared {
  const segments = url.pathname.split("/").slice(1).map(decodeSegment);
  if (segments.length === 0 || segments[0] === "") throw new HttpError(400, "ERR empty command");
  const query: string[] = [];
  for (const [key, value] of url.searchParams) {
    if (key === "_token") continue;
    query.push(key);
    if (value !== "") query.push(value);
  }
  const prepared = prepareCommand([...segments, ...query]);
  if ("refused" in prepared || body.length === 0) return prepared;
  const at = segments.length;
  return { ...prepared, args: [...prepared.args.slice(0, at), body, ...prepared.args.slice(at)] };
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new HttpError(400, "ERR failed to parse command: malformed URL encoding");
  }
}

/** Redis failed to answer (down, restarting, timed out): a 5xx the client turns into UpstashError. */
function unavailable(error: unknown): never {
  const reason = error instanceof Error ? error.message : String(error);
  throw new HttpError(503, `ERR Redis is unavailable: ${reason}`);
}

async function runSingle(pool: RedisPool, prepared: Prepared, base64: boolean): Promise<Reply> {
  if ("refused" in prepared) return { status: 400, body: { error: prepared.refused } };
  const raw = await pool.send(prepared.args).catch(unavailable);
  const reply = prepared.fixReply ? prepared.fixReply(raw) : raw;
  if (reply instanceof RespError) return { status: 400, body: { error: reply.message } };
  return { status: 200, body: { result: encodeResult(reply, base64) } };
}

/** Every command runs, in order, on one connection; refused ones just get an `{error}` entry. */
async function runPipeline(pool: RedisPool, commands: string[][], base64: boolean): Promise<Reply> {
  const prepared = commands.map(prepareCommand);
  const runnable = prepared.filter((p): p is PreparedCommand => !("refused" in p));
  const replies = await pool.sendMany(runnable.map((p) => p.args)).catch(unavailable);
  let next = 0;
  const entries: Entry[] = prepared.map((p) => {
    if ("refused" in p) return { error: p.refused };
    const raw = replies[next++] ?? null;
    return toEntry(p.fixReply ? p.fixReply(raw) : raw, base64);
  });
  return { status: 200, body: entries };
}

/**
 * MULTI, the commands and EXEC go out in one write on one connection, so no other request's command
 * can land inside the transaction even though the connection is shared. A command Redis refuses
 * to queue (unknown, wrong arity) makes EXEC discard everything: that is a 400 for the whole
 * request. Errors while executing (e.g. WRONGTYPE) are per-command `{error}` entries, and the
 * other commands still take effect, as in Redis.
 */
async function runTransaction(pool: RedisPool, commands: string[][], base64: boolean): Promise<Reply> {
  const prepared: PreparedCommand[] = [];
  for (const command of commands) {
    const p = prepareCommand(command);
    if ("refused" in p) return { status: 400, body: { error: p.refused } };
    prepared.push(p);
  }
  const replies = await pool
    .sendMany([["MULTI"], ...prepared.map((p) => p.args), ["EXEC"]])
    .catch(unavailable);
  const exec = replies.at(-1) ?? null;
  if (!Array.isArray(exec)) {
    const queueError = replies.slice(1, -1).find((r): r is RespError => r instanceof RespError);
    const execError = exec instanceof RespError ? exec.message : "EXECABORT Transaction discarded";
    const detail = queueError ? `${execError.replace(/\.$/, "")}: ${queueError.message}` : execError;
    return { status: 400, body: { error: detail } };
  }
  const entries: Entry[] = exec.map((raw, i) => {
    const fix = prepared[i]?.fixReply;
    return toEntry(fix ? fix(raw) : raw, base64);
  });
  return { status: 200, body: entries };
}
