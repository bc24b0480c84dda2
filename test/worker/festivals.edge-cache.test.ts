import { describe, expect, it } from "vitest";
import type { V1FestivalsGetResponse } from "../../workers/api/festivals/v1_festivals_get";
import type { V1FestivalsListResponse } from "../../workers/api/festivals/v1_festivals_list";
import { setDayCounts } from "./festivals-helpers";
import { createAdmin, createUser, day, postFestival, uniqueWord } from "./fixtures";
import { api } from "./helpers";

/**
 * The edge tier of the public festival reads: the Workers Cache API (`caches.default`, which
 * vitest-pool-workers runs locally), keyed by the normalised URL, for anonymous requests only
 * (workers/api/festivals/cache.ts). Entries are planted and inspected under the same URLs the Worker
 * uses, so each test can tell which tier answered.
 */
const ORIGIN = "http://somsom.test";

async function plant(path: string, body: unknown, builtAt = Date.now()) {
  const json = JSON.stringify(body);
  await caches.default.put(
    `${ORIGIN}${path}`,
    new Response(json, {
      headers: {
        "content-type": "application/json",
        etag: `"planted-${builtAt}"`,
        "x-page-built-at": String(builtAt),
        "cache-control": "public, max-age=60",
      },
    }),
  );
}

const get = (id: number, headers: Record<string, string> = {}) =>
  api<V1FestivalsGetResponse>("GET", `/v1/festivals/${id}`, { headers });

/** The write to the edge tier happens after the answer (waitUntil): wait for it, bounded. */
async function edgeEntry(path: string) {
  for (let i = 0; i < 50; i++) {
    const hit = await caches.default.match(`${ORIGIN}${path}`);
    if (hit) return hit;
    await new Promise((r) => setTimeout(r, 100));
  }
  return undefined;
}

describe("festivals: the edge cache tier (Workers Cache API)", () => {
  it("stores an anonymous answer under the normalised URL and answers the next anonymous request from it", async () => {
    const admin = await createAdmin();
    const f = await postFestival(admin);
    const first = await get(f.id);
    expect(first.status).toBe(200);
    expect(first.headers.get("cache-control")).toBe("public, no-cache");
    // The build time is the tier's own bookkeeping, never sent to a client.
    expect(first.headers.get("x-page-built-at")).toBeNull();
    const stored = await edgeEntry(`/v1/festivals/${f.id}`);
    expect(stored?.headers.get("etag")).toBe(first.headers.get("etag"));
    expect(JSON.parse((await stored?.text()) ?? "{}")).toEqual(first.body);

    // A page another isolate of this location built a moment ago is what an anonymous reader gets.
    const other = await postFestival(admin);
    await plant(`/v1/festivals/${other.id}`, { id: other.id, title: "from the edge" });
    const fromEdge = await api<{ title: string }>("GET", `/v1/festivals/${other.id}?utm_source=x`);
    expect(fromEdge.body.title).toBe("from the edge");
    expect(fromEdge.headers.get("etag")).toMatch(/^"planted-/);
  });

  it("never answers an authenticated request from the edge tier, and never stores its answer there", async () => {
    const admin = await createAdmin();
    const user = await createUser();
    const f = await postFestival(admin);
    await plant(`/v1/festivals/${f.id}`, { id: f.id, title: "public copy" });
    const mine = await api<V1FestivalsGetResponse>("GET", `/v1/festivals/${f.id}`, { token: user.token });
    expect(mine.status).toBe(200);
    expect(mine.body.title).toBe(f.title);
    expect(mine.headers.get("cache-control")).toBe("private, no-store");

    const g = await postFestival(admin);
    const authed = await api("GET", `/v1/festivals/${g.id}`, { token: user.token });
    expect(authed.status).toBe(200);
    await new Promise((r) => setTimeout(r, 300));
    expect(await caches.default.match(`${ORIGIN}/v1/festivals/${g.id}`)).toBeUndefined();

    // Lists alike.
    const category = uniqueWord("edge-");
    await postFestival(admin, { category });
    const page = await api<V1FestivalsListResponse>("GET", `/v1/festivals?category=${category}`, {
      token: user.token,
    });
    expect(page.status).toBe(200);
    expect(page.headers.get("cache-control")).toBe("private, no-store");
    await new Promise((r) => setTimeout(r, 300));
    expect(
      await caches.default.match(`${ORIGIN}/v1/festivals?category=${category}&sort=startDate&limit=20`),
    ).toBeUndefined();
  });

  it("keys list pages by their canonical parameters: the same page in any spelling is one entry", async () => {
    const admin = await createAdmin();
    const category = uniqueWord("edgelist-");
    const f = await postFestival(admin, { category });
    const a = await api<V1FestivalsListResponse>("GET", `/v1/festivals?limit=20&category=${category}`);
    expect(a.body.items.map((i) => i.id)).toEqual([f.id]);
    const stored = await edgeEntry(`/v1/festivals?category=${category}&sort=startDate&limit=20`);
    expect(stored?.headers.get("etag")).toBe(a.headers.get("etag"));
  });

  it("does not serve an edge page past the page age bound (remaining places stay within 2 s)", async () => {
    const admin = await createAdmin();
    const f = await postFestival(admin, { capacity: 100, startDate: day(30), endDate: day(30) });
    // Older than the 1 s page age: must be ignored, and the true remaining places answered.
    await plant(`/v1/festivals/${f.id}`, { id: f.id, title: "too old" }, Date.now() - 1_500);
    const res = await get(f.id);
    expect(res.body.title).toBe(f.title);
    expect(res.body.days[0]?.remaining).toBe(100);

    await setDayCounts(f.id, day(30), { reserved: 40 });
    const changedAt = Date.now();
    let remaining = 100;
    while (remaining === 100 && Date.now() - changedAt < 5_000) {
      remaining = (await get(f.id)).body.days[0]?.remaining ?? -1;
      if (remaining === 100) await new Promise((r) => setTimeout(r, 100));
    }
    expect(remaining).toBe(60);
    expect(Date.now() - changedAt).toBeLessThan(3_000);
  });

  it("shows an admin capacity change at once, even with the old page at the edge", async () => {
    const admin = await createAdmin();
    const f = await postFestival(admin, { capacity: 100, startDate: day(40), endDate: day(40) });
    const before = await get(f.id);
    expect(before.body.days[0]?.capacity).toBe(100);
    expect(await edgeEntry(`/v1/festivals/${f.id}`)).toBeDefined();
    const patch = await api("PATCH", `/v1/festivals/${f.id}`, {
      token: admin.token,
      body: { capacity: 150 },
    });
    expect(patch.status).toBe(200);
    const after = await get(f.id);
    expect(after.body.days[0]?.capacity).toBe(150);
    expect(after.body.days[0]?.remaining).toBe(150);
    expect(after.headers.get("etag")).not.toBe(before.headers.get("etag"));
  });
});
