import { describe, expect, it } from "vitest";
import { createAdminUser, createFestival, createUsers, type SeededUser } from "./fixtures";
import { api } from "./helpers";
import { reserve } from "./reservations-helpers";
import { joinQueue, type QueueStatus, queueMe, salesView, setQueueOpensAt } from "./sales-helpers";

const MIN = 60_000;

/**
 * The admission clock is moved, not waited for: opensAt = now - (k minutes + half a slot), so that
 * floor(rate × elapsed) is exactly rate × k for any test latency under half a slot (15 s at 2/min).
 */
const minutesAgo = (k: number, rate: number) => new Date(Date.now() - k * MIN - MIN / rate / 2);

async function statuses(users: { token: string; id: number }[], festivalId: number): Promise<QueueStatus[]> {
  const out: QueueStatus[] = [];
  for (const u of users) {
    const res = await queueMe(u, festivalId);
    expect(res.status).toBe(200);
    out.push(res.body);
  }
  return out;
}

describe("waiting room: admission in arrival order at the configured rate", () => {
  it("admits exactly the first rate × k of 100 users after k minutes, and the rest move forward", async () => {
    const rate = 2;
    const f = await createFestival({
      capacity: 1000,
      queueEnabled: true,
      queueRatePerMinute: rate,
      queueActiveCap: 1000,
      queueOpensAt: new Date(Date.now() - 1000),
    });
    const users = await createUsers(100);
    for (const [i, u] of users.entries()) {
      const res = await joinQueue(u, f.id);
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ status: "waiting", position: i + 1, admission: null });
    }
    // Joining again answers the same entry: same place, not a second one.
    const again = await joinQueue(users[7] as (typeof users)[0], f.id);
    expect(again.status).toBe(200);
    expect(again.body.position).toBe(8);
    expect(again.body.waiting).toBe(100);

    await setQueueOpensAt(f.id, minutesAgo(10, rate));
    const afterFirst = await statuses(users, f.id);
    afterFirst.forEach((st, i) => {
      if (i < 20) {
        expect(st.status).toBe("admitted");
        expect(st.position).toBeNull();
        expect(st.admission?.token).toMatch(/^adm1\./);
      } else {
        expect(st).toMatchObject({ status: "waiting", position: i - 20 + 1, admission: null });
      }
    });

    await setQueueOpensAt(f.id, minutesAgo(25, rate));
    const afterSecond = await statuses(users, f.id);
    afterSecond.forEach((st, i) => {
      expect(st.status).toBe(i < 50 ? "admitted" : "waiting");
      if (i >= 50) expect(st.position).toBe(i - 50 + 1);
      // A position never moves backwards.
      const before = afterFirst[i];
      if (before?.position && st.position) expect(st.position).toBeLessThan(before.position);
    });

    const admin = await createAdminUser();
    const view = await salesView(admin, f.id);
    expect(view.status).toBe(200);
    expect(view.body.queue).toMatchObject({
      enabled: true,
      admissionRatePerMinute: rate,
      waiting: 50,
      admittedActive: 50,
      admittedTotal: 50,
    });

    // The admitted reserve with their token; an admission is personal and used tokens stay bound.
    const first = users[0] as (typeof users)[0];
    const ok = await api("POST", `/v1/festivals/${f.id}/reservations`, {
      token: first.token,
      body: { day: f.days[0], quantity: 1 },
      headers: { "x-admission-token": afterSecond[0]?.admission?.token ?? "" },
    });
    expect(ok.status).toBe(201);
    const waiter = users[60] as (typeof users)[0];
    const refused = await reserve(waiter, f.id, { day: f.days[0], quantity: 1 });
    expect(refused.status).toBe(403);
  });

  it("keeps at most `cap` users admitted but not done; reserving or leaving lets the next one in", async () => {
    const f = await createFestival({
      capacity: 100,
      queueEnabled: true,
      queueRatePerMinute: 1000,
      queueActiveCap: 3,
      queueOpensAt: new Date(Date.now() - MIN),
    });
    const users = await createUsers(6);
    const joined: QueueStatus[] = [];
    for (const u of users) joined.push((await joinQueue(u, f.id)).body);
    expect(joined.map((s) => s.status)).toEqual([
      "admitted",
      "admitted",
      "admitted",
      "waiting",
      "waiting",
      "waiting",
    ]);
    expect(joined.slice(3).map((s) => s.position)).toEqual([1, 2, 3]);

    const [u1, u2, u3, u4, u5, u6] = users as [
      SeededUser,
      SeededUser,
      SeededUser,
      SeededUser,
      SeededUser,
      SeededUser,
    ];
    const done = await reserve(u1, f.id, {
      day: f.days[0],
      quantity: 2,
      admissionToken: joined[0]?.admission?.token,
    });
    expect(done.status).toBe(201);
    // u1 is done: its slot goes to the head of the line.
    expect((await queueMe(u1, f.id)).status).toBe(404);
    expect((await queueMe(u4, f.id)).body.status).toBe("admitted");
    expect((await queueMe(u5, f.id)).body).toMatchObject({ status: "waiting", position: 1 });

    const left = await api("DELETE", `/v1/festivals/${f.id}/queue/me`, { token: u2.token });
    expect(left.status).toBe(204);
    expect((await queueMe(u5, f.id)).body.status).toBe("admitted");
    expect((await queueMe(u6, f.id)).body).toMatchObject({ status: "waiting", position: 1 });
    expect((await queueMe(u3, f.id)).body.status).toBe("admitted");

    const admin = await createAdminUser();
    expect((await salesView(admin, f.id)).body.queue).toMatchObject({ waiting: 1, admittedActive: 3 });
  });

  it("draws the pre-queue fairly at opening: no positions before, a fixed permutation after", async () => {
    const f = await createFestival({
      capacity: 100,
      queueEnabled: true,
      queueRatePerMinute: 1,
      queueOpensAt: new Date(Date.now() + 3600_000),
    });
    const users = await createUsers(30);
    for (const u of users) {
      const res = await joinQueue(u, f.id);
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ status: "pre_queue", position: null, admission: null });
    }
    await setQueueOpensAt(f.id, new Date(Date.now() - 1000));
    const drawn = (await statuses(users, f.id)).map((s) => s.position);
    expect([...drawn].sort((a, b) => (a ?? 0) - (b ?? 0))).toEqual(users.map((_, i) => i + 1));
    // 30! orders: the join order coming back unchanged would mean no draw took place.
    expect(drawn).not.toEqual(users.map((_, i) => i + 1));

    const [late] = await createUsers(1);
    if (!late) throw new Error("no user");
    expect((await joinQueue(late, f.id)).body).toMatchObject({ status: "waiting", position: 31 });
    expect((await statuses(users, f.id)).map((s) => s.position)).toEqual(drawn);
  });

  it("leaving is idempotent and rejoining goes to the back of the line", async () => {
    const f = await createFestival({
      queueEnabled: true,
      queueRatePerMinute: 1,
      queueOpensAt: new Date(Date.now() - 1000),
    });
    const [a, b, c] = await createUsers(3);
    if (!a || !b || !c) throw new Error("no users");
    for (const u of [a, b, c]) await joinQueue(u, f.id);
    expect((await api("DELETE", `/v1/festivals/${f.id}/queue/me`, { token: a.token })).status).toBe(204);
    expect((await api("DELETE", `/v1/festivals/${f.id}/queue/me`, { token: a.token })).status).toBe(204);
    const gone = await queueMe(a, f.id);
    expect(gone.status).toBe(404);
    expect((gone.body as unknown as { error: { code: string } }).error.code).toBe("queue.not_joined");
    expect((await queueMe(b, f.id)).body.position).toBe(1);
    expect((await joinQueue(a, f.id)).body.position).toBe(3);
  });
});

