import createClient, { type Middleware } from "openapi-fetch";
import { createStore } from "../store";
import type { components, paths } from "./schema";

/**
 * The typed API client: paths, parameters and bodies come from web/src/api/schema.d.ts, generated
 * from the API's OpenAPI document (npm run web:api), never written by hand.
 */
export type Schemas = components["schemas"];
export type ApiErrorBody = Schemas["Error"]["error"];

export interface Session {
  accessToken: string;
  profile: Schemas["Profile"];
}

export const sessionStore = createStore<Session | null>(null);

/**
 * The refresh token lives in sessionStorage: it survives a reload of this tab but not the tab
 * itself, and is never in localStorage where every tab and every later visit could read it.
 * Why not an HttpOnly cookie yet: README, "Web app".
 */
const REFRESH_KEY = "somsom.refresh";

/** A failed call, carrying the API's error code so the page can say it in the user's language. */
export class ApiError extends Error {
  readonly code: string;
  readonly status: number;
  /** For validation failures: the request fields the API refused. */
  readonly fields: string[];
  constructor(status: number, body: Partial<ApiErrorBody>) {
    super(body.message ?? `HTTP ${status}`);
    this.code = body.code ?? "unknown";
    this.status = status;
    const issues = (body.details as { issues?: { path?: string }[] } | undefined)?.issues ?? [];
    this.fields = [...new Set(issues.map((i) => i.path ?? "").filter(Boolean))];
  }
}

export const api = createClient<paths>({ baseUrl: location.origin });

let refreshing: Promise<boolean> | undefined;

/** One refresh at a time: two parallel 401s must not both rotate (the second would look like theft). */
async function refreshSession(): Promise<boolean> {
  refreshing ??= (async () => {
    const refreshToken = sessionStorage.getItem(REFRESH_KEY);
    if (!refreshToken) return false;
    const res = await fetch("/v1/auth/refresh", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ refreshToken }),
    }).catch(() => undefined);
    if (!res?.ok) {
      if (res && res.status < 500) signOutLocally();
      return false;
    }
    const pair = (await res.json()) as Schemas["TokenPair"];
    await startSession(pair);
    return true;
  })().finally(() => {
    refreshing = undefined;
  });
  return refreshing;
}

const auth: Middleware = {
  onRequest({ request }) {
    const token = sessionStore.get()?.accessToken;
    if (token && !request.headers.has("authorization"))
      request.headers.set("authorization", `Bearer ${token}`);
    return request;
  },
};
api.use(auth);

export function signOutLocally() {
  sessionStorage.removeItem(REFRESH_KEY);
  sessionStore.set(null);
}

export async function startSession(pair: Schemas["TokenPair"]): Promise<void> {
  sessionStorage.setItem(REFRESH_KEY, pair.refreshToken);
  const res = await fetch("/v1/me", { headers: { authorization: `Bearer ${pair.accessToken}` } });
  if (!res.ok) throw new ApiError(res.status, ((await res.json()) as Schemas["Error"]).error);
  sessionStore.set({ accessToken: pair.accessToken, profile: (await res.json()) as Schemas["Profile"] });
}

/** On load: a refresh token from this tab's earlier page brings the session back. */
export const restoreSession = () => refreshSession();

export async function signOut() {
  const refreshToken = sessionStorage.getItem(REFRESH_KEY);
  const token = sessionStore.get()?.accessToken;
  signOutLocally();
  if (token && refreshToken)
    await fetch("/v1/auth/logout", {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({ refreshToken }),
    }).catch(() => {});
}

type Result<T> = { data?: T; error?: unknown; response: Response };

/**
 * Runs a typed call, refreshing the access token once on a 401, and returns its data or throws an
 * ApiError (network failures become code "network").
 */
export async function call<T>(run: () => Promise<Result<T>>): Promise<T> {
  let result: Result<T>;
  try {
    result = await run();
    if (result.response.status === 401 && sessionStore.get() && (await refreshSession()))
      result = await run();
  } catch (err) {
    if (err instanceof ApiError) throw err;
    throw new ApiError(0, { code: "network", message: String(err) });
  }
  if (result.response.ok) return result.data as T;
  const body = result.error as Partial<Schemas["Error"]> | undefined;
  throw new ApiError(result.response.status, body?.error ?? {});
}
