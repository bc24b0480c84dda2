import { describe, expect, it } from "vitest";
import type { V1FestivalsGetResponse } from "../../workers/api/festivals/v1_festivals_get";
import { list } from "./festivals-helpers";
import { createAdmin, day, festivalInput, instant, postFestival, uniqueWord } from "./fixtures";
import { api } from "./helpers";

describe("festivals: create and read", () => {
  it("creates a festival with one inventory row per date and reads it back publicly", async () => {
    const admin = await createAdmin();
    const created = await postFestival(admin, { title: "서울세계불꽃축제", capacity: 500 });
    expect(created).toMatchObject({
      title: "서울세계불꽃축제",
      startDate: day(30),
      endDate: day(32),
      timezone: "Asia/Seoul",
      cancelled: false,
      cancelledAt: null,
      status: "on_sale",
      saleOpen: true,
      tags: ["jazz", "outdoor"],
      venue: { name: "자라섬", lat: 37.8169, lng: 127.5255 },
    });
    expect(created.days).toEqual([
      { date: day(30), capacity: 500, remaining: 500 },
      { date: day(31), capacity: 500, remaining: 500 },
      { date: day(32), capacity: 500, remaining: 500 },
    ]);
    const read = await api<V1FestivalsGetResponse>("GET", `/v1/festivals/${created.id}`);
    expect(read.status).toBe(200);
    expect(read.body).toEqual(created);
  });

  it("takes a capacity per date as a map", async () => {
    const admin = await createAdmin();
    const created = await postFestival(admin, {
      startDate: day(40),
      endDate: day(41),
      capacity: { [day(40)]: 10, [day(41)]: 0 },
    });
    expect(created.days).toEqual([
      { date: day(40), capacity: 10, remaining: 10 },
      { date: day(41), capacity: 0, remaining: 0 },
    ]);
  });

  it("creates once for a repeated Idempotency-Key", async () => {
    const admin = await createAdmin();
    const category = uniqueWord("idem-");
    const key = uniqueWord("key-");
    const body = festivalInput({ category });
    const send = (b: unknown) =>
      api<V1FestivalsGetResponse>("POST", "/v1/festivals", {
        token: admin.token,
        body: b,
        headers: { "idempotency-key": key },
      });
    const first = await send(body);
    const again = await send(body);
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.body.id).toBe(first.body.id);
    expect(again.headers.get("location")).toBe(`/v1/festivals/${first.body.id}`);
    expect((await list({ category })).items).toHaveLength(1);
    expect((await send({ ...body, title: "다른 축제" })).status).toBe(422);
  });

  it("normalizes tags: trimmed and without duplicates", async () => {
    const admin = await createAdmin();
    const created = await postFestival(admin, { tags: [" 불꽃 ", "불꽃", "night"] });
    expect(created.tags).toEqual(["불꽃", "night"]);
  });

  it("reads the dates in the festival's timezone, not UTC", async () => {
    // A zone whose local date differs from the UTC date right now: the one-day festival on the local
    // date is ongoing; read as UTC dates it would be upcoming or ended.
    const admin = await createAdmin();
    const timezone = new Date().getUTCHours() >= 10 ? "Pacific/Kiritimati" : "Pacific/Pago_Pago";
    const localToday = new Intl.DateTimeFormat("en-CA", { timeZone: timezone }).format(new Date());
    expect(localToday).not.toBe(day(0));
    const f = await postFestival(admin, {
      timezone,
      startDate: localToday,
      endDate: localToday,
      saleOpensAt: instant(-48),
      saleClosesAt: instant(-24),
    });
    expect(f.status).toBe("ongoing");
  });
});

