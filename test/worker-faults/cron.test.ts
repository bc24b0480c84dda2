import { describe, expect, it, vi } from "vitest";
import type { V1AdminChatPersistenceGetResponse } from "../../workers/api/chat/v1_admin_chat_persistence_get";
import { chatFestival } from "../worker/chat-helpers";
import { closeAll, drainToKafka, historyPage, sendBurst } from "../worker/chat-history-helpers";
import { runCron } from "../worker/cron";
import { failStatements, stopFailing } from "../worker/db-faults";
import { createAdmin, createFestival, createUsers, type SeededUser } from "../worker/fixtures";
import { api } from "../worker/helpers";
import {
  failNextSends,
  festivalOn,
  hours,
  inbox,
  ofType,
  pushesTo,
  registerDevice,
  setOffsets,
} from "../worker/notifications-helpers";
import { reserve } from "../worker/reservations-helpers";
import { entryStatus, joinWaitlist } from "../worker/sales-helpers";

// The Worker's `scheduled` entry, driven through the runtime (test/worker/cron.ts): each test makes
// one job's work exist, fires a tick, and sees the job's effect through the public interface.
// Here, not in test/worker/: a tick works on the whole database, and these move its clock forward
// (this project runs one file at a time on its own stack).

const MINUTE = 60_000;
/** Fires ticks until `check` passes: a job that hands work to another (a room's alarm, a push retry) may need two. */
async function ticksUntil(check: () => Promise<void>, scheduledTime?: () => number) {
  await vi.waitFor(
    async () => {
      await runCron(scheduledTime ? { scheduledTime: scheduledTime() } : {});
      await check();
    },
    { timeout: 45_000, interval: 200 },
  );
}