describe("waiting room: live position over server-sent events", () => {
  async function* events(res: Response) {
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let cut = buffer.indexOf("\n\n");
      while (cut >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1] ?? "message";
        const data = /^data: (.*)$/m.exec(block)?.[1] ?? "";
        yield { event, data: data ? JSON.parse(data) : null };
        cut = buffer.indexOf("\n\n");
      }
    }
  }

  it("streams the position as it moves, then the admission token, then closes", async () => {
    const { SELF } = await import("cloudflare:test");
    // One admission slot: the line moves only as people ahead leave or finish.
    const f = await createFestival({
      capacity: 100,
      queueEnabled: true,
      queueRatePerMinute: 1000,
      queueActiveCap: 1,
      queueOpensAt: new Date(Date.now() - MIN),
    });
    const [a, b, c] = await createUsers(3);
    if (!a || !b || !c) throw new Error("no users");
    for (const u of [a, b, c]) await joinQueue(u, f.id);

    const res = await SELF.fetch(
      `http://somsom.test/v1/festivals/${f.id}/queue/me/events?intervalSeconds=1`,
      {
        headers: { authorization: `Bearer ${c.token}` },
      },
    );
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const seen: { event: string; data: QueueStatus }[] = [];
    for await (const e of events(res)) {
      const ev = e as { event: string; data: QueueStatus };
      seen.push(ev);
      if (seen.length === 1) await api("DELETE", `/v1/festivals/${f.id}/queue/me`, { token: b.token });
      if (ev.data.position === 1) await api("DELETE", `/v1/festivals/${f.id}/queue/me`, { token: a.token });
    }
    expect(seen[0]).toMatchObject({ event: "status", data: { status: "waiting", position: 2 } });
    expect(seen.some((e) => e.event === "status" && e.data.position === 1)).toBe(true);
    const positions = seen.map((e) => e.data.position ?? 0);
    expect(positions).toEqual([...positions].sort((x, y) => y - x));
    const last = seen.at(-1);
    expect(last?.event).toBe("admitted");
    expect(last?.data.admission?.token).toMatch(/^adm1\./);
    const reserved = await reserve(c, f.id, {
      day: f.days[0],
      quantity: 1,
      admissionToken: last?.data.admission?.token,
    });
    expect(reserved.status).toBe(201);
  });

  it("answers a user outside the room with a plain 404 before any stream starts", async () => {
    const f = await createFestival({ queueEnabled: true, queueOpensAt: new Date(Date.now() - 1000) });
    const [u] = await createUsers(1);
    if (!u) throw new Error("no user");
    const res = await api("GET", `/v1/festivals/${f.id}/queue/me/events`, { token: u.token });
    expect(res.status).toBe(404);
  });
});
