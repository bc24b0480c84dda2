import { env } from "cloudflare:test";
import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import type { V1FestivalsGetResponse } from "../../workers/api/festivals/v1_festivals_get";
import type { V1FestivalsListResponse } from "../../workers/api/festivals/v1_festivals_list";
import { chatRooms } from "../../workers/db/schema/chat";
import { getServices } from "../../workers/lib/services";
import { ids, list, setDayCounts } from "./festivals-helpers";
import { createAdmin, day, postFestival, uniqueWord } from "./fixtures";
import { api } from "./helpers";

const get = (id: number, headers: Record<string, string> = {}) =>
  api<V1FestivalsGetResponse>("GET", `/v1/festivals/${id}`, { headers });

describe("festivals: HTTP caching", () => {
  it("sends an ETag and answers If-None-Match with 304 until the festival changes", async () => {
    const admin = await createAdmin();
    const f = await postFestival(admin);
    const first = await get(f.id);
    const etag = first.headers.get("etag");
    expect(etag).toMatch(/^"[0-9a-f]{32}"$/);
    expect(first.headers.get("cache-control")).toBe("public, no-cache");

    const again = await get(f.id, { "if-none-match": etag ?? "" });
    expect(again.status).toBe(304);
    expect(again.body).toBeUndefined();
    expect(again.headers.get("etag")).toBe(etag);
    expect((await get(f.id, { "if-none-match": `"other", W/${etag}` })).status).toBe(304);
    expect((await get(f.id, { "if-none-match": '"other"' })).status).toBe(200);

    await api("PATCH", `/v1/festivals/${f.id}`, { token: admin.token, body: { description: "바뀐 설명" } });
    const changed = await get(f.id, { "if-none-match": etag ?? "" });
    expect(changed.status).toBe(200);
    expect(changed.headers.get("etag")).not.toBe(etag);
  });

  it("does the same for list pages", async () => {
    const admin = await createAdmin();
    const category = uniqueWord("etag-");
    await postFestival(admin, { category });
    const path = `/v1/festivals?category=${category}`;
    const first = await api<V1FestivalsListResponse>("GET", path);
    const etag = first.headers.get("etag") ?? "";
    expect(first.headers.get("cache-control")).toBe("public, no-cache");
    expect((await api("GET", path, { headers: { "if-none-match": etag } })).status).toBe(304);
    await postFestival(admin, { category });
    const after = await api<V1FestivalsListResponse>("GET", path, { headers: { "if-none-match": etag } });
    expect(after.status).toBe(200);
    expect(after.body.items).toHaveLength(2);
  });
});

describe("festivals: the server cache never hides an admin change", () => {
  it("shows an update at once in the detail and in every list it is in", async () => {
    const admin = await createAdmin();
    const category = uniqueWord("inv-");
    const oldWord = uniqueWord("Old");
    const newWord = uniqueWord("New");
    const f = await postFestival(admin, { category, title: `${oldWord} Festival`, capacity: 100 });
    // Warm every cache: detail, filtered list, text search.
    expect((await get(f.id)).body.title).toBe(`${oldWord} Festival`);
    expect((await list({ category })).items[0]?.title).toBe(`${oldWord} Festival`);
    expect(ids(await list({ q: oldWord }))).toEqual([f.id]);
    expect(ids(await list({ q: newWord }))).toEqual([]);

    const res = await api("PATCH", `/v1/festivals/${f.id}`, {
      token: admin.token,
      body: { title: `${newWord} Festival`, capacity: 80, region: "제주" },
    });
    expect(res.status).toBe(200);

    const detail = (await get(f.id)).body;
    expect(detail.title).toBe(`${newWord} Festival`);
    expect(detail.region).toBe("제주");
    expect(detail.days.map((d) => d.capacity)).toEqual([80, 80, 80]);
    expect((await list({ category })).items[0]?.title).toBe(`${newWord} Festival`);
    expect(ids(await list({ q: newWord }))).toEqual([f.id]);
    expect(ids(await list({ q: oldWord }))).toEqual([]);
  });

  it("shows a cancellation at once", async () => {
    const admin = await createAdmin();
    const category = uniqueWord("inv-");
    const f = await postFestival(admin, { category });
    expect((await get(f.id)).body.cancelled).toBe(false);
    expect((await list({ category, cancelled: "false" })).items).toHaveLength(1);
    await api("POST", `/v1/festivals/${f.id}/cancel`, { token: admin.token });
    expect((await get(f.id)).body.cancelled).toBe(true);
    expect((await list({ category, cancelled: "false" })).items).toHaveLength(0);
  });

  it("shows reservations in the remaining places within the 2 s bound", async () => {
    const admin = await createAdmin();
    const f = await postFestival(admin, { capacity: 100, startDate: day(30), endDate: day(30) });
    expect((await get(f.id)).body.days[0]?.remaining).toBe(100);
    await setDayCounts(f.id, day(30), { reserved: 30, held: 5 });
    const changedAt = Date.now();
    let remaining = 100;
    while (remaining === 100 && Date.now() - changedAt < 5_000) {
      remaining = (await get(f.id)).body.days[0]?.remaining ?? -1;
      if (remaining === 100) await new Promise((r) => setTimeout(r, 100));
    }
    expect(remaining).toBe(65);
    // The bound plus the time one request takes.
    expect(Date.now() - changedAt).toBeLessThan(3_000);
  });
});

describe("festivals: chat room", () => {
  it("creates the festival's chat room with the festival", async () => {
    const admin = await createAdmin();
    const f = await postFestival(admin);
    const rooms = await getServices(env)
      .db.select()
      .from(chatRooms)
      .where(and(eq(chatRooms.festivalId, f.id)));
    expect(rooms).toHaveLength(1);
  });
});
