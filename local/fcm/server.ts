/**
 * Local stand-in for Firebase Cloud Messaging (HTTP v1) and Google's OAuth2 token endpoint, so the
 * Worker's real push code runs unchanged against it:
 *
 * - POST /token  form `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=<JWT>`:
 *   the RS256 signature is verified with the service account's public key, then iss, aud, scope,
 *   iat and exp are checked; answers `{access_token, expires_in, token_type}` or Google's
 *   `400 {error: "invalid_grant", error_description}`.
 * - POST /v1/projects/{project}/messages:send  `Authorization: Bearer <access token>`, body
 *   `{message: {token, notification?, data?, android?, apns?, webpush?}, validate_only?}`:
 *   `{name}` on success; FCM's error shape otherwise (401 UNAUTHENTICATED, 403 PERMISSION_DENIED,
 *   400 INVALID_ARGUMENT, 404 UNREGISTERED, 429 QUOTA_EXCEEDED, 503 UNAVAILABLE).
 *
 * Inspection (local only, no auth): GET /__sent[?token=] lists accepted messages, DELETE /__sent
 * forgets them; POST /__unregister {token} makes a registration token answer UNREGISTERED;
 * POST /__fail {count, status, token?} answers `status` (429 or 5xx) to the next `count` sends
 * (of that token only, when given); GET /__stats counts requests.
 */
import { createPublicKey, type KeyObject, randomBytes, verify } from "node:crypto";
import http from "node:http";
import { closeServer, listen, readBody, sendJson } from "../http.ts";

export interface FcmStandinOptions {
  /** 0 or undefined: a free port. Always listens on 127.0.0.1. */
  port?: number;
  projectId: string;
  serviceAccount: { clientEmail: string; publicKeyPem: string };
  /** The `aud` the assertion must carry; defaults to this server's own /token URL. */
  audience?: string;
  tokenTtlSeconds?: number;
}

export interface SentMessage {
  name: string;
  project: string;
  /** The `message` object as received (token, notification, data, android, apns, webpush). */
  message: Record<string, unknown> & { token?: string; data?: Record<string, string> };
  /** The access token it was authorised with. */
  accessToken: string;
  receivedAt: string;
}

export interface FcmStandin {
  url: string;
  port: number;
  tokenUrl: string;
  sent(): SentMessage[];
  close(): Promise<void>;
}

const GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const SCOPES = [
  "https://www.googleapis.com/auth/firebase.messaging",
  "https://www.googleapis.com/auth/cloud-platform",
];
const MAX_BODY_BYTES = 1024 * 1024;
/** Google's clock-skew allowance for iat/exp. */
const SKEW_S = 60;

interface Failure {
  count: number;
  status: number;
  token?: string;
}

class Reply {
  status: number;
  body: unknown;
  headers: Record<string, string>;
  constructor(status: number, body: unknown, headers: Record<string, string> = {}) {
    this.status = status;
    this.body = body;
    this.headers = headers;
  }
}

const STATUS_NAME: Record<number, string> = {
  400: "INVALID_ARGUMENT",
  401: "UNAUTHENTICATED",
  403: "PERMISSION_DENIED",
  404: "NOT_FOUND",
  429: "RESOURCE_EXHAUSTED",
  500: "INTERNAL",
  503: "UNAVAILABLE",
};
const FCM_CODE: Record<number, string> = {
  400: "INVALID_ARGUMENT",
  403: "SENDER_ID_MISMATCH",
  404: "UNREGISTERED",
  429: "QUOTA_EXCEEDED",
  500: "INTERNAL",
  503: "UNAVAILABLE",
};

/** FCM v1's error body: a google.rpc.Status with an FcmError detail. */
function fcmError(status: number, message: string, headers: Record<string, string> = {}): Reply {
  const errorCode = FCM_CODE[status];
  return new Reply(
    status,
    {
      error: {
        code: status,
        message,
        status: STATUS_NAME[status] ?? "UNKNOWN",
        ...(errorCode && status !== 401
          ? { details: [{ "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", errorCode }] }
          : {}),
      },
    },
    headers,
  );
}

const invalidGrant = (description: string) =>
  new Reply(400, { error: "invalid_grant", error_description: description });

function decodePart(part: string): Record<string, unknown> {
  const value = JSON.parse(Buffer.from(part, "base64url").toString("utf8")) as unknown;
  if (!value || typeof value !== "object" || Array.isArray(value)) throw new Error("not an object");
  return value as Record<string, unknown>;
}

