import { KafkaError } from "./error";

/** One HTTP call to a Kafka REST endpoint, with a deadline; no retries (the callers own backoff). */
export async function kafkaFetch<T>(
  what: string,
  url: string,
  init: { method: string; headers: Record<string, string>; body?: unknown },
  timeoutMs: number,
): Promise<T | undefined> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: init.method,
      headers: init.headers,
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    throw new KafkaError(`Kafka ${what} failed: ${err instanceof Error ? err.message : err}`, 0, {
      cause: err,
    });
  }
  const text = await res.text().catch(() => "");
  if (!res.ok) {
    // Upstash answers {error, status}; the v2 proxies {error_code, message}.
    let message = text.slice(0, 200);
    let code: number | undefined;
    try {
      const body = JSON.parse(text) as { error?: string; message?: string; error_code?: number };
      message = body.message ?? body.error ?? message;
      code = body.error_code;
    } catch {}
    throw new KafkaError(`Kafka ${what} answered ${res.status}: ${message}`, res.status, { code });
  }
  if (text.trim() === "") return undefined;
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new KafkaError(`Kafka ${what}: unreadable answer`, res.status, { cause: err });
  }
}

export function basicAuth(username: string, password: string): string {
  const credentials = new TextEncoder().encode(`${username}:${password}`);
  return `Basic ${bytesToBase64(credentials)}`;
}

export function bytesToBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000)
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

export const utf8ToBase64 = (text: string) => bytesToBase64(new TextEncoder().encode(text));

export function base64ToUtf8(b64: string): string {
  const binary = atob(b64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return new TextDecoder().decode(bytes);
}
