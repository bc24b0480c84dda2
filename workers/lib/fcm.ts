import { sign } from "hono/jwt";
import { sha256Hex } from "./hex";

/**
 * Firebase Cloud Messaging, HTTP v1. Auth is Google's service-account flow: an RS256 JWT signed
 * with the account's private key is exchanged at the token endpoint for a one-hour access token,
 * which is cached per isolate until five minutes before it expires (one exchange per isolate per
 * hour; concurrent sends share one in-flight exchange).
 */
export interface ServiceAccount {
  project_id: string;
  private_key: string;
  client_email: string;
  token_uri?: string;
}

export interface PushMessage {
  title: string;
  body: string;
  /** FCM data values must be strings. */
  data: Record<string, string>;
  /** Same key = the device replaces the earlier notification instead of showing a second one. */
  collapseKey?: string;
}

export type SendOutcome =
  | { ok: true; name: string }
  /** FCM says this registration token is dead: the caller forgets it. */
  | { ok: false; unregistered: true }
  | { ok: false; unregistered: false; status: number; code: string };

export interface Fcm {
  readonly enabled: boolean;
  send(token: string, message: PushMessage): Promise<SendOutcome>;
}

export interface FcmConfig {
  endpoint: string;
  tokenUrl: string;
  serviceAccountJson: string | undefined;
  /** Bounded retries on 429/5xx/network errors (default 3 attempts in all: callers wait on them). */
  maxAttempts?: number;
  sleep?: (ms: number) => Promise<void>;
}

const SCOPE = "https://www.googleapis.com/auth/firebase.messaging";
const REFRESH_MARGIN_MS = 5 * 60_000;
const MAX_RETRY_WAIT_MS = 1_000;

/** Secrets arrive as one line, maybe single-quoted by a dotenv file. */
export function parseServiceAccount(json: string | undefined): ServiceAccount | undefined {
  if (!json) return undefined;
  try {
    const sa = JSON.parse(json.trim().replace(/^'(.*)'$/s, "$1")) as Partial<ServiceAccount>;
    if (!sa.project_id || !sa.private_key || !sa.client_email) return undefined;
    return sa as ServiceAccount;
  } catch {
    return undefined;
  }
}

interface CachedToken {
  token: string;
  expiresAt: number;
}
const tokens = new Map<string, CachedToken>();
const inflight = new Map<string, Promise<CachedToken>>();

/** The assertion Google exchanges for an access token: RS256 with the account's PKCS#8 key, one hour. */
export function signAssertion(sa: ServiceAccount, audience: string, nowMs = Date.now()): Promise<string> {
  const iat = Math.floor(nowMs / 1000);
  return sign(
    { iss: sa.client_email, scope: SCOPE, aud: audience, iat, exp: iat + 3600 },
    sa.private_key,
    "RS256",
  );
}

async function exchange(sa: ServiceAccount, tokenUrl: string): Promise<CachedToken> {
  const assertion = await signAssertion(sa, sa.token_uri ?? tokenUrl);
  const res = await fetch(tokenUrl, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer", assertion }),
  });
  const body = (await res.json().catch(() => ({}))) as { access_token?: string; expires_in?: number };
  if (!res.ok || !body.access_token) throw new Error(`FCM token exchange failed: HTTP ${res.status}`);
  return { token: body.access_token, expiresAt: Date.now() + (body.expires_in ?? 3600) * 1000 };
}

async function accessToken(sa: ServiceAccount, tokenUrl: string): Promise<string> {
  const id = `${sa.client_email}|${tokenUrl}`;
  const cached = tokens.get(id);
  if (cached && cached.expiresAt - REFRESH_MARGIN_MS > Date.now()) return cached.token;
  let pending = inflight.get(id);
  if (!pending) {
    pending = exchange(sa, tokenUrl).finally(() => inflight.delete(id));
    inflight.set(id, pending);
  }
  const fresh = await pending;
  tokens.set(id, fresh);
  return fresh.token;
}

/** FCM's error body: `{error: {code, status, details: [{errorCode}]}}`. */
async function errorCode(res: Response): Promise<string> {
  const body = (await res.json().catch(() => ({}))) as {
    error?: { status?: string; details?: { errorCode?: string }[] };
  };
  return (
    body.error?.details?.find((d) => d.errorCode)?.errorCode ?? body.error?.status ?? `HTTP_${res.status}`
  );
}

function retryDelay(res: Response | undefined, attempt: number): number {
  const header = Number(res?.headers.get("retry-after"));
  const backoff = 200 * 2 ** attempt * (0.5 + Math.random());
  return Math.min(MAX_RETRY_WAIT_MS, header > 0 ? header * 1000 : backoff);
}

export function createFcm(config: FcmConfig): Fcm {
  const sa = parseServiceAccount(config.serviceAccountJson);
  const maxAttempts = config.maxAttempts ?? 3;
  const sleep = config.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const endpoint = config.endpoint.replace(/\/+$/, "");

  async function send(token: string, m: PushMessage): Promise<SendOutcome> {
    if (!sa) return { ok: false, unregistered: false, status: 0, code: "NOT_CONFIGURED" };
    const url = `${endpoint}/v1/projects/${encodeURIComponent(sa.project_id)}/messages:send`;
    const collapse = m.collapseKey ? await collapseId(m.collapseKey) : undefined;
    const body = JSON.stringify({
      message: {
        token,
        notification: { title: m.title, body: m.body },
        data: m.data,
        ...(collapse
          ? {
              android: { collapse_key: collapse, notification: { tag: collapse } },
              apns: { headers: { "apns-collapse-id": collapse } },
              webpush: { notification: { tag: collapse } },
            }
          : {}),
      },
    });
    let refreshed = false;
    let last: SendOutcome = { ok: false, unregistered: false, status: 0, code: "NOT_SENT" };
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      let res: Response | undefined;
      try {
        const bearer = await accessToken(sa, config.tokenUrl);
        res = await fetch(url, {
          method: "POST",
          headers: { authorization: `Bearer ${bearer}`, "content-type": "application/json" },
          body,
        });
      } catch (err) {
        last = { ok: false, unregistered: false, status: 0, code: String((err as Error).message ?? err) };
      }
      if (res?.ok) {
        const ok = (await res.json().catch(() => ({}))) as { name?: string };
        return { ok: true, name: ok.name ?? "" };
      }
      if (res) {
        const code = await errorCode(res);
        if (code === "UNREGISTERED" || code === "SENDER_ID_MISMATCH")
          return { ok: false, unregistered: true };
        last = { ok: false, unregistered: false, status: res.status, code };
        if (res.status === 401 && !refreshed) {
          // A token revoked early: forget it and try once more with a fresh one.
          tokens.delete(`${sa.client_email}|${config.tokenUrl}`);
          refreshed = true;
          continue;
        }
        if (res.status !== 429 && res.status < 500) return last;
      }
      if (attempt + 1 < maxAttempts) await sleep(retryDelay(res, attempt));
    }
    return last;
  }

  return { enabled: !!sa, send };
}

/** APNs caps the collapse id at 64 bytes: longer keys are hashed. */
async function collapseId(key: string): Promise<string> {
  if (key.length <= 64 && /^[\w:.-]+$/.test(key)) return key;
  return sha256Hex(key);
}
