// A local stand-in for PlanetScale's HTTP API (the one `@planetscale/database` speaks), backed by
// real MySQL/MariaDB through mysql2. Production talks to PlanetScale; locally and in tests the
// Worker points the same client at `url` below, and the client keeps plain http: for it.
//
// The API is two JSON-over-POST calls with Basic auth:
//   /psdb.v1alpha1.Database/CreateSession  {}                 → { session, … }
//   /psdb.v1alpha1.Database/Execute        { query, session } → { session, result | error, timing }

import { createHash, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createPool } from "mysql2/promise";
import { closeServer, listen, readBody, sendJson } from "../http.ts";
import { requestError } from "./errors.ts";
import { SessionManager, type StatementFault } from "./sessions.ts";

export interface PlanetscaleStandin {
  url: string;
  port: number;
  /** Delay added to every request from now on (production's network round trip; 0 = none). */
  setLatency(ms: number): void;
  /** Fault tests: statements containing `match` fail like a deadlock (1213) or lock wait timeout (1205). */
  injectFault(fault: StatementFault): void;
  /** Returns how many statements the cleared faults failed. */
  clearFaults(match?: string): number;
  close(): Promise<void>;
}

export interface PlanetscaleStandinOptions {
  port?: number; // 0 / undefined: a free port; always on 127.0.0.1
  mysql: { host: string; port: number; user: string; password: string };
  database: string; // every session uses it; it must already exist
  username: string; // the Basic-auth credentials clients must send
  password: string;
  poolSize?: number; // MySQL connections at most; requests queue for one beyond that
  idleTransactionMs?: number; // a transaction idle this long is rolled back (default 30 s)
  latencyMs?: number; // added before each request is handled: a round trip to a remote region
}

const PATH_PREFIX = "/psdb.v1alpha1.Database/";
const MAX_BODY_BYTES = 64 * 1024 * 1024;

export async function startPlanetscaleStandin(opts: PlanetscaleStandinOptions): Promise<PlanetscaleStandin> {
  const pool = createPool({
    ...opts.mysql,
    database: opts.database,
    connectionLimit: opts.poolSize ?? 40,
    waitForConnections: true,
    queueLimit: 0, // never refuse: queue until a connection frees up
    // Hand back the text protocol's raw bytes untouched: that is exactly what PlanetScale puts
    // on the wire, so DATETIME(6), DECIMAL, BIGINT, JSON and BLOB round-trip without any parsing.
    typeCast: false,
    rowsAsArray: true, // keeps duplicate column names (joins) apart
    supportBigNumbers: true,
    bigNumberStrings: true, // exact insertId / affectedRows past 2^53
    charset: "utf8mb4",
    // MySQL's default affected-rows semantics (changed rows, not matched), as Vitess reports them.
    flags: ["-FOUND_ROWS"],
    multipleStatements: false,
    // No probe at start-up: like PlanetScale's API, the stand-in stays up while MySQL is down
    // (fault tests point it at a dead port) and each statement fails fast with an error instead.
    connectTimeout: 3_000,
    // No call-site stack captured for every query (mysql2's promise API does that by default, an
    // Error.captureStackTrace per statement): only `err.stack` would change, and nothing reads it.
    trace: false,
  });
  // PlanetScale runs in UTC: make NOW() and TIMESTAMP columns agree whatever the host's zone is.
  // The 'connection' event fires before the pool hands the connection out, so this runs first.
  pool.pool.on("connection", (conn) => {
    conn.query("SET time_zone = '+00:00'", (err) => err && conn.destroy());
  });

  const sessions = new SessionManager(pool, opts.idleTransactionMs ?? 30_000, {
    database: opts.database,
    username: opts.username,
  });
  const checkAuth = basicAuthChecker(opts.username, opts.password);

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      // Only reached on a bug or a broken socket: answer if we still can, never crash.
      if (!res.headersSent) sendJson(res, 500, { code: "internal", message: String(err) });
      else res.destroy();
    });
  });

  let latencyMs = opts.latencyMs ?? 0;
  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Before the statement runs: a transaction's locks then stay held across the delay, as they do
    // across the network between two statements in production.
    if (latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, latencyMs));
    const method = apiMethod(req.url ?? "/");
    if (method !== "CreateSession" && method !== "Execute") {
      return sendJson(res, 404, requestError("NOT_FOUND", "Not Found"));
    }
    if (req.method !== "POST") return sendJson(res, 405, requestError("METHOD_NOT_ALLOWED", "use POST"));
    if (!checkAuth(req.headers.authorization)) {
      return sendJson(res, 401, requestError("UNAUTHENTICATED", "invalid username or password"));
    }
    const body = await readJson(req);
    if (body === undefined) {
      return sendJson(res, 400, {
        error: { code: "INVALID_ARGUMENT", message: "request body must be JSON (at most 64 MiB)" },
      });
    }
    if (method === "CreateSession") {
      return sendJson(res, 200, {
        branch: opts.database,
        user: { username: opts.username },
        session: sessions.newSession(),
      });
    }
    const { query, session } = body as { query?: unknown; session?: unknown };
    if (typeof query !== "string" || query.trim() === "") {
      return sendJson(res, 400, {
        error: { code: "INVALID_ARGUMENT", message: "query must be a non-empty string" },
      });
    }
    const started = performance.now();
    const outcome = await sessions.execute(session, query);
    const timing = (performance.now() - started) / 1000; // seconds, like PlanetScale
    sendJson(res, 200, { ...outcome, timing });
  }

  const port = await listen(server, opts.port);
  const userinfo = `${encodeURIComponent(opts.username)}:${encodeURIComponent(opts.password)}`;

  let closing: Promise<void> | undefined;
  return {
    url: `http://${userinfo}@127.0.0.1:${port}`,
    port,
    setLatency(ms) {
      latencyMs = ms;
    },
    injectFault: (fault) => sessions.injectFault(fault),
    clearFaults: (match) => sessions.clearFaults(match),
    close() {
      closing ??= (async () => {
        await closeServer(server);
        await sessions.close();
        await pool.end();
        // Let in-process clients (tests, the dev stack) read the FIN of their keep-alive sockets:
        // otherwise a stand-in restarted on the same port gets requests written to dead sockets.
        await new Promise((resolve) => setImmediate(resolve));
      })();
      return closing;
    },
  };
}

