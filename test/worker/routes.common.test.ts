import { env } from "cloudflare:test";
import { eq, inArray, or } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { festivalDays, festivals } from "../../workers/db/schema/festivals";
import { reservations } from "../../workers/db/schema/reservations";
import { waitlistEntries } from "../../workers/db/schema/sales";
import { users } from "../../workers/db/schema/users";
import { getServices } from "../../workers/lib/services";
import {
  createAdmin,
  createAdminUser,
  createFestival,
  db,
  festivalInput,
  PASSWORD,
  postFestival,
  signup,
  type TestUser,
} from "./fixtures";
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

/** A route a caller may use without a token: `security: []`, or an empty requirement among others (optional auth). */
const isPublic = (op: Operation) =>
  !op.security?.length || op.security.some((r) => Object.keys(r as object).length === 0);
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
    const walked = routes.filter((r) => !isPublic(r.op));
    expect(walked.length).toBeGreaterThan(20);
    for (const { method, path, op } of walked) {
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
    const walked = routes.filter((r) => isPublic(r.op));
    expect(walked.map((r) => r.path)).toEqual(expect.arrayContaining(["/v1/festivals", "/v1/health"]));
    for (const { method, path, op } of walked) {
      const res = await api(method, withParams(path, "1"), { body: op.requestBody ? {} : undefined });
      if (res.status === 401 || res.status === 403 || res.status >= 500)
        failures.push(`${method} ${path}: ${res.status}`);
    }
    expect(failures).toEqual([]);
  });

  it("answers malformed JSON bodies with 400, never a 5xx", async () => {
    const failures: string[] = [];
    const walked = routes.filter((r) => r.op.requestBody?.content?.["application/json"]);
    expect(walked.length).toBeGreaterThan(10);
    for (const { method, path } of walked) {
      const res = await api(method, withParams(path, "1"), { token: admin.token, body: "{not json" });
      if (res.status !== 400 || !isEnvelope(res)) failures.push(`${method} ${path}: ${res.status}`);
    }
    expect(failures).toEqual([]);
  });

  it("answers bodies of the wrong shape with a 4xx envelope, never a 5xx", async () => {
    const failures: string[] = [];
    const walked = routes.filter((r) => r.op.requestBody?.content?.["application/json"]);
    expect(walked.length).toBeGreaterThan(10);
    for (const { method, path } of walked) {
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
    const walked = routes.filter((r) => r.path.includes("{"));
    expect(walked.length).toBeGreaterThan(10);
    for (const { method, path, op } of walked) {
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
    // Hundreds of requests (1 MB bodies among them): a time budget for a busy machine.
  }, 300_000);

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

/**
 * Every key matching `match`, sorted. One SCAN call only looks at part of the keyspace (COUNT is a
 * hint), so it may return a key one time and miss it the next: on a Redis that other runs (a
 * benchmark beside the suite) fill, a single call made this walk fail on a key that never changed.
 */
async function scanAll(match: string): Promise<string[]> {
  const s = getServices(env);
  const keys: string[] = [];
  let cursor: string | number = 0;
  do {
    const [next, batch]: [string | number, string[]] = await s.redis.scan(cursor, { match, count: 1000 });
    keys.push(...batch);
    cursor = next;
  } while (String(cursor) !== "0");
  return [...new Set(keys)].sort();
}

/**
 * What a set of users and a festival look like in MySQL and Redis: rejected requests must leave it
 * exactly as it was. Scoped to the test's own rows (other test files write to the same database).
 */
async function snapshot(
  festivalId: number,
  userIds: number[],
  opts: { queueKeys: boolean } = { queueKeys: true },
) {
  const s = getServices(env);
  // The waiting room's bookkeeping (its clock) moves with any caller's own queue call, e.g. B leaving.
  const queueKeys = opts.queueKeys ? await scanAll(s.key("q", festivalId, "*")) : [];
  const idemKeys = await Promise.all(userIds.map((id) => scanAll(s.key("idem", "*", id, "*"))));
  return JSON.stringify({
    festival: await db().select().from(festivals).where(eq(festivals.id, festivalId)),
    days: await db().select().from(festivalDays).where(eq(festivalDays.festivalId, festivalId)),
    reservations: await db()
      .select()
      .from(reservations)
      .where(or(eq(reservations.festivalId, festivalId), inArray(reservations.userId, userIds))),
    waitlist: await db()
      .select()
      .from(waitlistEntries)
      .where(or(eq(waitlistEntries.festivalId, festivalId), inArray(waitlistEntries.userId, userIds))),
    users: await db().select().from(users).where(inArray(users.id, userIds)),
    redis: [queueKeys, ...idemKeys],
  });
}

describe("rejected requests", () => {
  it("write nothing: malformed JSON, wrong shapes, 2 MB bodies and bad path parameters change no row or key", async () => {
    const bodyRoutes = routes.filter((r) => r.op.requestBody?.content?.["application/json"]);
    const paramRoutes = routes.filter((r) => r.path.includes("{"));
    // The walk is only as good as its lists: a document that lost its bodies or parameters proves nothing.
    expect(bodyRoutes.length).toBeGreaterThan(10);
    expect(paramRoutes.length).toBeGreaterThan(10);
    const walker = await createAdmin();
    const f = await createFestival({ capacity: 10 });
    const before = await snapshot(f.id, [walker.id]);
    const failures: string[] = [];
    const big = JSON.stringify({ text: "x".repeat(2 * 1024 * 1024) });
    for (const { method, path } of bodyRoutes) {
      const url = withParams(path, String(f.id));
      for (const body of ["{not json", "[]", '"text"', '{"unexpected":{"nested":[1,2,3]}}', big]) {
        const res = await api(method, url, { token: walker.token, body });
        const want = body === big ? 413 : undefined;
        if ((want && res.status !== want) || res.status < 400 || res.status >= 500 || !isEnvelope(res))
          failures.push(`${method} ${path} ${body.slice(0, 20)}: ${res.status}`);
      }
    }
    for (const { method, path, op } of paramRoutes) {
      for (const value of ["abc", "-1", "0", "1.5", "99999999999999999999", "%00", "%F0%9F", "1%25_"]) {
        const res = await api(method, path.replace(/\{[^}]+\}/g, value), {
          token: walker.token,
          body: op.requestBody ? {} : undefined,
        });
        if (res.status < 400 || res.status >= 500 || !isEnvelope(res))
          failures.push(`${method} ${path} ${value}: ${res.status}`);
      }
    }
    expect(failures).toEqual([]);
    expect(await snapshot(f.id, [walker.id])).toBe(before);
  }, 300_000);

  it("searches with %, _ and lone surrogates are literal text or a 400, never a 5xx", async () => {
    const failures: string[] = [];
    for (const q of [
      "%",
      "_",
      "%%",
      "__",
      "a%b",
      "a_b",
      "%25",
      "\\%",
      "\\",
      "'",
      "\ud800",
      "\ud800\udc00x",
    ]) {
      const res = await api("GET", `/v1/festivals?${new URLSearchParams({ q })}`);
      if (res.status >= 500 || (res.status !== 200 && !isEnvelope(res))) failures.push(`${q}: ${res.status}`);
    }
    expect(failures).toEqual([]);
  });
});

describe("every operation as anonymous, user A, user B and admin", () => {
  it("never answers 5xx, and never shows B (or anyone but A and admins) A's data", async () => {
    const callers = {
      admin: await createAdmin(),
      a: await signup(`A${Math.random().toString(36).slice(2, 8)}`),
      b: await signup(),
    };
    const { a, b, admin } = callers;
    const f = await createFestival({ capacity: 20 });
    const day = f.days[0] as string;
    // A's resources: a reservation (with its check-in code), a device, a chat membership.
    const reservation = await api<{ id: number; checkInCode: string | null }>(
      "POST",
      `/v1/festivals/${f.id}/reservations`,
      { token: a.token, body: { day, quantity: 1 }, headers: { "idempotency-key": crypto.randomUUID() } },
    );
    expect(reservation.status).toBe(201);
    const device = `device-${crypto.randomUUID()}`;
    expect(
      (await api("POST", "/v1/me/devices", { token: a.token, body: { token: device, platform: "web" } }))
        .status,
    ).toBeLessThan(300);
    expect((await api("POST", `/v1/festivals/${f.id}/chat/members`, { token: a.token })).status).toBeLessThan(
      300,
    );
    const aProfile = await api<{ nickname: string }>("GET", "/v1/me", { token: a.token });
    const notes = await api<{ items: { id: number }[] }>("GET", "/v1/me/notifications", { token: a.token });
    const notificationId = notes.body.items[0]?.id ?? reservation.body.id;

    const secrets = [a.email, aProfile.body.nickname, device, reservation.body.checkInCode].filter(
      (x): x is string => typeof x === "string" && x.length > 0,
    );
    const shows = (body: unknown): string | undefined => {
      const text = JSON.stringify(body ?? null);
      const found = secrets.find((x) => text.includes(x));
      if (found) return found;
      // A's reservation or account by id: an object with A's reservation id and reservation fields, or A's user id.
      const walk = (v: unknown): boolean =>
        Array.isArray(v)
          ? v.some(walk)
          : v !== null && typeof v === "object"
            ? ((v as { id?: unknown }).id === reservation.body.id && "quantity" in v) ||
              (v as { userId?: unknown }).userId === a.id ||
              Object.values(v).some(walk)
            : false;
      return walk(body) ? "A's reservation or user id" : undefined;
    };
    const urlOf = (path: string) =>
      path
        .replace("{festivalId}", String(f.id))
        .replace("{userId}", String(a.id))
        .replace("{day}", day)
        .replace(
          "{id}",
          path.startsWith("/v1/reservations") || path.startsWith("/v1/admin/reservations")
            ? String(reservation.body.id)
            : path.startsWith("/v1/me/notifications")
              ? String(notificationId)
              : String(f.id),
        );
    // Ends a session or an account last, so every caller walks every route with a live token.
    const last = (r: { method: string; path: string }) =>
      (r.path === "/v1/auth/logout" ? 2 : 0) + (r.method === "DELETE" && r.path === "/v1/me" ? 1 : 0);
    const walk = [...routes].sort((x, y) => last(x) - last(y));
    expect(walk.length).toBeGreaterThan(30);

    const failures: string[] = [];
    const before = await snapshot(f.id, [a.id], { queueKeys: false });
    for (const [name, caller] of [
      ["anonymous", undefined],
      ["b", b],
    ] as const) {
      for (const { method, path, op } of walk) {
        if (path.endsWith("/events") || path.endsWith("/chat")) continue; // streams and upgrades: own tests
        const schema = op.requestBody?.content?.["application/json"]?.schema;
        const body = schema
          ? (VALID_BODIES[op.operationId ?? ""]?.() ?? sample(schema, components))
          : undefined;
        const res = await api(method, urlOf(path), { token: caller?.token, body });
        if (res.status >= 500) failures.push(`${name} ${method} ${path}: ${res.status}`);
        const leak = shows(res.body);
        if (leak) failures.push(`${name} ${method} ${path}: shows ${leak}`);
      }
    }
    expect(failures).toEqual([]);
    // Nothing B or an anonymous caller sent changed A's reservation, account or the festival.
    expect(await snapshot(f.id, [a.id], { queueKeys: false })).toBe(before);
    const still = await api<{ status: string }>("GET", `/v1/reservations/${reservation.body.id}`, {
      token: a.token,
    });
    expect(still.status).toBe(200);

    for (const [name, caller] of [
      ["a", a],
      ["admin", admin],
    ] as const) {
      for (const { method, path, op } of walk) {
        if (path.endsWith("/events") || path.endsWith("/chat")) continue;
        const schema = op.requestBody?.content?.["application/json"]?.schema;
        let body = schema
          ? (VALID_BODIES[op.operationId ?? ""]?.() ?? sample(schema, components))
          : undefined;
        if (method === "DELETE" && path === "/v1/me") body = { password: `not-${PASSWORD}` };
        const res = await api(method, urlOf(path), { token: caller.token, body });
        if (res.status >= 500) failures.push(`${name} ${method} ${path}: ${res.status}`);
      }
    }
    expect(failures).toEqual([]);
  }, 300_000);
});
