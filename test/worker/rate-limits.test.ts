import { SELF } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { reservations } from "../../workers/db/schema/reservations";
import { createFestival, createUsers, db, type SeededUser } from "./fixtures";
import { type ApiError, type ApiResponse, api } from "./helpers";
import { joinQueue } from "./sales-helpers";

/**
 * Per-user and per-address limits on the sale-day calls (issue 15), through HTTP. Windows are
 * sliding over 60 s: a burst that happens to straddle a window edge may pass up to twice the limit,
 * so each test sends until the first 429 (bounded) instead of assuming where it lands.
 */
const MISSING_FESTIVAL = 2_000_000_000;

/** A documentation address (RFC 5737 / 3849) of this test alone, so no other test shares its counter. */
const testIpv4 = () => `198.51.100.${1 + Math.floor(Math.random() * 254)}`;
const testIpv6Prefix = () =>
  `2001:db8:${Math.floor(Math.random() * 0xffff).toString(16)}:${Math.floor(Math.random() * 0xffff).toString(16)}`;

/** Sends `send(i)` in small parallel batches until a 429 answers or `max` were sent. */
async function untilLimited(max: number, send: (i: number) => Promise<ApiResponse<unknown>>) {
  const statuses: number[] = [];
  for (let i = 0; i < max; ) {
    const batch = Array.from({ length: Math.min(25, max - i) }, (_, k) => send(i + k));
    i += batch.length;
    const answers = await Promise.all(batch);
    for (const a of answers) statuses.push(a.status);
    const limited = answers.find((a) => a.status === 429);
    if (limited) return { limited: limited as ApiResponse<ApiError>, statuses };
  }
  return { limited: undefined, statuses };
}

function expectLimited(res: ApiResponse<ApiError> | undefined, limit: string) {
  expect(res?.status).toBe(429);
  expect(res?.body.error.code).toBe("rate.limited");
  expect(res?.body.error.requestId).toBe(res?.headers.get("x-request-id"));
  expect(res?.body.error.details).toMatchObject({ limit });
  const retryAfter = Number(res?.headers.get("retry-after"));
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(60);
}

describe("rate limits: per user", () => {
  it("queue writes: past 20 a minute a user gets 429 rate.limited with Retry-After; others do not", async () => {
    const [a, b] = await createUsers(2);
    if (!a || !b) throw new Error("no users");
    const path = `/v1/festivals/${MISSING_FESTIVAL}/queue`;
    const { limited, statuses } = await untilLimited(41, () => api("POST", path, { token: a.token }));
    expectLimited(limited, "queue.write");
    const passed = statuses.filter((s) => s !== 429).length;
    expect(passed).toBeGreaterThanOrEqual(20);
    expect(passed).toBeLessThanOrEqual(40);
    // The limit is per user: b still reaches the route (404: no such festival).
    expect((await api("POST", path, { token: b.token })).status).toBe(404);
  });

  it("reservations: past 30 a minute the call is refused before anything is written", async () => {
    const [u] = await createUsers(1);
    if (!u) throw new Error("no user");
    const f = await createFestival({ capacity: 100 });
    const { limited } = await untilLimited(61, () =>
      api("POST", `/v1/festivals/${MISSING_FESTIVAL}/reservations`, {
        token: u.token,
        body: { day: f.days[0], quantity: 1 },
      }),
    );
    expectLimited(limited, "reservation.write");
    const refused = await api<ApiError>("POST", `/v1/festivals/${f.id}/reservations`, {
      token: u.token,
      body: { day: f.days[0], quantity: 1 },
      headers: { "idempotency-key": crypto.randomUUID() },
    });
    expect(refused.status).toBe(429);
    expect(await db().select().from(reservations).where(eq(reservations.userId, u.id))).toEqual([]);
  });

  it("reservations (counted by the gate's script) and cancels (counted by the library) share one limit", async () => {
    // The gate (workers/api/reservations/gate.ts) counts @upstash/ratelimit's sliding window itself, on
    // the library's keys: were its keys or arithmetic to drift from the library's, the two routes
    // would each allow 30 and this user would get ~30 reservation calls after 20 cancels, not ~10.
    const [u] = await createUsers(1);
    if (!u) throw new Error("no user");
    const f = await createFestival({ capacity: 100 });
    for (let i = 0; i < 20; i++) {
      const res = await api("POST", `/v1/reservations/${MISSING_FESTIVAL + i}/cancel`, { token: u.token });
      expect(res.status).toBe(404);
    }
    const { limited, statuses } = await untilLimited(40, () =>
      api("POST", `/v1/festivals/${MISSING_FESTIVAL}/reservations`, {
        token: u.token,
        body: { day: f.days[0], quantity: 1 },
      }),
    );
    expectLimited(limited, "reservation.write");
    const passed = statuses.filter((s) => s !== 429).length;
    // 10 left of 30; a window edge during the test may let a few more through, never 30.
    expect(passed).toBeGreaterThanOrEqual(10);
    expect(passed).toBeLessThanOrEqual(15);
  });

  it("waitlist writes are limited per user too", async () => {
    const [u] = await createUsers(1);
    if (!u) throw new Error("no user");
    const { limited } = await untilLimited(41, () =>
      api("POST", `/v1/festivals/${MISSING_FESTIVAL}/waitlist`, {
        token: u.token,
        body: { day: "2030-01-01", quantity: 1 },
      }),
    );
    expectLimited(limited, "waitlist.write");
  });
});

