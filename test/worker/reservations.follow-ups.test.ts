import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { V1MeChatRoomsGetResponse } from "../../workers/api/chat/v1_me_chat_rooms_get";
import { runFollowUpSoon } from "../../workers/api/follow-ups";
import { createLogger } from "../../workers/lib/logger";
import { getServices } from "../../workers/lib/services";
import { createFestival, createUsers } from "./fixtures";
import { api } from "./helpers";
import { inbox, ofType, pushesTo, registerDevice, settled } from "./notifications-helpers";
import { reserve } from "./reservations-helpers";

/**
 * Sale day: reservations arriving together have their follow-ups (chat membership, inbox entry,
 * push) run in batches (workers/api/follow-ups.ts). Each buyer must end up exactly as after a
 * follow-up of their own: a member once, counted once, told once, pushed once.
 */

const myRooms = (token: string) => api<V1MeChatRoomsGetResponse>("GET", "/v1/me/chat-rooms", { token });

const N = 30;

describe("follow-ups of many reservations at once", () => {
  it("every buyer joins the room once, is counted once, and gets one notice and one push", async () => {
    const f = await createFestival({ dayCount: 1, capacity: N + 5 });
    const buyers = await createUsers(N);
    // A few have a device: their pushes are owned and sent by the batch.
    const devices = await Promise.all(buyers.slice(0, 5).map((u) => registerDevice(u)));
    const results = await Promise.all(buyers.map((u) => reserve(u, f.id, { day: f.days[0], quantity: 1 })));
    expect(results.map((r) => r.status)).toEqual(buyers.map(() => 201));

    const expectOnceEach = async () => {
      for (const u of buyers) {
        const rooms = (await myRooms(u.token)).body.items;
        expect(rooms.map((r) => [r.festivalId, r.memberCount])).toEqual([[f.id, N]]);
        const notices = ofType(await inbox(u), "reservation.confirmed");
        expect(notices).toHaveLength(1);
      }
      for (const d of devices) {
        expect((await pushesTo(d)).map((p) => p.message.data.type)).toEqual(["reservation.confirmed"]);
      }
    };
    await settled(expectOnceEach);

    // The same follow-ups again, as a cron retry after a lost DELETE would run them (the rows are
    // gone, so only their work repeats): nothing is added, counted, stored or pushed twice.
    const s = getServices(env);
    const log = createLogger({ test: "reservations.follow-ups" });
    await Promise.all(
      results.map((r, i) =>
        runFollowUpSoon(s, log, {
          id: -1 - i,
          kind: "reservation.confirmed",
          payload: { reservationId: r.body.id },
        }),
      ),
    );
    await expectOnceEach();
  });
});
