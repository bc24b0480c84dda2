import { env, SELF } from "cloudflare:test";
import { createUser, tokensFor } from "../../workers/api/auth/service";
import type { ErrorBody } from "../../workers/lib/errors";
import { getServices } from "../../workers/lib/services";

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

let counter = 0;
export const uniqueEmail = (tag = "user") =>
  `${tag}-${Date.now().toString(36)}-${++counter}-${Math.random().toString(36).slice(2, 6)}@example.com`;

export const PASSWORD = "festival-2026";

export interface TestUser {
  id: number;
  email: string;
  token: string;
  refreshToken: string;
}

/** A fresh user through the public sign-up route. */
export async function signup(nickname = "솜솜이"): Promise<TestUser> {
  const email = uniqueEmail();
  const res = await api<{ user: { id: number }; tokens: { accessToken: string; refreshToken: string } }>(
    "POST",
    "/v1/auth/signup",
    { body: { email, password: PASSWORD, nickname } },
  );
  if (res.status !== 201) throw new Error(`signup failed: ${res.status} ${JSON.stringify(res.body)}`);
  return {
    id: res.body.user.id,
    email,
    token: res.body.tokens.accessToken,
    refreshToken: res.body.tokens.refreshToken,
  };
}

/** Admins are never made by sign-up; the harness seeds one the way `npm run admin:create` does. */
export async function createAdmin(): Promise<TestUser> {
  const s = getServices(env);
  const email = uniqueEmail("admin");
  const user = await createUser(s, { email, password: PASSWORD, nickname: "운영자", role: "admin" });
  const tokens = await tokensFor(s, env, user);
  return { id: user.id, email, token: tokens.accessToken, refreshToken: tokens.refreshToken };
}

/** Stops or restarts a real stand-in (fault tests); see local/control-server.ts. */
export async function control(action: "stop" | "start", name: string, query = ""): Promise<void> {
  const { inject } = await import("vitest");
  const res = await fetch(`${inject("controlUrl")}/${action}/${name}${query}`, { method: "POST" });
  if (res.status !== 204) throw new Error(`control ${action} ${name}: ${res.status} ${await res.text()}`);
}
