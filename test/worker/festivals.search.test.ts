import { describe, expect, it } from "vitest";
import type { V1FestivalsListResponse } from "../../workers/api/festivals/v1_festivals_list";
import { ids, list, setReservedCount } from "./festivals-helpers";
import { createAdmin, createUser, day, festivalInput, postFestival, uniqueWord } from "./fixtures";
import { type ApiError, type ApiResponse, api } from "./helpers";

/** GET /v1/festivals as a given caller (undefined: anonymous), status and all. */
const listAs = (token: string | undefined, query: Record<string, string>) =>
  api<V1FestivalsListResponse | ApiError>("GET", `/v1/festivals?${new URLSearchParams(query)}`, { token });

/** Random Hangul syllables: a Korean word no other festival has. */
const hangulWord = (n = 4) =>
  Array.from({ length: n }, () => String.fromCharCode(0xac00 + Math.floor(Math.random() * 11172))).join("");

describe("festivals: text search", () => {
  it("finds Korean text inside words", async () => {
    const admin = await createAdmin();
    const category = uniqueWord("ko-");
    const fireworks = await postFestival(admin, { category, title: "서울세계불꽃축제", description: "" });
    const other = await postFestival(admin, { category, title: "진해군항제", description: "벚꽃" });
    expect(ids(await list({ category, q: "불꽃" }))).toEqual([fireworks.id]);
    expect(ids(await list({ category, q: "세계불꽃축" }))).toEqual([fireworks.id]);
    expect(ids(await list({ category, q: "군항" }))).toEqual([other.id]);
    expect(ids(await list({ category, q: "불꽃놀이" }))).toEqual([]);

    // Without any other filter: a word of its own, in the middle of a title.
    const word = hangulWord();
    const alone = await postFestival(admin, { title: `안동${word}탈춤페스티벌` });
    expect(ids(await list({ q: word }))).toEqual([alone.id]);
    expect(ids(await list({ q: `동${word}탈` }))).toEqual([alone.id]);
  });

  it("takes titles that grow when normalized (㎞ is km), on create and on update", async () => {
    const admin = await createAdmin();
    const word = hangulWord();
    const created = await api<{ id: number; title: string }>("POST", "/v1/festivals", {
      token: admin.token,
      body: festivalInput({ title: `${word}${"㎞".repeat(150)}` }),
    });
    expect(created.status).toBe(201);
    expect(ids(await list({ q: word }))).toEqual([created.body.id]);
    const other = hangulWord();
    const updated = await api<{ title: string }>("PATCH", `/v1/festivals/${created.body.id}`, {
      token: admin.token,
      body: { title: `${"ﷺ".repeat(150)}${other}` },
    });
    expect(updated.status).toBe(200);
    expect(updated.body.title).toBe(`${"ﷺ".repeat(150)}${other}`);
    // Past the first 200 characters of the normalized title: still found through the full search text.
    expect(ids(await list({ q: other }))).toEqual([created.body.id]);
  });

  it("finds English text inside words, case-insensitively and across spaces", async () => {
    const admin = await createAdmin();
    const category = uniqueWord("en-");
    const jazz = await postFestival(admin, { category, title: "Jarasum Jazz Festival", tags: [] });
    await postFestival(admin, {
      category,
      title: "Busan International Film Festival",
      tags: [],
      description: "",
    });
    for (const q of ["jazz", "JAZZ", "Jaz", "arasum", "zz fest", "  jazz   festival "]) {
      expect(ids(await list({ category, q })), q).toEqual([jazz.id]);
    }
    expect(ids(await list({ category, q: "jazzy" }))).toEqual([]);
    expect((await list({ category, q: "festival" })).items).toHaveLength(2);

    const word = uniqueWord("Zq");
    const alone = await postFestival(admin, { title: `The ${word.toUpperCase()}fest` });
    expect(ids(await list({ q: word.slice(1).toLowerCase() }))).toEqual([alone.id]);
  });

  it("matches tags, venue and description too, and ranks title matches first", async () => {
    const admin = await createAdmin();
    const category = uniqueWord("rank-");
    const word = hangulWord(3);
    const inDescription = await postFestival(admin, {
      category,
      title: "보령머드축제",
      description: `바다와 ${word}`,
    });
    const inTitle = await postFestival(admin, { category, title: `부산 ${word} 영화제`, description: "" });
    const titleStart = await postFestival(admin, { category, title: `${word} 재즈`, description: "" });
    const inTag = await postFestival(admin, { category, title: "태그", tags: [word], description: "" });
    const inVenue = await postFestival(admin, {
      category,
      title: "장소",
      description: "",
      venue: { name: `${word}공원`, address: "부산", lat: 35.1, lng: 129 },
    });
    const page = await list({ category, q: word });
    expect(ids(page).slice(0, 2)).toEqual([titleStart.id, inTitle.id]);
    expect(new Set(ids(page).slice(2))).toEqual(new Set([inDescription.id, inTag.id, inVenue.id]));
  });

  it("confirms every candidate: having all the bigrams of a query is not a match", async () => {
    const admin = await createAdmin();
    const category = uniqueWord("gram-");
    // Holds the bigrams "ab" and "ba" of the query "abab", but not the text.
    await postFestival(admin, { category, title: "ab xx ba", description: "", tags: [] });
    const real = await postFestival(admin, { category, title: "xababx", description: "", tags: [] });
    expect(ids(await list({ category, q: "abab" }))).toEqual([real.id]);
  });

  it("answers one-character queries to signed-in callers only, a few times a minute", async () => {
    const admin = await createAdmin();
    const user = await createUser();
    const category = uniqueWord("one-");
    const f = await postFestival(admin, { category, title: "불꽃", description: "", tags: [] });
    await postFestival(admin, { category, title: "재즈", description: "", tags: [] });
    const page = await listAs(user.token, { category, q: "꽃" });
    expect(page.status).toBe(200);
    expect(ids(page.body as V1FestivalsListResponse)).toEqual([f.id]);

    // Anonymous: one character (whitespace does not count) would scan the table; refused, not run.
    for (const q of ["꽃", " x ", "%"]) {
      const anonymous = await listAs(undefined, { category, q });
      expect(anonymous.status, q).toBe(400);
      expect((anonymous.body as ApiError).error.code).toBe("festival.query_too_short");
      expect((anonymous.body as ApiError).error.details).toEqual({ minChars: 2 });
    }
    // A forged token is anonymous.
    const forged = await listAs(`${user.token.slice(0, -4)}AAAA`, { category, q: "꽃" });
    expect(forged.status).toBe(400);

    // Signed in: at most 10 one-character searches a minute (sliding: a straddled window edge may
    // pass up to twice that), answered 429 with Retry-After; two characters stay unlimited.
    const other = await createUser();
    let limited: ApiResponse<unknown> | undefined;
    for (let i = 0; i < 21 && !limited; i++) {
      const res = await listAs(other.token, { category, q: "꽃" });
      if (res.status === 429) limited = res;
      else expect(res.status).toBe(200);
    }
    expect((limited?.body as ApiError | undefined)?.error.code).toBe("rate.limited");
    expect(Number(limited?.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect((await listAs(other.token, { category, q: "불꽃" })).status).toBe(200);
  });

  it("takes % and _ as plain characters, never as patterns", async () => {
    const admin = await createAdmin();
    const user = await createUser();
    const category = uniqueWord("lit-");
    const percent = await postFestival(admin, { category, title: "100% 재즈", description: "", tags: [] });
    const underscore = await postFestival(admin, {
      category,
      title: "a_c 페스타",
      description: "",
      tags: [],
    });
    await postFestival(admin, { category, title: "1000 abc 재즈", description: "", tags: [] });
    expect(ids(await list({ category, q: "0%" }))).toEqual([percent.id]);
    expect(ids(await list({ category, q: "%재" }))).toEqual([percent.id]);
    expect(ids(await list({ category, q: "a_c" }))).toEqual([underscore.id]);
    expect(ids(await list({ category, q: "_c" }))).toEqual([underscore.id]);
    expect(ids(await list({ category, q: "%%" }))).toEqual([]);
    expect(ids(await list({ category, q: "__" }))).toEqual([]);
    const one = async (q: string) =>
      ids((await listAs(user.token, { category, q })).body as V1FestivalsListResponse);
    expect(await one("%")).toEqual([percent.id]);
    expect(await one("_")).toEqual([underscore.id]);
    // Without a category filter either: no festival of other tests has these titles.
    const word = uniqueWord("Pz");
    const own = await postFestival(admin, { title: `${word}%_x`, description: "", tags: [] });
    expect(ids(await list({ q: `${word}%_`.toLowerCase() }))).toEqual([own.id]);
    expect(ids(await list({ q: `${word}__`.toLowerCase() }))).toEqual([]);
  });
});

describe("festivals: filters", () => {
  it("filters by category and by region", async () => {
    const admin = await createAdmin();
    const category = uniqueWord("cat-");
    const region = uniqueWord("reg-");
    const a = await postFestival(admin, { category, region: "부산" });
    const b = await postFestival(admin, { category: "music", region });
    const c = await postFestival(admin, { category, region });
    expect(ids(await list({ category }))).toEqual([a.id, c.id]);
    expect(ids(await list({ region }))).toEqual([b.id, c.id]);
    expect(ids(await list({ category, region }))).toEqual([c.id]);
    expect(ids(await list({ category: category.toUpperCase() }))).toEqual([a.id, c.id]);
  });

  it("keeps festivals overlapping [from, to], edges included", async () => {
    const admin = await createAdmin();
    const category = uniqueWord("dates-");
    const f = (startDate: string, endDate: string) => postFestival(admin, { category, startDate, endDate });
    const before = await f(day(50), day(54));
    const touchesFrom = await f(day(55), day(60));
    const inside = await f(day(61), day(62));
    const spans = await f(day(40), day(80));
    const touchesTo = await f(day(70), day(75));
    const after = await f(day(71), day(75));
    expect(new Set(ids(await list({ category, from: day(60), to: day(70) })))).toEqual(
      new Set([touchesFrom.id, inside.id, spans.id, touchesTo.id]),
    );
    expect(new Set(ids(await list({ category, from: day(71) })))).toEqual(
      new Set([spans.id, touchesTo.id, after.id]),
    );
    expect(new Set(ids(await list({ category, to: day(54) })))).toEqual(new Set([before.id, spans.id]));
  });

  it("finds festivals within a radius, with their distance", async () => {
    const admin = await createAdmin();
    const category = uniqueWord("geo-");
    const at = (name: string, lat: number, lng: number) =>
      postFestival(admin, { category, venue: { name, address: name, lat, lng } });
    // Around Seoul City Hall (37.5663, 126.9779).
    const yeouido = await at("여의도 한강공원", 37.5284, 126.9327); // ~5.8 km
    const incheon = await at("인천", 37.4563, 126.7052); // ~26.5 km
    // Inside the 10 km bounding box but outside the circle (its corner).
    const corner = await at("corner", 37.5663 + 0.08, 126.9779 + 0.1); // ~12.6 km
    const page = await list({ category, lat: 37.5663, lng: 126.9779, radiusKm: 10 });
    expect(ids(page)).toEqual([yeouido.id]);
    expect(page.items[0]?.distanceKm).toBeCloseTo(5.87, 0);
    expect(new Set(ids(await list({ category, lat: 37.5663, lng: 126.9779, radiusKm: 30 })))).toEqual(
      new Set([yeouido.id, incheon.id, corner.id]),
    );
  });

  it("finds festivals across the antimeridian", async () => {
    const admin = await createAdmin();
    const category = uniqueWord("fiji-");
    const east = await postFestival(admin, {
      category,
      venue: { name: "e", address: "e", lat: -17, lng: -179.95 },
    });
    const west = await postFestival(admin, {
      category,
      venue: { name: "w", address: "w", lat: -17, lng: 179.95 },
    });
    for (const lng of [179.99, -179.99]) {
      expect(new Set(ids(await list({ category, lat: -17, lng, radiusKm: 20 }))), String(lng)).toEqual(
        new Set([east.id, west.id]),
      );
    }
  });

  it("sorts by popularity", async () => {
    const admin = await createAdmin();
    const category = uniqueWord("pop-");
    const [a, b, c] = [
      await postFestival(admin, { category }),
      await postFestival(admin, { category }),
      await postFestival(admin, { category }),
    ];
    if (!a || !b || !c) throw new Error("unreachable");
    await setReservedCount(a.id, 10);
    await setReservedCount(b.id, 300);
    await setReservedCount(c.id, 10);
    expect(ids(await list({ category, sort: "popularity" }))).toEqual([b.id, c.id, a.id]);
  });

  it("refuses malformed filters with 400", async () => {
    for (const qs of [
      "lat=37.5&lng=127",
      "radiusKm=5",
      "lat=91&lng=0&radiusKm=1",
      "from=2026-02-30",
      "from=2026-05-02&to=2026-05-01",
      "status=soon",
      "sort=relevance",
      "limit=0",
      "limit=51",
      "limit=abc",
      "cursor=not-a-cursor",
    ]) {
      const res = await api<{ error: { code: string } }>("GET", `/v1/festivals?${qs}`);
      expect(res.status, qs).toBe(400);
    }
  });
});

describe("festivals: cursor pages", () => {
  async function collect(query: Record<string, string | number>, between: (page: number) => Promise<void>) {
    const seen: number[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 50; page++) {
      const res = await list({ ...query, ...(cursor ? { cursor } : {}) });
      expect(res.items.length).toBeLessThanOrEqual(Number(query.limit));
      seen.push(...ids(res));
      cursor = res.nextCursor;
      if (!cursor) return seen;
      await between(page);
    }
    throw new Error("too many pages");
  }

  for (const sort of ["startDate", "popularity", "relevance"] as const) {
    it(`neither repeats nor skips festivals while new ones are inserted between pages (${sort})`, async () => {
      const admin = await createAdmin();
      const category = uniqueWord("page-");
      const word = uniqueWord("Pg");
      const make = async (offset: number, reserved: number) => {
        const f = await postFestival(admin, {
          category,
          title: offset % 2 ? `${word} festival` : `Festival ${word}`,
          startDate: day(20 + offset),
          endDate: day(20 + offset),
        });
        if (reserved) await setReservedCount(f.id, reserved);
        return f.id;
      };
      // Ties on the sort key (same day, same count) are broken by id.
      const original: number[] = [];
      for (let i = 0; i < 9; i++) original.push(await make(i % 4, (i % 3) * 10));
      const inserted: number[] = [];
      const seen = await collect({ category, q: word, sort, limit: 2 }, async (page) => {
        // One sorting before every position, one after, one tying with existing keys.
        inserted.push(await make(-1 - page, 100 + page), await make(10 + page, 0), await make(page % 4, 10));
      });
      expect(new Set(seen).size).toBe(seen.length);
      for (const id of original) expect(seen).toContain(id);
      for (const id of seen) expect([...original, ...inserted]).toContain(id);
    });
  }

  it("pages in order with a default of 20 and a stable next cursor", async () => {
    const admin = await createAdmin();
    const category = uniqueWord("order-");
    const made: number[] = [];
    for (let i = 0; i < 23; i++)
      made.push((await postFestival(admin, { category, startDate: day(60), endDate: day(60) })).id);
    const first = await list({ category });
    expect(ids(first)).toEqual(made.slice(0, 20));
    expect(first.nextCursor).toBeTruthy();
    const second = await list({ category, cursor: first.nextCursor ?? "" });
    expect(ids(second)).toEqual(made.slice(20));
    expect(second.nextCursor).toBeNull();
    const popularityCursor = (await list({ category, sort: "popularity", limit: 1 })).nextCursor ?? "";
    expect((await api("GET", `/v1/festivals?category=${category}&cursor=${popularityCursor}`)).status).toBe(
      400,
    );
  });
});
