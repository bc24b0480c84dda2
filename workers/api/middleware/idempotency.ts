import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import type { ContentfulStatusCode, StatusCode } from "hono/utils/http-status";
import { AppError } from "../../lib/errors";
import { sha256Hex } from "../../lib/hex";
import { scriptOf } from "../../lib/redis-scripts";
import type { Services } from "../../lib/services";
import type { HonoEnv } from "../hono-env";

/**
 * `Idempotency-Key` for retryable writes (DESIGN.md, pretix's rules), as route middleware placed
 * after `requireAuth()`. The key is scoped per user and per route; Redis holds one entry per key:
 *   pending {fp, token}  while the first request runs (expires after IN_FLIGHT_MS if its Worker dies)
 *   done {fp, status, body} for 24 h: every repeat gets the first answer, byte for byte.
 * 409, 429 and 5xx answers are forgotten so the client can retry them. A repeat while the first is
 * still running waits for its answer (up to WAIT_MS) instead of failing at once: a client that
 * retries on a timeout then still gets the one reservation it made; only past the wait is it a 409.
 * The same key with another body (or another path) is a 422: it is a client bug.
 * Without the header the route runs as is. With it and Redis down we answer 503 rather than risk
 * running the write twice.
 *
 * `durable: true` is for a route that stores the key with its own write in the same atomic step
 * (POST reservations: reservations/confirm.ts) and so survives a Worker dying between its write and
 * its answer, which a Redis claim cannot: such a route is never blocked by a pending claim (a dead
 * Worker's claim would turn every retry into a 409 for IN_FLIGHT_MS). Redis then only remembers the
 * answers the route does not store (rule violations) so that they replay byte for byte. The route
 * itself reads the entry, in the one Redis script of its sale-day gate (reservations/gate.ts, with
 * `replayEntry`), and sets `user` once that gate passed; this middleware only remembers the answer
 * afterwards, and only for a caller the gate let in.
 */
export const IDEMPOTENCY_TTL_MS = 24 * 3600 * 1000;
const IN_FLIGHT_MS = 30_000;
const WAIT_MS = 8_000;
const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

interface Pending {
  s: "p";
  fp: string;
  token: string;
}
interface Done {
  s: "d";
  fp: string;
  status: number;
  body: string;
  contentType: string | null;
  /** A create's `Location` is part of its answer (absent in entries stored before it was kept). */
  location?: string | null;
}

