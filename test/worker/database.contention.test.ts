import { describe, expect, it } from "vitest";
import type { V1FestivalsGetResponse } from "../../workers/api/festivals/v1_festivals_get";
import { failStatements, stopFailing } from "./db-faults";
import { createAdmin, createFestival, createUser, postFestival } from "./fixtures";
import { type ApiError, api } from "./helpers";
import { dbState, reserve } from "./reservations-helpers";

// Each waits out a real budget (8 s in-flight wait, 10 s retry budget) on a shared, busy machine.
const SLOW = { timeout: 90_000 };

// README: "Deadlocks and lock-wait timeouts are retried within a 10 s budget … 503 `service.busy` only
// past that budget". The stand-in answers the chosen statements as MySQL answers a deadlock victim.

// The sale batch's statement that takes the places (reservations/batch.ts): a deadlock there rolls
// the whole batch back, and the batch runs again.
const confirmOf = (festivalId: number) => `WHERE f.id = ${festivalId} /* sale batch */`;

describe("a database with no connection to spare", () => {
  it("answers 503 service.unavailable with Retry-After, never a 500 (MySQL errno 1040)", async () => {
    const admin = await createAdmin();
    const f = await postFestival(admin);
    // The waiting-room settings read of a join (a read outside any retry loop), of this festival only:
    // other test files share the stand-in.
    const match = `\`cancelled_at\` from \`festivals\` where \`festivals\`.\`id\` = ${f.id} limit`;
    await failStatements(match, { errno: 1040, times: 1 });
    let res: Awaited<ReturnType<typeof api<ApiError>>>;
    try {
      res = await api<ApiError>("POST", `/v1/festivals/${f.id}/queue`, { token: admin.token });
    } finally {
      expect(await stopFailing(match)).toBe(1);
    }
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe("service.unavailable");
    expect(res.headers.get("retry-after")).toBe("1");
  });
});

describe("database contention: retried, then 503 with Retry-After", () => {
  it(
    "retries a reservation whose confirming statement lost a deadlock, and confirms it once",
    SLOW,
    async () => {
      const f = await createFestival({ capacity: 5, dayCount: 1 });
      const user = await createUser();
      const match = confirmOf(f.id);
      await failStatements(match, { times: 3 });
      const res = await reserve(user, f.id, { day: f.days[0], quantity: 2 });
      expect(await stopFailing(match)).toBe(3);
      expect(res.status).toBe(201);
      const state = await dbState(f.id);
      expect(state.rows.map((r) => r.status)).toEqual(["confirmed"]);
      expect(state.days[f.days[0] as string]?.reserved).toBe(2);
    },
  );

  it("retries a lock wait timeout on an admin write the same way", SLOW, async () => {
    const admin = await createAdmin();
    const f = await postFestival(admin);
    const title = `Lock wait ${crypto.randomUUID()}`;
    await failStatements(title, { errno: 1205, times: 2 });
    const res = await api("PATCH", `/v1/festivals/${f.id}`, { token: admin.token, body: { title } });
    expect(await stopFailing(title)).toBe(2);
    expect(res.status).toBe(200);
    expect((await api<V1FestivalsGetResponse>("GET", `/v1/festivals/${f.id}`)).body.title).toBe(title);
  });

  it("answers 503 service.busy with Retry-After past the budget, having written nothing", SLOW, async () => {
    const f = await createFestival({ capacity: 5, dayCount: 1 });
    const day = f.days[0] as string;
    const user = await createUser();
    const match = confirmOf(f.id);
    const key = `deadlock-${crypto.randomUUID()}`;
    await failStatements(match);
    let res: Awaited<ReturnType<typeof reserve>>;
    try {
      res = await reserve(user, f.id, { day, quantity: 1 }, key);
    } finally {
      // More than a handful: the budget is time, not a count of attempts.
      expect(await stopFailing(match)).toBeGreaterThan(5);
    }
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("1");
    const err = res.body as unknown as ApiError;
    expect(err.error.code).toBe("service.busy");
    expect(err.error.requestId).toBe(res.headers.get("x-request-id"));
    const state = await dbState(f.id);
    expect(state.days[day]?.reserved).toBe(0);
    expect(state.rows.filter((r) => r.status === "confirmed")).toEqual([]);

    // The client's retry with the same key, once the database is calm, makes the one reservation.
    const retry = await reserve(user, f.id, { day, quantity: 1 }, key);
    expect(retry.status).toBe(201);
    expect((await dbState(f.id)).days[day]?.reserved).toBe(1);
  });

  it("answers an admin write that keeps losing with 503 too, and changes nothing", SLOW, async () => {
    const admin = await createAdmin();
    const f = await postFestival(admin);
    const title = `Deadlock ${crypto.randomUUID()}`;
    await failStatements(title);
    let res: Awaited<ReturnType<typeof api<ApiError>>>;
    try {
      res = await api<ApiError>("PATCH", `/v1/festivals/${f.id}`, { token: admin.token, body: { title } });
    } finally {
      expect(await stopFailing(title)).toBeGreaterThan(5);
    }
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("1");
    expect(res.body.error.code).toBe("service.busy");
    expect((await api<V1FestivalsGetResponse>("GET", `/v1/festivals/${f.id}`)).body.title).toBe(f.title);
  });
});
