import { env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { issueAccessToken } from "../../workers/api/auth/tokens";
import { users } from "../../workers/db/schema/users";
import { createAdminUser, createFestival, createUsers, db, type SeededUser } from "./fixtures";
import { type ApiError, type ApiResponse, api } from "./helpers";
import { joinQueue, type QueueStatus, salesView } from "./sales-helpers";

/**
 * A join on an open queue is one Redis script: the token's revocation check, the request limits and
 * the join (workers/api/sales/queue.ts, JOIN_SCRIPT). These check through HTTP that the one script
 * keeps what the separate middleware steps promised.
 */
const openQueue = () =>
  createFestival({
    capacity: 1000,
    queueEnabled: true,
    queueRatePerMinute: 1,
    queueActiveCap: 1,
    // Opened a moment ago: nobody admitted yet, so every joiner is "waiting" with a position.
    queueOpensAt: new Date(Date.now() - 1000),
  });

const code = (res: { body: unknown }) => (res.body as ApiError).error.code;

describe("waiting room joins in one script: exact under concurrency", () => {
  it("gives 300 parallel joiners one entry each, positions 1..300, and a repeat join its own place", async () => {
    const f = await openQueue();
    const users = await createUsers(300);
    const joined: ApiResponse<QueueStatus>[] = [];
    for (let i = 0; i < users.length; i += 60)
      joined.push(...(await Promise.all(users.slice(i, i + 60).map((u) => joinQueue(u, f.id)))));
    expect(joined.map((r) => r.status)).toEqual(users.map(() => 201));
    const positions = joined.map((r) => r.body.position ?? 0);
    expect([...positions].sort((a, b) => a - b)).toEqual(users.map((_, i) => i + 1));

    // Again, in parallel: 200 with the place each already had, no second entry.
    const again = await Promise.all(users.slice(0, 50).map((u) => joinQueue(u, f.id)));
    again.forEach((r, i) => {
      expect(r.status).toBe(200);
      expect(r.body.position).toBe(positions[i]);
    });
    const view = await salesView(await createAdminUser(), f.id);
    expect(view.body.queue.waiting + view.body.queue.admittedActive).toBe(300);
  });
});

describe("waiting room joins in one script: authentication", () => {
  it("refuses a logged-out token (401) and puts nobody in line", async () => {
    const f = await openQueue();
    const [u] = (await createUsers(1)) as [SeededUser];
    expect((await api("POST", "/v1/auth/logout", { token: u.token })).status).toBe(204);
    const res = await joinQueue(u, f.id);
    expect(res.status).toBe(401);
    expect(code(res)).toBe("auth.invalid_token");
    const view = await salesView(await createAdminUser(), f.id);
    expect(view.body.queue.waiting).toBe(0);
  });

  it("refuses a token from before 'log out everywhere' (session version), then accepts a new one", async () => {
    const f = await openQueue();
    const [u] = (await createUsers(1)) as [SeededUser];
    const older = (await issueAccessToken({ id: u.id, role: "user" }, env.JWT_SECRET)).token;
    const out = await api("POST", "/v1/auth/logout", { token: u.token, body: { everywhere: true } });
    expect(out.status).toBe(204);
    const res = await joinQueue({ ...u, token: older }, f.id);
    expect(res.status).toBe(401);
    expect(code(res)).toBe("auth.invalid_token");
    // A token carrying the new session version gets in.
    const [row] = await db().select({ sv: users.sessionVersion }).from(users).where(eq(users.id, u.id));
    const fresh = (await issueAccessToken({ id: u.id, role: "user", sv: row?.sv }, env.JWT_SECRET)).token;
    expect((await joinQueue({ ...u, token: fresh }, f.id)).status).toBe(201);
  });

  it("answers 401 for a missing or forged token before looking at the festival id", async () => {
    expect((await api("POST", "/v1/festivals/abc/queue")).status).toBe(401);
    const forged = await api("POST", "/v1/festivals/abc/queue", { token: "a.b.c" });
    expect(forged.status).toBe(401);
  });
});

describe("waiting room joins in one script: request limits", () => {
  it("limits joins per user on an open queue (429 rate.limited), on the counter the queue's other writes use", async () => {
    const f = await openQueue();
    const [u, other] = (await createUsers(2)) as [SeededUser, SeededUser];
    for (let attempt = 0; ; attempt++) {
      // Leaving (DELETE, counted by the route middleware and @upstash/ratelimit) until refused fills the
      // user's queue.write counter; a join in the same window must then be refused by the script.
      let refused: ApiResponse<unknown> | undefined;
      for (let i = 0; i < 41 && !refused; i++) {
        const res = await api("DELETE", `/v1/festivals/${f.id}/queue/me`, { token: u.token });
        if (res.status === 429) refused = res;
      }
      expect(refused?.status).toBe(429);
      const window = Math.floor(Date.now() / 60_000);
      const join = await api<ApiError>("POST", `/v1/festivals/${f.id}/queue`, {
        token: u.token,
        headers: { "cf-connecting-ip": "198.51.100.77" },
      });
      // A window edge between the two calls frees part of the count: try once more.
      if (join.status !== 429 && Math.floor(Date.now() / 60_000) !== window && attempt < 1) continue;
      expect(join.status).toBe(429);
      expect(join.body.error.code).toBe("rate.limited");
      expect(join.body.error.details).toMatchObject({ limit: "queue.write" });
      const retryAfter = Number(join.headers.get("retry-after"));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
      break;
    }
    // Nobody else is affected, and the refused user was not put in line.
    expect((await joinQueue(other, f.id)).status).toBe(201);
    const view = await salesView(await createAdminUser(), f.id);
    expect(view.body.queue.waiting).toBe(1);
  });

  it("counts joins against the limit: past 20 a minute the same user is refused", async () => {
    const f = await openQueue();
    const [u] = (await createUsers(1)) as [SeededUser];
    const statuses: number[] = [];
    for (let i = 0; i < 41 && !statuses.includes(429); i++) statuses.push((await joinQueue(u, f.id)).status);
    expect(statuses.at(-1)).toBe(429);
    const passed = statuses.filter((s) => s !== 429).length;
    expect(passed).toBeGreaterThanOrEqual(20);
    expect(passed).toBeLessThanOrEqual(40);
    expect(statuses[0]).toBe(201);
  });
});