// Replaces our own pending entry (and only ours: it may have expired and been taken over).
const FINISH = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == '' then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) end
return 1
`;

const remembered = (status: number) => status !== 409 && status !== 429 && status < 500;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Through the context, so the replay carries this request's own headers (x-request-id). */
function replay(c: Context<HonoEnv>, done: Done): Response {
  c.header("Idempotent-Replayed", "true");
  if (done.contentType) c.header("content-type", done.contentType);
  if (done.location) c.header("location", done.location);
  const status = done.status as ContentfulStatusCode;
  return done.body ? c.body(done.body, status) : c.body(null, done.status as StatusCode);
}

const unavailable = () =>
  new AppError(
    503,
    "idempotency.unavailable",
    "Idempotency keys cannot be checked right now; retry shortly",
    {
      headers: {
        "Retry-After": "1",
      },
    },
  );

/** What `idempotent` answers, for the OpenAPI responses of the routes that use it. */
export const IDEMPOTENCY_ERRORS = [
  [400, "idempotency.invalid_key"],
  [409, "idempotency.in_flight"],
  [422, "idempotency.key_reused"],
  [503, "idempotency.unavailable"],
] as const;

export interface IdempotencyHashes {
  keyHash: string;
  requestHash: string;
}

const hashed = new WeakMap<Request, Promise<IdempotencyHashes | undefined>>();

/**
 * The request's key and fingerprint as SHA-256 hex, for a durable route to store; undefined without
 * a key. Computed once per request (the middleware and a durable route both ask).
 */
export function idempotencyOf(c: Context<HonoEnv>): Promise<IdempotencyHashes | undefined> {
  let got = hashed.get(c.req.raw);
  if (!got) {
    got = hashesOf(c);
    hashed.set(c.req.raw, got);
  }
  return got;
}

async function hashesOf(c: Context<HonoEnv>): Promise<IdempotencyHashes | undefined> {
  const key = c.req.header("idempotency-key");
  if (key === undefined) return undefined;
  if (!KEY_PATTERN.test(key)) {
    throw new AppError(
      400,
      "idempotency.invalid_key",
      "Idempotency-Key must be 1-255 visible ASCII characters",
    );
  }
  return {
    keyHash: await sha256Hex(key),
    requestHash: await sha256Hex(`${c.req.method} ${c.req.path}\n${await c.req.text()}`),
  };
}

/** `scope` names the route (e.g. "reservations.cancel"): keys of different routes never meet. */
export const idempotent = (scope: string, opts: { durable?: boolean } = {}) =>
  createMiddleware<HonoEnv>(async (c, next) => {
    const hashes = await idempotencyOf(c);
    if (!hashes) return next();
    const s = c.get("services");
    if (opts.durable) return durable(c, next, scope, hashes);
    const redisKey = idempotencyKey(s, scope, c.get("user").id, hashes.keyHash);
    const fp = hashes.requestHash;
    const pending = JSON.stringify({ s: "p", fp, token: crypto.randomUUID() } satisfies Pending);

    const deadline = Date.now() + WAIT_MS;
    for (let delay = 20; ; delay = Math.min(delay * 1.5, 250)) {
      const entry = await claimOrRead(s, redisKey, pending);
      if (entry === "claimed") break;
      if (entry) {
        if (entry.fp !== fp) {
          throw new AppError(
            422,
            "idempotency.key_reused",
            "This Idempotency-Key was already used with a different request",
          );
        }
        if (entry.s === "d") return replay(c, entry);
        if (Date.now() >= deadline) {
          throw new AppError(
            409,
            "idempotency.in_flight",
            "A request with this Idempotency-Key is still being processed; retry shortly",
            { headers: { "Retry-After": "1" } },
          );
        }
      }
      await sleep(delay * (0.5 + Math.random()));
    }

    try {
      await next();
    } catch (err) {
      await finish(s, redisKey, pending, "").catch(() => {});
      throw err;
    }
    const res = c.res;
    const done = await answerOf(res, fp);
    try {
      await finish(s, redisKey, pending, remembered(res.status) ? JSON.stringify(done) : "");
    } catch (err) {
      // The write happened: answer it. The pending entry expires on its own.
      c.get("logger").error("idempotency result not stored", { error: err, scope });
    }
  });

/** What a repeat gets back: the first answer's status, body and the headers that belong to it. */
async function answerOf(res: Response, fp: string): Promise<Done> {
  return {
    s: "d",
    fp,
    status: res.status,
    body: await res.clone().text(),
    contentType: res.headers.get("content-type"),
    location: res.headers.get("location"),
  };
}

/** One entry per user, route and key. */
export const idempotencyKey = (s: Services, scope: string, userId: number, keyHash: string) =>
  s.key("idem", scope, userId, keyHash);

/**
 * A durable route's gate found this entry: a remembered answer is replayed (a 422 when the key came
 * with another request); anything else (the gate's own "attempted" mark) is undefined.
 */
export function replayEntry(c: Context<HonoEnv>, raw: string, fp: string): Response | undefined {
  let entry: Pending | Done | { s: "a"; fp: string };
  try {
    entry = JSON.parse(raw) as Pending | Done;
  } catch {
    return undefined;
  }
  if (entry.s !== "d") return undefined;
  if (entry.fp !== fp) {
    throw new AppError(
      422,
      "idempotency.key_reused",
      "This Idempotency-Key was already used with a different request",
    );
  }
  return replay(c, entry);
}

/** See `durable` above: remember what the route does not store, for a caller its gate let in. */
async function durable(
  c: Context<HonoEnv>,
  next: () => Promise<void>,
  scope: string,
  hashes: IdempotencyHashes,
) {
  await next();
  const res = c.res;
  // 2xx answers live with the route's own write; forgotten statuses are never stored.
  const user = c.get("user") as HonoEnv["Variables"]["user"] | undefined;
  if (!user || res.status < 300 || !remembered(res.status)) return;
  const s = c.get("services");
  const done = await answerOf(res, hashes.requestHash);
  await s.redis
    .set(idempotencyKey(s, scope, user.id, hashes.keyHash), JSON.stringify(done), { px: IDEMPOTENCY_TTL_MS })
    .catch((err: unknown) => c.get("logger").warn("idempotency answer not stored", { error: err }));
}

/** Stores the answer in place of our pending entry, or drops the entry when `value` is empty. */
function finish(s: Services, redisKey: string, pending: string, value: string) {
  return scriptOf(s.redis, FINISH).exec([redisKey], [pending, value, String(IDEMPOTENCY_TTL_MS)]);
}

/** "claimed" when this request owns the key, else the entry found (undefined if it just vanished). */
async function claimOrRead(
  s: Services,
  redisKey: string,
  pending: string,
): Promise<"claimed" | Pending | Done | undefined> {
  try {
    if (await s.redis.set(redisKey, pending, { nx: true, px: IN_FLIGHT_MS })) return "claimed";
    const raw = await s.redis.get<string>(redisKey);
    return raw ? (JSON.parse(raw) as Pending | Done) : undefined;
  } catch {
    throw unavailable();
  }
}
