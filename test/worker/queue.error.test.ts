import { describe, expect, it } from "vitest";
import { createAdminUser, createFestival, createUsers, type SeededUser } from "./fixtures";
import { type ApiError, api } from "./helpers";
import { reserve } from "./reservations-helpers";
import { joinQueue, queueMe, salesView } from "./sales-helpers";

const code = (res: { body: unknown }) => (res.body as ApiError).error?.code;

describe("waiting room: refusals", () => {
  it("has no waiting room while the queue is off (422 queue.disabled)", async () => {
    const f = await createFestival();
    const [u] = (await createUsers(1)) as [SeededUser];
    const join = await joinQueue(u, f.id);
    expect(join.status).toBe(422);
    expect(code(join)).toBe("queue.disabled");
    expect(code(await queueMe(u, f.id))).toBe("queue.disabled");
  });

  it("answers 404 for an unknown festival and 400 for a malformed id", async () => {
    const [u] = (await createUsers(1)) as [SeededUser];
    const missing = await api("POST", "/v1/festivals/99999999/queue", { token: u.token });
    expect(missing.status).toBe(404);
    expect(code(missing)).toBe("festival.not_found");
    expect((await api("POST", "/v1/festivals/abc/queue", { token: u.token })).status).toBe(400);
    expect((await api("GET", "/v1/festivals/0/queue/me", { token: u.token })).status).toBe(400);
  });

  it("refuses joining once the sale is over or the festival is cancelled", async () => {
    const closed = await createFestival({ queueEnabled: true, saleClosesAt: new Date(Date.now() - 1000) });
    const cancelled = await createFestival({ queueEnabled: true, cancelledAt: new Date() });
    const [u] = (await createUsers(1)) as [SeededUser];
    for (const f of [closed, cancelled]) {
      const res = await joinQueue(u, f.id);
      expect(res.status).toBe(422);
      expect(code(res)).toBe("queue.closed");
    }
  });

  it("validates the settings (400) and refuses unknown festivals (404)", async () => {
    const admin = await createAdminUser();
    const f = await createFestival();
    for (const body of [
      {},
      { admissionRatePerMinute: 0 },
      { activeCap: -1 },
      { queueEnabled: "yes" },
      { nope: 1 },
    ]) {
      const res = await api("PATCH", `/v1/festivals/${f.id}/sales`, { token: admin.token, body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(code(res)).toBe("validation.failed");
    }
    const missing = await api("PATCH", "/v1/festivals/99999999/sales", {
      token: admin.token,
      body: { queueEnabled: true },
    });
    expect(missing.status).toBe(404);
    expect((await salesView(admin, 99999999)).status).toBe(404);
  });
});

describe("waiting room: switching it on", () => {
  it("restarts admission from now, and from then on a reservation needs a token", async () => {
    const admin = await createAdminUser();
    const f = await createFestival({ capacity: 50 });
    const [a, b] = (await createUsers(2)) as [SeededUser, SeededUser];
    expect((await reserve(a, f.id, { day: f.days[0], quantity: 1 })).status).toBe(201);

    const on = await api<{ queue: { enabled: boolean; opensAt: string; admittedTotal: number } }>(
      "PATCH",
      `/v1/festivals/${f.id}/sales`,
      {
        token: admin.token,
        body: { queueEnabled: true, admissionRatePerMinute: 1, activeCap: 10, offerMinutes: 15 },
      },
    );
    expect(on.status).toBe(200);
    expect(on.body.queue).toMatchObject({ enabled: true, admittedTotal: 0 });
    // The sale opened an hour ago, but the budget counts from the switch: nobody gets in at once.
    expect(Date.parse(on.body.queue.opensAt)).toBeGreaterThan(Date.now() - 60_000);
    expect((await joinQueue(b, f.id)).body).toMatchObject({ status: "waiting", position: 1 });

    const refused = await reserve(b, f.id, { day: f.days[0], quantity: 1 });
    expect(refused.status).toBe(403);
    expect(code(refused)).toBe("queue.admission_required");

    const off = await api("PATCH", `/v1/festivals/${f.id}/sales`, {
      token: admin.token,
      body: { queueEnabled: false },
    });
    expect(off.status).toBe(200);
    expect((await reserve(b, f.id, { day: f.days[0], quantity: 1 })).status).toBe(201);
  });
});

describe("waiting room and waitlist: the OpenAPI document", () => {
  it("lists the new routes and the admission header", async () => {
    const doc = await api<{ paths: Record<string, Record<string, unknown>> }>("GET", "/v1/openapi.json");
    expect(doc.status).toBe(200);
    for (const path of [
      "/v1/festivals/{festivalId}/queue",
      "/v1/festivals/{festivalId}/queue/me",
      "/v1/festivals/{festivalId}/queue/me/events",
      "/v1/festivals/{festivalId}/waitlist",
      "/v1/festivals/{festivalId}/waitlist/me",
      "/v1/festivals/{festivalId}/waitlist/me/{day}",
      "/v1/festivals/{festivalId}/sales",
    ]) {
      expect(doc.body.paths[path], path).toBeDefined();
    }
    expect(JSON.stringify(doc.body.paths["/v1/festivals/{festivalId}/reservations"])).toContain(
      "x-admission-token",
    );
  });
});
