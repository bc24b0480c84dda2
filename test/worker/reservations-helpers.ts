import { env } from "cloudflare:test";
import { and, eq, inArray, sql } from "drizzle-orm";
import { issueAccessToken } from "../../workers/api/auth/tokens";
import type { V1FestivalsReservationsPostResponse } from "../../workers/api/reservations/v1_festivals_reservations_post";
import { festivalDays, festivals, type NewFestival } from "../../workers/db/schema/festivals";
import { reservations } from "../../workers/db/schema/reservations";
import { users } from "../../workers/db/schema/users";
import { getServices } from "../../workers/lib/services";
import { api, uniqueEmail } from "./helpers";

/** Seeds what reservation tests need straight into the database (the festival routes are another area's). */
export const db = () => getServices(env).db;
const DAY_MS = 86_400_000;
export const TZ = "Asia/Seoul";

/** Today's date in Seoul plus n days, `YYYY-MM-DD`. */
export function seoulDay(n = 0): string {
  return new Date(Date.now() + 9 * 3600_000 + n * DAY_MS).toISOString().slice(0, 10);
}

export interface TestFestival {
  id: number;
  days: string[];
}

/** On sale now, starting tomorrow (Seoul), `capacity` places on each of `dayCount` days. */
export async function createFestival(
  opts: { capacity?: number; dayCount?: number; perUserLimit?: number } & Partial<NewFestival> = {},
): Promise<TestFestival> {
  const { capacity = 10, dayCount = 2, perUserLimit = 4, ...overrides } = opts;
  const days = Array.from({ length: dayCount }, (_, i) => seoulDay(1 + i));
  const now = Date.now();
  const [row] = await db()
    .insert(festivals)
    .values({
      title: "솜솜 불꽃축제",
      description: "test festival",
      category: "music",
      region: "seoul",
      venueName: "한강공원",
      venueAddress: "서울",
      lat: 37.5,
      lng: 127,
      startDate: days[0] ?? seoulDay(1),
      endDate: days.at(-1) ?? seoulDay(1),
      timezone: TZ,
      startsAt: new Date(`${days[0] ?? seoulDay(1)}T00:00:00+09:00`),
      endsAt: new Date(Date.parse(`${days.at(-1) ?? seoulDay(1)}T00:00:00+09:00`) + DAY_MS),
      perUserLimit,
      saleOpensAt: new Date(now - 3600_000),
      saleClosesAt: new Date(now + 3 * DAY_MS),
      tags: [],
      searchTitle: "솜솜 불꽃축제",
      searchText: "솜솜 불꽃축제",
      ...overrides,
    })
    .$returningId();
  const id = (row as { id: number }).id;
  if (days.length)
    await db()
      .insert(festivalDays)
      .values(days.map((day) => ({ festivalId: id, day, capacity })));
  return { id, days };
}

export interface SeededUser {
  id: number;
  token: string;
}

/** Many users at once without PBKDF2: rows inserted directly, access tokens minted. */
export async function createUsers(n: number, role: "user" | "admin" = "user"): Promise<SeededUser[]> {
  const emails = Array.from({ length: n }, () => uniqueEmail("bulk"));
  await db()
    .insert(users)
    .values(
      emails.map((email) => ({
        email,
        nickname: "관객",
        passwordHash: "!",
        role,
        reminderOffsetsHours: [24],
      })),
    );
  const rows = await db().select({ id: users.id }).from(users).where(inArray(users.email, emails));
  return Promise.all(
    rows.map(async ({ id }) => ({ id, token: (await issueAccessToken({ id, role }, env.JWT_SECRET)).token })),
  );
}

export async function createUser(): Promise<SeededUser> {
  const [user] = await createUsers(1);
  if (!user) throw new Error("no user");
  return user;
}

export const createAdminUser = async () => (await createUsers(1, "admin"))[0] as SeededUser;

export type ReservationBody = V1FestivalsReservationsPostResponse;

export function reserve(user: { token: string }, festivalId: number, body: unknown, idempotencyKey?: string) {
  return api<ReservationBody>("POST", `/v1/festivals/${festivalId}/reservations`, {
    token: user.token,
    body,
    headers: idempotencyKey ? { "idempotency-key": idempotencyKey } : {},
  });
}

/** What the database says: per day capacity/reserved and the sum of active reservation quantities. */
export async function dbState(festivalId: number) {
  const days = await db().select().from(festivalDays).where(eq(festivalDays.festivalId, festivalId));
  const active = await db()
    .select({ day: reservations.day, total: sql<number>`sum(${reservations.quantity})`.mapWith(Number) })
    .from(reservations)
    .where(
      and(eq(reservations.festivalId, festivalId), inArray(reservations.status, ["confirmed", "checked_in"])),
    )
    .groupBy(reservations.day);
  const [f] = await db()
    .select({ reservedCount: festivals.reservedCount })
    .from(festivals)
    .where(eq(festivals.id, festivalId));
  return {
    days: Object.fromEntries(
      days.map((d) => [d.day, { capacity: d.capacity, reserved: d.reserved, held: d.held }]),
    ),
    active: Object.fromEntries(active.map((a) => [a.day, a.total])) as Record<string, number>,
    reservedCount: f?.reservedCount ?? -1,
    rows: await db().select().from(reservations).where(eq(reservations.festivalId, festivalId)),
  };
}
