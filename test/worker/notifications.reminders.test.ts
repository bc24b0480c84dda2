import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { notifications, reminderDeliveries } from "../../workers/db/schema/notifications";
import { reservations } from "../../workers/db/schema/reservations";
import { createUsers, db } from "./fixtures";
import { api } from "./helpers";
import {
  festivalOn,
  hours,
  inbox,
  ofType,
  pushesTo,
  registerDevice,
  runReminderCron,
  setOffsets,
} from "./notifications-helpers";
import { reserve } from "./reservations-helpers";

const REMINDER = "reservation.reminder";

async function reservedUsers(daysAhead: number, count: number, offsets = [24, 1]) {
  const festival = await festivalOn(daysAhead);
  const people = await createUsers(count);
  await setOffsets(
    people.map((p) => p.id),
    offsets,
  );
  const booked = await Promise.all(
    people.map(async (p) => {
      const device = await registerDevice(p);
      const res = await reserve(p, festival.id, { day: festival.day, quantity: 1 });
      expect(res.status).toBe(201);
      return { ...p, device, reservationId: res.body.id };
    }),
  );
  return { festival, booked };
}

const remindersOf = async (user: { token: string }) => ofType(await inbox(user), REMINDER);
const reminderPushes = async (device: string) =>
  (await pushesTo(device)).filter((p) => p.message.data.type === REMINDER);