export async function startFcmStandin(opts: FcmStandinOptions): Promise<FcmStandin> {
  const publicKey: KeyObject = createPublicKey(opts.serviceAccount.publicKeyPem);
  const ttl = opts.tokenTtlSeconds ?? 3600;
  const accessTokens = new Map<string, number>();
  const unregistered = new Set<string>();
  const failures: Failure[] = [];
  const stats = { tokenRequests: 0, tokensIssued: 0, sendRequests: 0, accepted: 0, rejected: 0 };
  let sent: SentMessage[] = [];
  let tokenUrl = "";

  function issueToken(form: URLSearchParams): Reply {
    stats.tokenRequests++;
    if (form.get("grant_type") !== GRANT) {
      return new Reply(400, { error: "unsupported_grant_type", error_description: "Invalid grant_type." });
    }
    const parts = (form.get("assertion") ?? "").split(".");
    if (parts.length !== 3)
      return invalidGrant("Invalid JWT: Token must be a short-lived token and in a reasonable timeframe");
    const [h = "", p = "", s = ""] = parts;
    let header: Record<string, unknown>;
    let claims: Record<string, unknown>;
    try {
      header = decodePart(h);
      claims = decodePart(p);
    } catch {
      return invalidGrant("Invalid JWT: malformed header or claims");
    }
    if (header.alg !== "RS256") return invalidGrant("Invalid JWT: alg must be RS256");
    const ok = verify("RSA-SHA256", Buffer.from(`${h}.${p}`), publicKey, Buffer.from(s, "base64url"));
    if (!ok) return invalidGrant("Invalid JWT Signature.");
    const now = Math.floor(Date.now() / 1000);
    const { iss, aud, scope, iat, exp } = claims;
    if (iss !== opts.serviceAccount.clientEmail) return invalidGrant("Invalid JWT: unknown issuer");
    if (aud !== (opts.audience ?? tokenUrl)) return invalidGrant("Invalid JWT: wrong audience");
    const scopes = typeof scope === "string" ? scope.split(" ") : [];
    if (!scopes.some((x) => SCOPES.includes(x))) return invalidGrant("Invalid JWT: missing messaging scope");
    if (typeof iat !== "number" || typeof exp !== "number")
      return invalidGrant("Invalid JWT: iat and exp required");
    if (exp <= now - SKEW_S || iat > now + SKEW_S || exp - iat > 3600) {
      return invalidGrant(
        "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values",
      );
    }
    const token = `ya29.local-${randomBytes(24).toString("base64url")}`;
    accessTokens.set(token, Date.now() + ttl * 1000);
    stats.tokensIssued++;
    return new Reply(200, { access_token: token, expires_in: ttl, token_type: "Bearer" });
  }

  function send(project: string, authorization: string | undefined, body: unknown): Reply {
    stats.sendRequests++;
    const bearer = /^Bearer (.+)$/.exec(authorization ?? "")?.[1];
    const expires = bearer ? accessTokens.get(bearer) : undefined;
    if (!bearer || !expires || expires < Date.now()) {
      stats.rejected++;
      return fcmError(401, "Request had invalid authentication credentials. Expected OAuth 2 access token.");
    }
    if (project !== opts.projectId) {
      stats.rejected++;
      return fcmError(403, "Permission denied on resource project.");
    }
    const { message, validate_only } = (body ?? {}) as {
      message?: SentMessage["message"];
      validate_only?: boolean;
    };
    const invalid = validateMessage(message);
    if (invalid || !message) {
      stats.rejected++;
      return fcmError(400, invalid ?? "message is required");
    }
    const token = message.token;
    const i = failures.findIndex((f) => !f.token || f.token === token);
    const failure = failures[i];
    if (failure) {
      if (--failure.count <= 0) failures.splice(i, 1);
      stats.rejected++;
      return fcmError(
        failure.status,
        "Injected failure",
        failure.status === 429 ? { "retry-after": "1" } : {},
      );
    }
    if (token && unregistered.has(token)) {
      stats.rejected++;
      return fcmError(404, "Requested entity was not found.");
    }
    const name = `projects/${project}/messages/${randomBytes(8).toString("hex")}`;
    if (!validate_only) {
      sent.push({ name, project, message, accessToken: bearer, receivedAt: new Date().toISOString() });
      stats.accepted++;
    }
    return new Reply(200, { name });
  }

  function inspect(method: string, url: URL, body: unknown): Reply | undefined {
    switch (`${method} ${url.pathname}`) {
      case "GET /__sent": {
        const token = url.searchParams.get("token");
        return new Reply(200, { messages: token ? sent.filter((m) => m.message.token === token) : sent });
      }
      case "DELETE /__sent":
        sent = [];
        return new Reply(204, undefined);
      case "GET /__stats":
        return new Reply(200, stats);
      case "POST /__unregister": {
        const token = (body as { token?: unknown })?.token;
        if (typeof token !== "string" || !token) return new Reply(400, { error: "token is required" });
        unregistered.add(token);
        return new Reply(204, undefined);
      }
      case "POST /__fail": {
        const { count, status, token } = (body ?? {}) as {
          count?: unknown;
          status?: unknown;
          token?: unknown;
        };
        if (typeof count !== "number" || !Number.isInteger(count) || count < 1) {
          return new Reply(400, { error: "count must be a positive integer" });
        }
        if (typeof status !== "number" || !(status === 429 || (status >= 500 && status <= 599))) {
          return new Reply(400, { error: "status must be 429 or 5xx" });
        }
        failures.push({ count, status, ...(typeof token === "string" ? { token } : {}) });
        return new Reply(204, undefined);
      }
    }
    return undefined;
  }

  async function handle(req: http.IncomingMessage): Promise<Reply> {
    const url = new URL(req.url ?? "/", "http://fcm.local");
    const method = req.method ?? "GET";
    const bytes = await readBody(req, MAX_BODY_BYTES);
    if (bytes === undefined) throw new Error("body too large");
    const raw = bytes.toString("utf8");
    const type = req.headers["content-type"] ?? "";
    if (method === "POST" && url.pathname === "/token") {
      return issueToken(new URLSearchParams(raw));
    }
    let body: unknown = null;
    if (raw) {
      try {
        body = type.includes("json") || raw.startsWith("{") ? JSON.parse(raw) : null;
      } catch {
        return url.pathname.startsWith("/__")
          ? new Reply(400, { error: "invalid JSON" })
          : fcmError(400, "Invalid JSON payload received.");
      }
    }
    const send_ = /^\/v1\/projects\/([^/]+)\/messages:send$/.exec(url.pathname);
    if (send_ && method === "POST")
      return send(decodeURIComponent(send_[1] ?? ""), req.headers.authorization, body);
    return (
      inspect(method, url, body) ??
      new Reply(404, {
        error: { code: 404, message: `Not found: ${method} ${url.pathname}`, status: "NOT_FOUND" },
      })
    );
  }

  const server = http.createServer((req, res) => {
    handle(req).then(
      (reply) => sendJson(res, reply.status, reply.body, reply.headers),
      (err: unknown) => sendJson(res, 500, fcmError(500, String(err)).body),
    );
  });
  const port = await listen(server, opts.port);
  const url = `http://127.0.0.1:${port}`;
  tokenUrl = `${url}/token`;
  return {
    url,
    port,
    tokenUrl,
    sent: () => [...sent],
    close: () => closeServer(server),
  };
}

/** The checks FCM makes that a client could get wrong: one target, string data, known fields. */
function validateMessage(m: unknown): string | undefined {
  if (!m || typeof m !== "object" || Array.isArray(m)) return "message is required";
  const msg = m as Record<string, unknown>;
  const targets = ["token", "topic", "condition"].filter((k) => msg[k] !== undefined);
  if (targets.length !== 1) return "message must have exactly one of token, topic, condition";
  if (msg.token !== undefined && (typeof msg.token !== "string" || !msg.token))
    return "token must be a non-empty string";
  const known = new Set([
    "token",
    "topic",
    "condition",
    "name",
    "data",
    "notification",
    "android",
    "webpush",
    "apns",
    "fcm_options",
  ]);
  const unknown = Object.keys(msg).find((k) => !known.has(k));
  if (unknown) return `Invalid JSON payload received. Unknown name "${unknown}" at 'message'`;
  if (msg.data !== undefined) {
    if (!msg.data || typeof msg.data !== "object" || Array.isArray(msg.data)) return "data must be a map";
    for (const [k, v] of Object.entries(msg.data)) {
      if (typeof v !== "string") return `data.${k} must be a string`;
    }
  }
  return undefined;
}
