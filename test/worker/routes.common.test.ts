import { beforeAll, describe, expect, it } from "vitest";
import { createAdmin, createAdminUser, festivalInput, postFestival, type TestUser } from "./fixtures";
import { type ApiResponse, api } from "./helpers";
import { type Components, type JsonSchema, sample, stringPaths, withValue } from "./openapi-samples";

/**
 * Checks every route in the OpenAPI document, so a new route cannot skip them: protected routes
 * refuse missing and bad tokens with 401, public ones do not ask for a token, malformed bodies and
 * path parameters are a 4xx, and nothing here is ever answered with a 5xx.
 */
interface Operation {
  operationId?: string;
  security?: unknown[];
  requestBody?: { content?: Record<string, { schema?: JsonSchema }> };
  responses?: Record<string, unknown>;
}
type Doc = {
  servers?: { url: string }[];
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Components };
};

const METHODS = new Set(["get", "post", "put", "patch", "delete"]);
let routes: { method: string; path: string; op: Operation }[] = [];
let servers: Doc["servers"];
let components: Components = {};
let admin: TestUser;

beforeAll(async () => {
  const doc = await api<Doc>("GET", "/v1/openapi.json");
  servers = doc.body.servers;
  components = doc.body.components?.schemas ?? {};
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

  it("serves a document client generators can use: servers, a unique operationId, 500/503 everywhere, 413 with a body", () => {
    expect(servers?.length).toBeGreaterThan(0);
    expect(routes.length).toBeGreaterThan(0);
    const missing = routes.flatMap(({ method, path, op }) => [
      ...(op.operationId ? [] : [`${method} ${path}: operationId`]),
      // Public operations say so (`security: []`) instead of leaving it to a global default.
      ...(Array.isArray(op.security) ? [] : [`${method} ${path}: security`]),
      ...["500", "503"].filter((s) => !op.responses?.[s]).map((s) => `${method} ${path}: ${s}`),
      // Every body passes the size limit first (workers/api/middleware/body.ts).
      ...(op.requestBody && !op.responses?.["413"] ? [`${method} ${path}: 413`] : []),
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

  it("answers every string field of every JSON body spoiled alone with a 4xx envelope or a success, never a 5xx", async () => {
    const fields = routes.flatMap(({ method, path, op }) => {
      const schema = op.requestBody?.content?.["application/json"]?.schema;
      if (!schema) return [];
      const base = () => VALID_BODIES[op.operationId ?? ""]?.() ?? sample(schema, components);
      return stringPaths(base()).map((field) => ({ method, path, base, field }));
    });
    // The walk is only as good as its list: an empty one (a document that lost its bodies) proves nothing.
    const names = fields.map((f) => `${f.method} ${f.path} ${f.field.join(".")}`);
    expect(names).toContain("POST /v1/festivals startDate");
    expect(names).toContain("POST /v1/auth/login email");

    const failures: string[] = [];
    let festivalId = 0;
    let lastPath = "";
    for (const { method, path, base, field } of fields) {
      // A festival of its own per route: a cancel or an edit that succeeds must not change what the next route sees.
      if (path.includes("{") && path !== lastPath) festivalId = (await postFestival(admin)).id;
      lastPath = path;
      await Promise.all(
        SPOILED.map(async ([label, value]) => {
          // A token per request: logout revokes the one it is sent with.
          const { token } = await createAdminUser();
          const res = await api(method, withParams(path, String(festivalId)), {
            token,
            body: withValue(base(), field, value),
          });
          if (res.status >= 500 || (res.status >= 400 && !isEnvelope(res)))
            failures.push(`${method} ${path} ${field.join(".")}=${label}: ${res.status}`);
        }),
      );
    }
    expect(failures).toEqual([]);
  });

  it("builds sample bodies that pass validation, so each spoiled field above is the only bad one", async () => {
    const failures: string[] = [];
    for (const { method, path, op } of routes) {
      const schema = op.requestBody?.content?.["application/json"]?.schema;
      if (!schema) continue;
      const id = path.includes("{") ? (await postFestival(admin)).id : 0;
      const { token } = await createAdminUser();
      const body = VALID_BODIES[op.operationId ?? ""]?.() ?? sample(schema, components);
      const res = await api<{ error?: { code?: string } }>(method, withParams(path, String(id)), {
        token,
        body,
      });
      if (res.body?.error?.code === "validation.failed")
        failures.push(`${method} ${path}: ${JSON.stringify(res.body)}`);
    }
    expect(failures).toEqual([]);
  });
});

/** Bodies the schema alone cannot describe well enough (dates that agree with each other, a capacity per day). */
const VALID_BODIES: Record<string, () => unknown> = {
  festivalsCreate: () => festivalInput(),
  festivalsUpdate: () => festivalInput(),
};

/** Values a client (or an attacker) can put in any string field. */
const SPOILED: [string, string][] = [
  ["empty", ""],
  ["impossible instant", "2026-02-30T25:61:00Z"],
  ["impossible date", "2026-02-30"],
  ["text", "next friday"],
  ["lone surrogate", "\ud800x\udfff"],
  ["control characters", "a\u0000b\u0007\u001b[2J\u007f"],
  ["bidi and zero-width", "\u202eevil\u2066\u200b\u200f"],
  ["1 MB", "x".repeat(1 << 20)],
];