describe("reminders before a reserved day (cron, controlled clock)", () => {
  it("sends D-1 and H-1 once each at their time, never twice across overlapping runs", async () => {
    const { festival, booked } = await reservedUsers(30, 12);
    const { start } = festival;

    await Promise.all([runReminderCron(start - hours(25)), runReminderCron(start - hours(25))]);
    for (const u of booked) expect(await remindersOf(u)).toEqual([]);

    // Three ticks at once, then later ticks: every reminder is claimed by exactly one of them.
    await Promise.all([0, 1, 2].map(() => runReminderCron(start - hours(23))));
    await runReminderCron(start - hours(22));
    for (const u of booked) {
      const got = await remindersOf(u);
      expect(got).toHaveLength(1);
      expect(got[0]?.data).toMatchObject({ reservationId: String(u.reservationId), offsetHours: "24" });
      expect(await reminderPushes(u.device)).toHaveLength(1);
    }

    await Promise.all([runReminderCron(start - hours(0.5)), runReminderCron(start - hours(0.5))]);
    await runReminderCron(start - hours(0.25));
    await runReminderCron(start + hours(1));
    for (const u of booked) {
      const got = await remindersOf(u);
      expect(got.map((n) => n.data.offsetHours).sort()).toEqual(["1", "24"]);
      const pushes = await reminderPushes(u.device);
      expect(pushes).toHaveLength(2);
      expect(pushes[0]?.message.notification.title).toContain(`알림 축제 30`);
    }
  });

  it("never reminds of a cancelled reservation", async () => {
    const { festival, booked } = await reservedUsers(45, 2);
    const [kept, cancelled] = booked as [(typeof booked)[0], (typeof booked)[0]];
    const res = await api("POST", `/v1/reservations/${cancelled.reservationId}/cancel`, {
      token: cancelled.token,
    });
    expect(res.status).toBe(200);

    await runReminderCron(festival.start - hours(23));
    await runReminderCron(festival.start - hours(0.5));
    expect(await remindersOf(kept)).toHaveLength(2);
    expect(await remindersOf(cancelled)).toEqual([]);
    expect(await reminderPushes(cancelled.device)).toEqual([]);
  });

  it("sends nothing to a user who turned reminders off, and follows each user's own offsets", async () => {
    const { festival, booked } = await reservedUsers(60, 2);
    const [off, custom] = booked as [(typeof booked)[0], (typeof booked)[0]];
    const patched = await api("PATCH", "/v1/me", {
      token: off.token,
      body: { notifications: { reminders: false } },
    });
    expect(patched.status).toBe(200);
    await setOffsets([custom.id], [48]);

    for (const h of [47, 23, 0.5]) await runReminderCron(festival.start - hours(h));
    expect(await remindersOf(off)).toEqual([]);
    expect(await reminderPushes(off.device)).toEqual([]);
    const got = await remindersOf(custom);
    expect(got.map((n) => n.data.offsetHours)).toEqual(["48"]);
  });

  it("sends only the nearest reminder when several are due at once (cron was down)", async () => {
    const { festival, booked } = await reservedUsers(75, 2);
    // The first tick anyone sees is 30 min before the day: D-1 and H-1 are both due.
    await runReminderCron(festival.start - hours(0.5));
    for (const u of booked) {
      expect((await remindersOf(u)).map((n) => n.data.offsetHours)).toEqual(["1"]);
      expect(await reminderPushes(u.device)).toHaveLength(1);
      const ledger = await db()
        .select()
        .from(reminderDeliveries)
        .where(eq(reminderDeliveries.reservationId, u.reservationId));
      expect(ledger.map((l) => [l.offsetHours, l.status]).sort()).toEqual([
        [1, "sent"],
        [24, "skipped"],
      ]);
    }
    await runReminderCron(festival.start - hours(0.25));
    for (const u of booked) expect(await remindersOf(u)).toHaveLength(1);
  });

  it("skips a reminder whose moment passed before the reservation was made", async () => {
    const { festival, booked } = await reservedUsers(120, 1);
    const [late] = booked as [(typeof booked)[0]];
    // Reserved 10 h before the day: a "tomorrow!" reminder would come too late to mean anything.
    await db()
      .update(reservations)
      .set({ confirmedAt: new Date(festival.start - hours(10)) })
      .where(eq(reservations.id, late.reservationId));
    await runReminderCron(festival.start - hours(9));
    expect(await remindersOf(late)).toEqual([]);
    await runReminderCron(festival.start - hours(0.5));
    expect((await remindersOf(late)).map((n) => n.data.offsetHours)).toEqual(["1"]);
    expect(await reminderPushes(late.device)).toHaveLength(1);
  });

  it("leaves a fresh claim of another run alone and takes a stale one over, sending it once", async () => {
    const { festival, booked } = await reservedUsers(90, 2);
    const [u] = booked as [(typeof booked)[0]];
    await setOffsets([u.id], [24]);
    const now = festival.start - hours(23);
    // Another run claimed this reminder a minute ago and is (maybe) still at it.
    await db()
      .insert(reminderDeliveries)
      .values({
        reservationId: u.reservationId,
        offsetHours: 24,
        status: "claimed",
        claimId: "other-run",
        claimedAt: new Date(now - 60_000),
      });
    await runReminderCron(now);
    expect(await remindersOf(u)).toEqual([]);

    // That run died: six minutes on, its claim is stale and the next tick sends the reminder.
    await Promise.all([runReminderCron(now + 6 * 60_000), runReminderCron(now + 6 * 60_000)]);
    await runReminderCron(now + 20 * 60_000);
    expect(await remindersOf(u)).toHaveLength(1);
    expect(await reminderPushes(u.device)).toHaveLength(1);
    const [row] = await db()
      .select()
      .from(reminderDeliveries)
      .where(
        and(eq(reminderDeliveries.reservationId, u.reservationId), eq(reminderDeliveries.offsetHours, 24)),
      );
    expect(row).toMatchObject({ status: "sent", attempts: 2 });
  });

  it("does not send again when a run died after sending but before marking it sent", async () => {
    const { festival, booked } = await reservedUsers(105, 1);
    const [u] = booked as [(typeof booked)[0]];
    await setOffsets([u.id], [24]);
    const now = festival.start - hours(23);
    await runReminderCron(now);
    expect(await remindersOf(u)).toHaveLength(1);
    // Rewind the ledger to "claimed long ago, never marked": what a crash after notify() leaves.
    await db()
      .update(reminderDeliveries)
      .set({ status: "claimed", claimId: "crashed-run", claimedAt: new Date(now - hours(1)), doneAt: null })
      .where(eq(reminderDeliveries.reservationId, u.reservationId));

    await runReminderCron(now + 60_000);
    expect(await remindersOf(u)).toHaveLength(1);
    expect(await reminderPushes(u.device)).toHaveLength(1);
    const rows = await db()
      .select()
      .from(notifications)
      .where(and(eq(notifications.userId, u.id), eq(notifications.type, REMINDER)));
    expect(rows).toHaveLength(1);
    const [ledger] = await db()
      .select()
      .from(reminderDeliveries)
      .where(eq(reminderDeliveries.reservationId, u.reservationId));
    expect(ledger?.status).toBe("sent");
  });
});