/** The two paths the client calls, as it sends them: no URL parsing needed for those. */
const KNOWN_PATHS = new Map([
  [`${PATH_PREFIX}CreateSession`, "CreateSession"],
  [`${PATH_PREFIX}Execute`, "Execute"],
]);

/** The API method a request path names ("" for none); any other spelling goes through WHATWG URL parsing. */
function apiMethod(url: string): string {
  const known = KNOWN_PATHS.get(url);
  if (known !== undefined) return known;
  const path = new URL(url, "http://standin").pathname;
  return path.startsWith(PATH_PREFIX) ? path.slice(PATH_PREFIX.length) : "";
}

/**
 * Compares Basic credentials in constant time. The client builds the header with btoa(), i.e.
 * Latin-1, from `new URL(url)`, whose username/password stay percent-encoded; so the Latin-1,
 * UTF-8 and percent-decoded readings are all accepted.
 */
function basicAuthChecker(username: string, password: string): (header: string | undefined) => boolean {
  const expected = digest(`${username}:${password}`);
  // A client sends the same header on every request: once a header passed the full check below
  // (a regex, base64, four readings, five SHA-256s), the next requests compare its digest only.
  let accepted: Buffer | undefined;
  return (header) => {
    const headerDigest = digest(header ?? "");
    if (accepted && timingSafeEqual(headerDigest, accepted)) return true;
    const match = /^Basic\s+(\S+)$/i.exec(header ?? "");
    if (!match?.[1]) return false;
    const raw = Buffer.from(match[1], "base64");
    const readings = [raw.toString("latin1"), raw.toString("utf8")].flatMap((text) => [
      text,
      decodeUserinfo(text),
    ]);
    const ok = readings.map((text) => timingSafeEqual(digest(text), expected)).includes(true);
    if (ok) accepted = headerDigest;
    return ok;
  };
}

function decodeUserinfo(text: string): string {
  const colon = text.indexOf(":");
  return colon < 0 ? text : `${safeDecode(text.slice(0, colon))}:${safeDecode(text.slice(colon + 1))}`;
}

function digest(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** Resolves to the parsed body, or undefined when it isn't JSON (an empty body counts as `{}`). */
async function readJson(req: IncomingMessage): Promise<unknown> {
  const raw = await readBody(req, MAX_BODY_BYTES);
  if (raw === undefined) return undefined;
  const text = raw.toString("utf8");
  if (text.trim() === "") return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