describe("festivals: status from the clock, and the cancelled flag", () => {
  it("derives upcoming, on_sale, ongoing and ended, and filters by each", async () => {
    const admin = await createAdmin();
    const category = uniqueWord("status-");
    const base = { category, timezone: "UTC" };
    const upcoming = await postFestival(admin, {
      ...base,
      saleOpensAt: instant(24),
      saleClosesAt: instant(48),
      startDate: day(10),
      endDate: day(11),
    });
    const onSale = await postFestival(admin, {
      ...base,
      saleOpensAt: instant(-1),
      saleClosesAt: instant(24),
    });
    const ongoing = await postFestival(admin, {
      ...base,
      saleOpensAt: instant(-100),
      saleClosesAt: instant(-50),
      startDate: day(-1),
      endDate: day(1),
    });
    const ended = await postFestival(admin, {
      ...base,
      saleOpensAt: instant(-500),
      saleClosesAt: instant(-400),
      startDate: day(-10),
      endDate: day(-8),
    });
    expect([upcoming.status, onSale.status, ongoing.status, ended.status]).toEqual([
      "upcoming",
      "on_sale",
      "ongoing",
      "ended",
    ]);
    expect(onSale.saleOpen).toBe(true);
    expect(upcoming.saleOpen).toBe(false);
    expect(ended.saleOpen).toBe(false);
    for (const [status, f] of [
      ["upcoming", upcoming],
      ["on_sale", onSale],
      ["ongoing", ongoing],
      ["ended", ended],
    ] as const) {
      const page = await list({ category, status });
      expect(page.items.map((i) => [i.id, i.status])).toEqual([[f.id, status]]);
    }
  });

  it("marks a cancelled festival, keeps its time status, refuses changes, and cancels idempotently", async () => {
    const admin = await createAdmin();
    const category = uniqueWord("cancel-");
    const f = await postFestival(admin, { category });
    const kept = await postFestival(admin, { category });
    const res = await api<V1FestivalsGetResponse>("POST", `/v1/festivals/${f.id}/cancel`, {
      token: admin.token,
      body: { reason: "태풍 예보" },
    });
    expect(res.status).toBe(200);
    expect(res.body.cancelled).toBe(true);
    expect(res.body.status).toBe("on_sale");
    expect(res.body.saleOpen).toBe(false);
    expect(Date.parse(res.body.cancelledAt ?? "")).toBeGreaterThan(Date.now() - 60_000);

    const read = await api<V1FestivalsGetResponse>("GET", `/v1/festivals/${f.id}`);
    expect(read.body.cancelled).toBe(true);
    expect((await list({ category, cancelled: "true" })).items.map((i) => i.id)).toEqual([f.id]);
    expect((await list({ category, cancelled: "false" })).items.map((i) => i.id)).toEqual([kept.id]);

    const again = await api<V1FestivalsGetResponse>("POST", `/v1/festivals/${f.id}/cancel`, {
      token: admin.token,
    });
    expect(again.status).toBe(200);
    expect(again.body.cancelledAt).toBe(res.body.cancelledAt);

    const patch = await api("PATCH", `/v1/festivals/${f.id}`, {
      token: admin.token,
      body: { title: "다시" },
    });
    expect(patch.status).toBe(409);
  });
});

describe("festivals: input shapes", () => {
  it("documents the festival routes in the OpenAPI document", async () => {
    const doc = await api<{ paths: Record<string, Record<string, unknown>> }>("GET", "/v1/openapi.json");
    expect(doc.status).toBe(200);
    expect(Object.keys(doc.body.paths["/v1/festivals"] ?? {}).sort()).toEqual(["get", "post"]);
    expect(Object.keys(doc.body.paths["/v1/festivals/{festivalId}"] ?? {}).sort()).toEqual(["get", "patch"]);
    expect(doc.body.paths["/v1/festivals/{festivalId}/cancel"]?.post).toBeTruthy();
  });

  it("accepts offsets in sale times and answers in UTC", async () => {
    const admin = await createAdmin();
    const f = await postFestival(admin, {
      saleOpensAt: "2026-01-01T09:00:00+09:00",
      saleClosesAt: "2026-01-02T09:00:00+09:00",
      ...festivalInputDates(),
    });
    expect(f.saleOpensAt).toBe("2026-01-01T00:00:00.000Z");
    expect(f.saleClosesAt).toBe("2026-01-02T00:00:00.000Z");
  });
});

function festivalInputDates() {
  const { startDate, endDate } = festivalInput();
  return { startDate, endDate };
}
