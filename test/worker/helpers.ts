import { SELF } from "cloudflare:test";
import type { ErrorBody } from "../../workers/lib/errors";

/** The public interface under test: HTTP requests into the Worker, as a client makes them. */
export interface ApiResponse<T> {
  status: number;
  headers: Headers;
  body: T;
}

export async function api<T = unknown>(
  method: string,
  path: string,
  opts: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.body !== undefined) headers["content-type"] = "application/json";
  const res = await SELF.fetch(`http://somsom.test${path}`, {
    method,
    headers,
    body:
      opts.body === undefined
        ? undefined
        : typeof opts.body === "string"
          ? opts.body
          : JSON.stringify(opts.body),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {}
  return { status: res.status, headers: res.headers, body: body as T };
}

export type ApiError = ErrorBody;

/** Stops or restarts a real stand-in (fault tests); see local/control-server.ts. */
export async function control(action: "stop" | "start", name: string, query = ""): Promise<void> {
  const { inject } = await import("vitest");
  const res = await fetch(`${inject("controlUrl")}/${action}/${name}${query}`, { method: "POST" });
  if (res.status !== 204) throw new Error(`control ${action} ${name}: ${res.status} ${await res.text()}`);
}
