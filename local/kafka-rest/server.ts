import { mkdir } from "node:fs/promises";
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import { createServer } from "node:http";
import { resolve } from "node:path";
import { closeServer, listen, sendJson } from "../http.ts";
import { ApiError } from "./errors.ts";
import { ConsumerGroups, INSTANCE_IDLE_TIMEOUT_MS, OffsetStore } from "./groups.ts";
import { hasValidBasicAuth, readJsonBody, sendError } from "./http.ts";
import { LogStore } from "./log.ts";
import { topicName } from "./requests.ts";
import { upstashRouter } from "./upstash.ts";
import { v2Router } from "./v2.ts";

/**
 * Local stand-in for Kafka over HTTP, on a durable file log, in both REST dialects the chat can speak:
 * Upstash's (./upstash.ts, driven by the unmodified `@upstash/kafka` in its conformance test) and the
 * Confluent REST Proxy API v2 (./v2.ts). Both read and write the same topics and consumer groups.
 *
 * Topics are never created by produce or consume (answered 404, as the real services answer with
 * auto-creation off): creating one is an operator step, here `POST /admin/topics {topic, partitions}`
 * (or the `topics` start-up option). `POST /admin/config {consumerInstanceTimeoutMs, maxRecordBytes,
 * loseAnswers: {key, times}}` lets tests make instances expire, records too large, or consume answers
 * lost after their records were handed out (./groups.ts); both admin endpoints exist only here.
 */

export interface KafkaStandin {
  url: string;
  port: number;
  close(): Promise<void>;
}

export interface KafkaStandinOptions {
  /** 0/undefined = a free port. Always 127.0.0.1. */
  port?: number;
  /** Where the log and committed offsets live; a restart with the same dataDir sees all data. */
  dataDir: string;
  username: string;
  password: string;
  /** Partitions of a topic created without a count (default 4). */
  partitions?: number;
  /** Topics created at start. */
  topics?: string[];
  /** consumer.instance.timeout.ms of the v2 proxy (default 5 minutes, as Confluent's). */
  instanceTimeoutMs?: number;
}

export interface Call {
  params: string[];
  query: URLSearchParams;
  body: unknown;
  headers: IncomingHttpHeaders;
  signal: AbortSignal;
}

export type Handler = (call: Call) => Promise<unknown>;

/** Kafka's message.max.bytes default. */
const MAX_RECORD_BYTES = 1_048_588;

export async function startKafkaStandin(opts: KafkaStandinOptions): Promise<KafkaStandin> {
  const partitions = opts.partitions ?? 4;
  if (!Number.isInteger(partitions) || partitions < 1)
    throw new Error("partitions must be a positive integer");
  const dataDir = resolve(opts.dataDir);
  await mkdir(dataDir, { recursive: true });

  const log = await LogStore.open(dataDir, partitions);
  let offsets: OffsetStore;
  try {
    for (const name of opts.topics ?? []) await log.ensureTopic(topicName(name));
    offsets = await OffsetStore.open(dataDir);
  } catch (err) {
    await log.close();
    throw err;
  }
  const groups = new ConsumerGroups(log, offsets);
  groups.instanceTimeoutMs = opts.instanceTimeoutMs ?? INSTANCE_IDLE_TIMEOUT_MS;
  const limits = { maxRecordBytes: MAX_RECORD_BYTES };
  const upstash = upstashRouter(log, groups, limits);
  const v2 = v2Router(log, groups, limits);
  const admin = adminRouter(log, groups, limits);

  let closing = false;
  const inflight = new Set<Promise<void>>();

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const isV2 = speaksV2(req.headers, url.pathname);
    const fail = (status: number, message: string, code = status) =>
      isV2 ? sendV2Error(res, status, code, message) : sendError(res, status, message);
    // Answered while the stores close; the client retries, which reaches a restarted stand-in.
    if (closing) return fail(503, "the Kafka stand-in is shutting down", 50301);
    if (!hasValidBasicAuth(req.headers.authorization, opts.username, opts.password)) {
      return fail(401, "Unauthorized: wrong or missing Basic auth credentials", 40101);
    }
    let segments: string[];
    try {
      segments = url.pathname
        .split("/")
        .filter((segment) => segment !== "")
        .map(decodeURIComponent);
    } catch {
      return fail(400, "malformed URL encoding in path");
    }
    const method = req.method ?? "GET";
    let handler: Handler | undefined;
    if (segments[0] === "admin") handler = method === "POST" ? admin(segments) : undefined;
    else if (isV2) handler = v2(method, segments);
    else {
      handler = upstash(segments);
      if (handler && method !== "GET" && method !== "POST") {
        return fail(405, `${method} not allowed: use GET or POST`);
      }
    }
    if (handler === undefined) return fail(404, `no such endpoint: ${method} ${url.pathname}`, 40400);
    // Lets a long poll stop, without handing out records, when its client hangs up.
    const hangup = new AbortController();
    res.on("close", () => {
      if (!res.writableFinished) hangup.abort();
    });
    try {
      const body = await readJsonBody(req);
      const result = await handler({
        params: segments.slice(1),
        query: url.searchParams,
        body,
        headers: req.headers,
        signal: hangup.signal,
      });
      if (result === undefined) sendJson(res, 204, undefined);
      else sendJson(res, 200, result, isV2 ? { "content-type": "application/vnd.kafka.v2+json" } : {});
    } catch (err) {
      if (err instanceof ApiError) return fail(err.status, err.message, err.code);
      console.error("[kafka-rest]", err);
      fail(500, err instanceof Error ? err.message : String(err), 50001);
    }
  }

  const server = createServer((req, res) => {
    const done = handle(req, res).catch((err: unknown) => console.error("[kafka-rest]", err));
    inflight.add(done);
    void done.then(() => inflight.delete(done));
  });

  let port: number;
  try {
    port = await listen(server, opts.port);
  } catch (err) {
    await groups.close();
    await offsets.close();
    await log.close();
    throw err;
  }

  let closed: Promise<void> | undefined;
  async function shutdown(): Promise<void> {
    closing = true;
    // Long polls return now; produces already accepted finish their fsync before the files close.
    log.stopWaiting();
    await closeServer(server, Promise.allSettled([...inflight]));
    await groups.close();
    await offsets.close();
    await log.close();
  }

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close: () => {
      closed ??= shutdown();
      return closed;
    },
  };
}

