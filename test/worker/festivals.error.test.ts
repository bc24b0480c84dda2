import { env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import type { V1FestivalsCreateRequest } from "../../workers/api/festivals/v1_festivals_create";
import type { V1FestivalsGetResponse } from "../../workers/api/festivals/v1_festivals_get";
import { festivals } from "../../workers/db/schema/festivals";
import { getServices } from "../../workers/lib/services";
import { dayRows, list, setDayCounts } from "./festivals-helpers";
import { createAdmin, day, festivalInput, instant, postFestival, uniqueWord } from "./fixtures";
import { type ApiError, api } from "./helpers";

describe("festivals: bad input is a 400 and writes nothing", () => {
  const cases: [string, (f: V1FestivalsCreateRequest) => unknown, string][] = [
    ["end before start", (f) => ({ ...f, startDate: day(10), endDate: day(9) }), "endDate"],
    ["too many days", (f) => ({ ...f, startDate: day(10), endDate: day(200) }), "endDate"],
    [
      "sale closes before it opens",
      (f) => ({ ...f, saleOpensAt: instant(5), saleClosesAt: instant(4) }),
      "saleClosesAt",
    ],
    ["sale closes when it opens", (f) => ({ ...f, saleClosesAt: f.saleOpensAt }), "saleClosesAt"],
    [
      "a date without capacity",
      (f) => ({ ...f, capacity: { [day(30)]: 5, [day(31)]: 5 } }),
      `capacity.${day(32)}`,
    ],
    [
      "a capacity outside the dates",
      (f) => ({ ...f, capacity: { [day(30)]: 5, [day(31)]: 5, [day(32)]: 5, [day(33)]: 1 } }),
      `capacity.${day(33)}`,
    ],
    ["negative capacity", (f) => ({ ...f, capacity: -1 }), "capacity"],
    ["fractional capacity", (f) => ({ ...f, capacity: 1.5 }), "capacity"],
    ["latitude out of range", (f) => ({ ...f, venue: { ...f.venue, lat: 90.5 } }), "venue.lat"],
    ["longitude out of range", (f) => ({ ...f, venue: { ...f.venue, lng: -181 } }), "venue.lng"],
    ["unknown timezone", (f) => ({ ...f, timezone: "Mars/Olympus_Mons" }), "timezone"],
    ["too many tags", (f) => ({ ...f, tags: Array.from({ length: 11 }, (_, i) => `t${i}`) }), "tags"],
    ["too long a tag", (f) => ({ ...f, tags: ["x".repeat(31)] }), "tags.0"],
    ["an impossible date", (f) => ({ ...f, startDate: "2026-02-30" }), "startDate"],
    // The rule across dates must not run on a date that did not parse (it threw: a 500).
    ["an empty start date", (f) => ({ ...f, startDate: "" }), "startDate"],
    ["an impossible start time", (f) => ({ ...f, startDate: "2026-02-30T25:61:00Z" }), "startDate"],
    ["a start date that is text", (f) => ({ ...f, startDate: "2026-soon" }), "startDate"],
    ["an empty sale opening", (f) => ({ ...f, saleOpensAt: "" }), "saleOpensAt"],
    ["a non-http image", (f) => ({ ...f, imageUrl: "javascript:alert(1)" }), "imageUrl"],
    ["a category that is not a slug", (f) => ({ ...f, category: "불꽃 놀이" }), "category"],
    ["an unknown field", (f) => ({ ...f, reservedCount: 5 }), ""],
    ["a missing title", ({ title: _, ...f }) => f, "title"],
    ["a date before 1970", (f) => ({ ...f, startDate: "0001-01-01", endDate: "0001-01-02" }), "startDate"],
    [
      "a sale time past year 9998",
      (f) => ({ ...f, saleClosesAt: "9999-12-31T23:59:59-12:00" }),
      "saleClosesAt",
    ],
    // NFKC turns each of these into 18 letters: the search text would outgrow its column.
    [
      "a description too long once normalized for search",
      (f) => ({ ...f, description: "ﷺ".repeat(5000) }),
      "description",
    ],
  ];

  for (const [name, mutate, path] of cases) {
    it(`refuses ${name}`, async () => {
      const admin = await createAdmin();
      const category = uniqueWord("bad-");
      const res = await api<ApiError>("POST", "/v1/festivals", {
        token: admin.token,
        body: mutate(festivalInput({ category })),
      });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe("validation.failed");
      const issues = (res.body.error.details?.issues ?? []) as { path: string }[];
      expect(issues.map((i) => i.path)).toContain(path);
      expect((await list({ category })).items).toEqual([]);
    });
  }

  it("refuses malformed JSON", async () => {
    const admin = await createAdmin();
    expect((await api("POST", "/v1/festivals", { token: admin.token, body: "{nope" })).status).toBe(400);
  });

  it("refuses a bad update and changes nothing", async () => {
    const admin = await createAdmin();
    const f = await postFestival(admin);
    for (const body of [
      { endDate: day(20) }, // now before startDate
      { saleClosesAt: instant(-48) }, // now before saleOpensAt
      { startDate: day(28), capacity: { [day(28)]: 5 } }, // day(29) has no capacity
      { capacity: { [day(99)]: 5 } },
      { timezone: "Nowhere/City" },
      { tags: Array.from({ length: 11 }, (_, i) => `t${i}`) },
      {},
      { cancelledAt: null },
      { startDate: "0001-01-01", endDate: "0001-01-02", capacity: 5 },
      { saleClosesAt: "9999-12-31T23:59:59-12:00" },
      { description: "ﷺ".repeat(5000) },
    ]) {
      const res = await api<ApiError>("PATCH", `/v1/festivals/${f.id}`, { token: admin.token, body });
      expect(res.status, JSON.stringify(body)).toBe(400);
    }
    const after = await api<V1FestivalsGetResponse>("GET", `/v1/festivals/${f.id}`);
    expect({ ...after.body, updatedAt: f.updatedAt }).toEqual(f);
  });

  it("answers 404 for a festival that does not exist, and 400 for an id that is not one", async () => {
    const admin = await createAdmin();
    expect((await api<ApiError>("GET", "/v1/festivals/999999999")).body.error.code).toBe(
      "festival.not_found",
    );
    expect(
      (await api("PATCH", "/v1/festivals/999999999", { token: admin.token, body: { title: "x" } })).status,
    ).toBe(404);
    expect((await api("POST", "/v1/festivals/999999999/cancel", { token: admin.token })).status).toBe(404);
    expect((await api("GET", "/v1/festivals/abc")).status).toBe(400);
    expect((await api("GET", "/v1/festivals/-1")).status).toBe(400);
  });
});

describe("festivals: capacity against reservations", () => {
  it("refuses capacity below reserved + held with 422 and changes nothing", async () => {
    const admin = await createAdmin();
    const f = await postFestival(admin, { capacity: 100 });
    await setDayCounts(f.id, day(31), { reserved: 30, held: 5 });
    const res = await api<ApiError>("PATCH", `/v1/festivals/${f.id}`, {
      token: admin.token,
      body: { title: "바뀌면 안 됨", capacity: { [day(30)]: 10, [day(31)]: 34 } },
    });
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe("festival.capacity_below_reserved");
    expect(res.body.error.details).toEqual({
      days: [{ date: day(31), capacity: 34, reserved: 30, held: 5 }],
    });
    expect((await dayRows(f.id)).map((d) => d.capacity)).toEqual([100, 100, 100]);
    const [row] = await getServices(env).db.select().from(festivals).where(eq(festivals.id, f.id));
    expect(row?.title).toBe(f.title);

    const single = await api<ApiError>("PATCH", `/v1/festivals/${f.id}`, {
      token: admin.token,
      body: { capacity: 20 },
    });
    expect(single.status).toBe(422);

    // Down to exactly what is taken is allowed.
    const ok = await api<V1FestivalsGetResponse>("PATCH", `/v1/festivals/${f.id}`, {
      token: admin.token,
      body: { capacity: { [day(31)]: 35 } },
    });
    expect(ok.status).toBe(200);
    expect(ok.body.days.find((d) => d.date === day(31))).toEqual({
      date: day(31),
      capacity: 35,
      remaining: 0,
    });
  });

  it("refuses to drop a date that has reservations with 422", async () => {
    const admin = await createAdmin();
    const f = await postFestival(admin);
    await setDayCounts(f.id, day(32), { reserved: 1 });
    const res = await api<ApiError>("PATCH", `/v1/festivals/${f.id}`, {
      token: admin.token,
      body: { endDate: day(31) },
    });
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe("festival.day_has_reservations");
    expect((await dayRows(f.id)).map((d) => d.day)).toEqual([day(30), day(31), day(32)]);
  });

  it("moves dates: new days take the given capacity, empty old days go, counts stay", async () => {
    const admin = await createAdmin();
    const f = await postFestival(admin, { capacity: 100 });
    await setDayCounts(f.id, day(31), { reserved: 7, held: 2 });
    const res = await api<V1FestivalsGetResponse>("PATCH", `/v1/festivals/${f.id}`, {
      token: admin.token,
      body: { startDate: day(31), endDate: day(33), capacity: { [day(33)]: 50 } },
    });
    expect(res.status).toBe(200);
    expect(res.body.days).toEqual([
      { date: day(31), capacity: 100, remaining: 91 },
      { date: day(32), capacity: 100, remaining: 100 },
      { date: day(33), capacity: 50, remaining: 50 },
    ]);
    const rows = await dayRows(f.id);
    expect(rows.map((d) => [d.day, d.reserved, d.held])).toEqual([
      [day(31), 7, 2],
      [day(32), 0, 0],
      [day(33), 0, 0],
    ]);
    // Extending without a capacity for the new date is a 400.
    const missing = await api("PATCH", `/v1/festivals/${f.id}`, {
      token: admin.token,
      body: { endDate: day(34) },
    });
    expect(missing.status).toBe(400);
  });
});