describe("cron: every registered job, through the Worker's scheduled entry", () => {
  it("runs a tick of all jobs without one failing", async () => {
    await expect(runCron()).resolves.toBeUndefined();
  });

  it("chat-consumer: messages acked in a room reach DynamoDB and the room stops reporting them", async () => {
    const admin = await createAdmin();
    const { festivalId, members } = await chatFestival(2);
    const sent = await sendBurst(festivalId, members.slice(0, 1), 3, "cron");
    await drainToKafka(festivalId);
    const roomWaiting = async () =>
      (
        await api<V1AdminChatPersistenceGetResponse>("GET", "/v1/admin/chat/persistence", {
          token: admin.token,
        })
      ).body.rooms.some((r) => r.roomId === String(festivalId));
    expect(await roomWaiting()).toBe(true);
    await ticksUntil(async () => expect(await roomWaiting()).toBe(false));
    const page = await historyPage(festivalId, (members[1] as SeededUser).token);
    expect(page.status).toBe(200);
    expect(page.body.items.map((m) => m.text).sort()).toEqual([...sent.texts.values()].sort());
    await closeAll(sent.clients);
  });

  it("chat-pushes: a member who is away gets one push for unread messages", async () => {
    const { festivalId, members } = await chatFestival(2);
    const [sender, away] = members as [SeededUser, SeededUser];
    const device = await registerDevice(away);
    const sent = await sendBurst(festivalId, [sender], 2, "unread");
    // The room publishes its unread summary when it writes through (its alarm), then a tick pushes.
    await drainToKafka(festivalId);
    await ticksUntil(async () => {
      const pushes = (await pushesTo(device)).filter((p) => p.message.data.type === "chat.unread");
      expect(pushes).toHaveLength(1);
      expect(pushes[0]?.message.data.roomId).toBe(String(festivalId));
    });
    await closeAll(sent.clients);
  });

  it("reminders: the reservation's reminder is in the inbox at its time, not before", async () => {
    const festival = await festivalOn(75);
    const [user] = (await createUsers(1)) as [SeededUser];
    await setOffsets([user.id], [24]);
    expect((await reserve(user, festival.id, { day: festival.day, quantity: 1 })).status).toBe(201);
    await runCron({ scheduledTime: festival.start - hours(25) });
    expect(ofType(await inbox(user), "reservation.reminder")).toEqual([]);
    await runCron({ scheduledTime: festival.start - hours(23) });
    const reminders = ofType(await inbox(user), "reservation.reminder");
    expect(reminders).toHaveLength(1);
    expect(reminders[0]?.data).toMatchObject({ festivalId: String(festival.id), offsetHours: "24" });
  });

  it("notification-events: a push FCM refused is sent again by the job", async () => {
    const f = await createFestival({ dayCount: 1 });
    const [user] = (await createUsers(1)) as [SeededUser];
    const device = await registerDevice(user);
    await failNextSends(device, 3, 503);
    expect((await reserve(user, f.id, { day: f.days[0], quantity: 1 })).status).toBe(201);
    await vi.waitFor(async () => expect(ofType(await inbox(user), "reservation.confirmed")).toHaveLength(1), {
      timeout: 20_000,
    });
    await ticksUntil(async () =>
      expect((await pushesTo(device)).map((p) => p.message.data.type)).toContain("reservation.confirmed"),
    );
  });

  it("waitlist: an offer past its time passes to the next in line, who is told", async () => {
    const f = await createFestival({ capacity: 1, dayCount: 1 });
    const day = f.days[0] as string;
    const [buyer, first, second] = (await createUsers(3)) as [SeededUser, SeededUser, SeededUser];
    const held = await reserve(buyer, f.id, { day, quantity: 1 });
    expect(held.status).toBe(201);
    for (const w of [first, second])
      expect((await joinWaitlist(w, f.id, { day, quantity: 1 })).status).toBe(201);
    expect(
      (await api("POST", `/v1/reservations/${held.body.id}/cancel`, { token: buyer.token })).status,
    ).toBe(200);
    const offer = await entryStatus(first, f.id, day);
    expect(offer?.status).toBe("offered");
    const expiresAt = Date.parse(offer?.offer?.expiresAt ?? "");
    const offered = async () => ofType(await inbox(second), "waitlist.offer");
    expect(await offered()).toEqual([]);
    // A tick after the offer's time: the job expires it and offers the place to the second, who is
    // told in the inbox (read without touching the waitlist, whose reads also expire offers).
    await runCron({ scheduledTime: expiresAt + MINUTE });
    expect(await offered()).toHaveLength(1);
    expect((await entryStatus(second, f.id, day))?.status).toBe("offered");
    expect((await entryStatus(first, f.id, day))?.status).not.toBe("offered");
  });

  it("pending-reservations: a pending row its Worker left behind is swept, and its key is free again", async () => {
    const f = await createFestival({ capacity: 5, dayCount: 1, perUserLimit: 4 });
    const day = f.days[0] as string;
    const [user] = (await createUsers(1)) as [SeededUser];
    const key = `sweep-${crypto.randomUUID()}`;
    // The sale batch finds the database out of connections: 503, nothing written, the key marked as
    // having reached the database. Its retry takes the single-statement path (reservations/service.ts),
    // whose confirming statement keeps failing: it gives up with 503 and leaves its pending row.
    const batch = `WHERE f.id = ${f.id} /* sale batch */`;
    await failStatements(batch, { errno: 1040, times: 1 });
    try {
      expect((await reserve(user, f.id, { day, quantity: 1 }, key)).status).toBe(503);
    } finally {
      expect(await stopFailing(batch)).toBe(1);
    }
    const match = `t.festival_id = ${f.id} AND t.user_id = ${user.id}`;
    await failStatements(match);
    try {
      expect((await reserve(user, f.id, { day, quantity: 1 }, key)).status).toBe(503);
    } finally {
      await stopFailing(match);
    }
    // The pending row now holds the key: a request with another body under it would be a 422 (and
    // that 422 would be remembered for 24 h, so the test does not ask). Past its 2-minute grace the
    // job deletes the row: the key is free for a new request.
    await runCron({ scheduledTime: Date.now() + 3 * MINUTE });
    const fresh = await reserve(user, f.id, { day, quantity: 3 }, key);
    expect(fresh.status).toBe(201);
    expect(fresh.body.quantity).toBe(3);
  });
});
