import { beforeAll, describe, expect, it } from "vitest";
import { createAdmin, type TestUser } from "./fixtures";
import { type ApiResponse, api } from "./helpers";

/**
 * Checks every route in the OpenAPI document, so a new route cannot skip them: protected routes
 * refuse missing and bad tokens with 401, public ones do not ask for a token, malformed bodies and
 * path parameters are a 4xx, and nothing here is ever answered with a 5xx.
 */
interface Operation {
  operationId?: string;
  security?: unknown[];
  requestBody?: { content?: Record<string, unknown> };
  responses?: Record<string, unknown>;
}
type Doc = { servers?: { url: string }[]; paths: Record<string, Record<string, Operation>> };

const METHODS = new Set(["get", "post", "put", "patch", "delete"]);
let routes: { method: string; path: string; op: Operation }[] = [];
let servers: Doc["servers"];
let admin: TestUser;

beforeAll(async () => {
  const doc = await api<Doc>("GET", "/v1/openapi.json");
  servers = doc.body.servers;
  routes = Object.entries(doc.body.paths).flatMap(([path, ops]) =>
    Object.entries(ops)
      .filter(([method]) => METHODS.has(method))
      .map(([method, op]) => ({ method: method.toUpperCase(), path, op })),
  );
  admin = await createAdmin();
});

const withParams = (path: string, value: string) => path.replace(/\{[^}]+\}/g, value);
const isEnvelope = (r: ApiResponse<unknown>) =>
  typeof (r.body as { error?: { code?: unknown } })?.error?.code === "string";

describe("every route", () => {
  it("documents at least the routes of every area", () => {
    const paths = routes.map((r) => r.path);
    for (const p of [
      "/v1/auth/login",
      "/v1/festivals",
      "/v1/me/reservations",
      "/v1/me/chat-rooms",
      "/v1/me/notifications",
    ]) {
      expect(paths).toContain(p);
    }
  });

  it("serves a document client generators can use: servers, a unique operationId and 500/503 everywhere", () => {
    expect(servers?.length).toBeGreaterThan(0);
    expect(routes.length).toBeGreaterThan(0);
    const missing = routes.flatMap(({ method, path, op }) => [
      ...(op.operationId ? [] : [`${method} ${path}: operationId`]),
      // Public operations say so (`security: []`) instead of leaving it to a global default.
      ...(Array.isArray(op.security) ? [] : [`${method} ${path}: security`]),
      ...["500", "503"].filter((s) => !op.responses?.[s]).map((s) => `${method} ${path}: ${s}`),
    ]);
    expect(missing).toEqual([]);
    const ids = routes.map((r) => r.op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("refuses a missing or bad token on protected routes with a 401 envelope", async () => {
    const failures: string[] = [];
    for (const { method, path, op } of routes.filter((r) => r.op.security?.length)) {
      const url = withParams(path, "1");
      for (const token of [undefined, "not.a.token"]) {
        // The chat route is a WebSocket upgrade: without the header it is a 426 before any auth.
        const res = await api(method, url, {
          token,
          body: op.requestBody ? {} : undefined,
          headers: path.endsWith("/chat") ? { upgrade: "websocket" } : {},
        });
        if (res.status !== 401 || !isEnvelope(res))
          failures.push(`${method} ${path} token=${token}: ${res.status}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it("does not ask for a token on routes documented as public", async () => {
    const failures: string[] = [];
    for (const { method, path, op } of routes.filter((r) => !r.op.security?.length)) {
      const res = await api(method, withParams(path, "1"), { body: op.requestBody ? {} : undefined });
      if (res.status === 401 || res.status === 403 || res.status >= 500)
        failures.push(`${method} ${path}: ${res.status}`);
    }
    expect(failures).toEqual([]);
  });

  it("answers malformed JSON bodies with 400, never a 5xx", async () => {
    const failures: string[] = [];
    for (const { method, path } of routes.filter((r) => r.op.requestBody?.content?.["application/json"])) {
      const res = await api(method, withParams(path, "1"), { token: admin.token, body: "{not json" });
      if (res.status !== 400 || !isEnvelope(res)) failures.push(`${method} ${path}: ${res.status}`);
    }
    expect(failures).toEqual([]);
  });

  it("answers bodies of the wrong shape with a 4xx envelope, never a 5xx", async () => {
    const failures: string[] = [];
    for (const { method, path } of routes.filter((r) => r.op.requestBody?.content?.["application/json"])) {
      for (const body of [[], "text", { unexpected: { nested: [1, 2, 3] } }]) {
        const res = await api(method, withParams(path, "1"), {
          token: admin.token,
          body: JSON.stringify(body),
        });
        if (res.status < 400 || res.status >= 500 || !isEnvelope(res)) {
          failures.push(`${method} ${path} ${JSON.stringify(body)}: ${res.status}`);
        }
      }
    }
    expect(failures).toEqual([]);
  });

  it("answers malformed path parameters with a 4xx envelope, never a 5xx", async () => {
    const failures: string[] = [];
    for (const { method, path, op } of routes.filter((r) => r.path.includes("{"))) {
      for (const value of ["abc", "-1", "0", "99999999999999999999", "%00"]) {
        const res = await api(method, withParams(path, value), {
          token: admin.token,
          body: op.requestBody ? {} : undefined,
        });
        if (res.status < 400 || res.status >= 500 || !isEnvelope(res)) {
          failures.push(`${method} ${path} ${value}: ${res.status}`);
        }
      }
    }
    expect(failures).toEqual([]);
  });
});