describe("rate limits: per client address", () => {
  it("caps one address driving many accounts (an IPv6 /64 counts as one address)", async () => {
    const users = await createUsers(62);
    const prefix = testIpv6Prefix();
    // Two addresses inside one /64: if they were counted apart, neither would reach the limit.
    const ip = (i: number) => (i % 2 ? `${prefix}::${(i % 50) + 1}` : `${prefix}:ffff:eeee:dddd:${i % 9}`);
    const path = `/v1/festivals/${MISSING_FESTIVAL}/queue`;
    const { limited, statuses } = await untilLimited(1201, (i) =>
      api("POST", path, {
        token: (users[i % users.length] as SeededUser).token,
        headers: { "cf-connecting-ip": ip(i) },
      }),
    );
    expectLimited(limited, "sale.address");
    expect(statuses.filter((s) => s !== 429).length).toBeGreaterThanOrEqual(600);
    // Another address is not affected, nor the same users from it.
    const other = await api("POST", path, {
      token: (users[0] as SeededUser).token,
      headers: { "cf-connecting-ip": testIpv4() },
    });
    expect(other.status).toBe(404);
  });
});

describe("rate limits: waiting-room streams", () => {
  const open = (u: SeededUser, festivalId: number, query = "") =>
    SELF.fetch(`http://somsom.test/v1/festivals/${festivalId}/queue/me/events${query}`, {
      headers: { authorization: `Bearer ${u.token}` },
    });

  /** The next complete SSE block of a stream (event name and when it arrived). */
  async function nextEvent(reader: ReadableStreamDefaultReader<Uint8Array>, state: { buffer: string }) {
    const decoder = new TextDecoder();
    for (;;) {
      const cut = state.buffer.indexOf("\n\n");
      if (cut >= 0) {
        const block = state.buffer.slice(0, cut);
        state.buffer = state.buffer.slice(cut + 2);
        return { event: /^event: (.*)$/m.exec(block)?.[1] ?? "message", at: Date.now() };
      }
      const { value, done } = await reader.read();
      if (done) throw new Error("stream ended");
      state.buffer += decoder.decode(value, { stream: true });
    }
  }

  it("keeps at most 3 streams open per user; closing one frees its slot", async () => {
    const f = await createFestival({ queueEnabled: true, queueOpensAt: new Date(Date.now() + 3600_000) });
    const [u, other] = await createUsers(2);
    if (!u || !other) throw new Error("no users");
    expect((await joinQueue(u, f.id)).status).toBe(201);
    expect((await joinQueue(other, f.id)).status).toBe(201);

    const streams = [];
    for (let i = 0; i < 3; i++) {
      const res = await open(u, f.id);
      expect(res.status).toBe(200);
      streams.push(res);
    }
    const fourth = await open(u, f.id);
    expect(fourth.status).toBe(429);
    const body = (await fourth.json()) as ApiError;
    expect(body.error.code).toBe("queue.too_many_streams");
    expect(Number(fourth.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    // Another user's streams are their own.
    const theirs = await open(other, f.id);
    expect(theirs.status).toBe(200);
    await theirs.body?.cancel();

    // Streams that end free their slots: leaving the room ends all three ("gone"), and after joining
    // again a new stream opens (time budget for the streams' next tick, not a count of tries).
    expect((await api("DELETE", `/v1/festivals/${f.id}/queue/me`, { token: u.token })).status).toBe(204);
    for (const s of streams) await s.text();
    expect((await joinQueue(u, f.id)).status).toBe(201);
    let reopened: Response | undefined;
    for (const deadline = Date.now() + 20_000; Date.now() < deadline; ) {
      const res = await open(u, f.id);
      if (res.status === 200) {
        reopened = res;
        break;
      }
      await res.body?.cancel();
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(reopened?.status).toBe(200);
    await reopened?.body?.cancel();
  });

  it("polls Redis no more often than every 2 s, whatever interval the client asks for", async () => {
    const f = await createFestival({ queueEnabled: true, queueOpensAt: new Date(Date.now() + 3600_000) });
    const [u] = await createUsers(1);
    if (!u) throw new Error("no user");
    await joinQueue(u, f.id);
    const started = Date.now();
    const res = await open(u, f.id, "?intervalSeconds=1");
    expect(res.status).toBe(200);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const state = { buffer: "" };
    const events = [];
    for (let i = 0; i < 3; i++) events.push(await nextEvent(reader, state));
    expect(events.map((e) => e.event)).toEqual(["status", "status", "status"]);
    // The third read comes two ticks after the first: at 1 s ticks that is ~2 s, at 2 s ticks >= 4 s.
    // A lower bound only: a busy machine can make it later, never earlier.
    expect((events[2]?.at ?? 0) - started).toBeGreaterThanOrEqual(3_900);
    await reader.cancel();
  });
});
