import { SELF } from "cloudflare:test";
import { expect } from "vitest";

/** An answer as the client's bytes, not parsed: a replay must be the same text. */
export interface RawAnswer {
  status: number;
  headers: Headers;
  text: string;
}

/** A request as `api()` makes it, answered as raw text (`api()` parses JSON, which hides bytes). */
export async function rawApi(
  method: string,
  path: string,
  opts: { token: string; headers?: Record<string, string>; body?: unknown },
): Promise<RawAnswer> {
  const res = await SELF.fetch(`http://somsom.test${path}`, {
    method,
    headers: {
      authorization: `Bearer ${opts.token}`,
      ...(opts.body === undefined ? {} : { "content-type": "application/json" }),
      ...opts.headers,
    },
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

/** The first answer again: same status and bytes, the headers that belong to it, this request's own id. */
export function expectReplay(replay: RawAnswer, first: RawAnswer) {
  expect(replay.status).toBe(first.status);
  expect(replay.text).toBe(first.text);
  for (const header of ["content-type", "location", "cache-control"])
    expect(replay.headers.get(header), header).toBe(first.headers.get(header));
  expect(replay.headers.get("idempotent-replayed")).toBe("true");
  expect(first.headers.get("idempotent-replayed")).toBeNull();
  expect(replay.headers.get("x-request-id")).toBeTruthy();
  expect(replay.headers.get("x-request-id")).not.toBe(first.headers.get("x-request-id"));
}

export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}
