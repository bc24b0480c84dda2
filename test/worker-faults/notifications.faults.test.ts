import { env } from "cloudflare:test";
import { and, eq } from "drizzle-orm";
import { afterEach, describe, expect, it } from "vitest";
import { retryPendingPushes } from "../../workers/api/notifications/notify";
import { notifications } from "../../workers/db/schema/notifications";
import { createLogger } from "../../workers/lib/logger";
import { getServices } from "../../workers/lib/services";
import { createFestival, createUser, db } from "../worker/fixtures";
import { control } from "../worker/helpers";
import { inbox, ofType, pushesTo, registerDevice, settled } from "../worker/notifications-helpers";
import { reserve } from "../worker/reservations-helpers";

const log = createLogger({ test: "notifications.faults" });

afterEach(async () => {
  await control("start", "fcm");
});

describe("push service down", () => {
  it("still confirms the reservation and keeps the notification; the push goes out once FCM is back", async () => {
    const festival = await createFestival({ dayCount: 1 });
    const user = await createUser();
    const device = await registerDevice(user);
    // Warm the OAuth token cache, so the restarted stand-in (which forgot it) answers 401 later.
    await reserve(user, festival.id, { day: festival.days[0], quantity: 1 });
    await settled(async () => expect(await pushesTo(device)).toHaveLength(1));

    await control("stop", "fcm");
    const res = await reserve(user, festival.id, { day: festival.days[0], quantity: 1 });
    expect(res.status).toBe(201);
    await settled(async () => expect(ofType(await inbox(user), "reservation.confirmed")).toHaveLength(2));
    // The push is attempted after the answer: FCM comes back only once that attempt gave up (its
    // claim released), as it would be minutes later in production.
    await settled(async () => {
      const [n] = await db()
        .select()
        .from(notifications)
        .where(
          and(
            eq(notifications.userId, user.id),
            eq(notifications.dedupeKey, `reservation.confirmed:${res.body.id}`),
          ),
        );
      expect(n?.pushedAt).toBeNull();
      expect(n?.pushClaimedAt).toBeNull();
    });

    await control("start", "fcm");
    expect(await retryPendingPushes(getServices(env), log)).toBeGreaterThanOrEqual(1);
    // A fresh stand-in: it holds only what was sent after the restart, with a newly issued token.
    const after = await pushesTo(device);
    expect(after.map((p) => p.message.data.reservationId)).toEqual([String(res.body.id)]);
  });
});
