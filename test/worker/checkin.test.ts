import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { festivals } from "../../workers/db/schema/festivals";
import { createAdminUser, createFestival, createUser, db } from "./fixtures";
import { type ApiError, api } from "./helpers";
import { type ReservationBody, reserve } from "./reservations-helpers";

/** The gate refuses what must not get in (issue 15): a cancelled festival, and a code for another day. */
describe("check-in refusals", () => {
  const scan = (admin: { token: string }, festivalId: number, code: string | null) =>
    api<ApiError>("POST", `/v1/festivals/${festivalId}/check-ins`, {
      token: admin.token,
      body: { code: code ?? "" },
    });

  it("refuses every code of a cancelled festival, also while its reservations are still being cancelled", async () => {
    const f = await createFestival({ firstDay: 0, dayCount: 1 });
    const [user, admin] = [await createUser(), await createAdminUser()];
    const r = await reserve(user, f.id, { day: f.days[0], quantity: 1 });
    expect(r.status).toBe(201);
    // The state between the admin's cancel and the job reaching this reservation: still confirmed.
    await db().update(festivals).set({ cancelledAt: new Date() }).where(eq(festivals.id, f.id));
    const res = await scan(admin, f.id, r.body.checkInCode);
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe("checkin.festival_cancelled");
    const read = await api<ReservationBody>("GET", `/v1/reservations/${r.body.id}`, { token: user.token });
    expect(read.body.status).toBe("confirmed");
  });

  it("refuses a code on another day than its own, and takes it on its day", async () => {
    const f = await createFestival({ firstDay: 0, dayCount: 2 });
    const [user, admin] = [await createUser(), await createAdminUser()];
    const tomorrow = await reserve(user, f.id, { day: f.days[1], quantity: 1 });
    const today = await reserve(user, f.id, { day: f.days[0], quantity: 1 });
    const early = await scan(admin, f.id, tomorrow.body.checkInCode);
    expect(early.status).toBe(422);
    expect(early.body.error).toMatchObject({
      code: "checkin.wrong_day",
      details: { day: f.days[1], today: f.days[0] },
    });
    expect((await scan(admin, f.id, today.body.checkInCode)).status).toBe(200);
    const read = await api<ReservationBody>("GET", `/v1/reservations/${tomorrow.body.id}`, {
      token: user.token,
    });
    expect(read.body.status).toBe("confirmed");
  });
});