/**
 * Which dialect a request speaks. The paths overlap only at `GET /topics` (a name list in v2, a
 * name → partitions map in Upstash's): v2 clients send its media types, Upstash's client does not.
 */
function speaksV2(headers: IncomingHttpHeaders, path: string): boolean {
  if (/vnd\.kafka/.test(`${headers.accept ?? ""} ${headers["content-type"] ?? ""}`)) return true;
  return /^\/(topics|consumers)\/[^/]/.test(path) || path.startsWith("/admin");
}

/** The v2 error body: `error_code` is the HTTP status × 100 + a subcode. */
function sendV2Error(res: ServerResponse, status: number, code: number, message: string): void {
  const errorCode = code >= 10_000 ? code : status * 100;
  const headers: Record<string, string> =
    status === 401 ? { "www-authenticate": 'Basic realm="kafka-rest stand-in"' } : {};
  sendJson(
    res,
    status,
    { error_code: errorCode, message },
    { ...headers, "content-type": "application/vnd.kafka.v2+json" },
  );
}

function adminRouter(
  log: LogStore,
  groups: ConsumerGroups,
  limits: { maxRecordBytes: number },
): (segments: string[]) => Handler | undefined {
  const routes: Record<string, Handler> = {
    topics: async ({ body }) => {
      const request = (body ?? {}) as { topic?: unknown; partitions?: unknown };
      const name = topicName(request.topic);
      const count = request.partitions ?? undefined;
      if (count !== undefined && (!Number.isInteger(count) || (count as number) < 1)) {
        throw new ApiError(422, "partitions must be a positive integer", 42200);
      }
      const created = log.get(name) === undefined;
      const topic = await log.ensureTopic(name, count as number | undefined);
      return { topic: name, partitions: topic.partitions.length, created };
    },
    config: async ({ body }) => {
      const request = (body ?? {}) as {
        consumerInstanceTimeoutMs?: unknown;
        maxRecordBytes?: unknown;
        loseAnswers?: { key?: unknown; times?: unknown };
      };
      if (typeof request.consumerInstanceTimeoutMs === "number")
        groups.instanceTimeoutMs = request.consumerInstanceTimeoutMs;
      if (typeof request.maxRecordBytes === "number") limits.maxRecordBytes = request.maxRecordBytes;
      if (request.loseAnswers !== undefined) {
        const { key, times } = request.loseAnswers ?? {};
        if (typeof key !== "string" || !Number.isInteger(times) || (times as number) < 0) {
          throw new ApiError(422, "loseAnswers must be {key: string, times: integer >= 0}", 42200);
        }
        groups.loseAnswers = { key, times: times as number, lost: 0 };
      }
      return {
        consumerInstanceTimeoutMs: groups.instanceTimeoutMs,
        maxRecordBytes: limits.maxRecordBytes,
        loseAnswers: { ...groups.loseAnswers },
      };
    },
  };
  return (segments) => (segments.length === 2 ? routes[segments[1] ?? ""] : undefined);
}
