import { env } from "cloudflare:test";
import { inArray } from "drizzle-orm";
import { hashPassword } from "../../workers/api/auth/password";
import { createUser as createUserAccount, tokensFor } from "../../workers/api/auth/service";
import { issueAccessToken } from "../../workers/api/auth/tokens";
import type {
  V1FestivalsCreateRequest,
  V1FestivalsCreateResponse,
} from "../../workers/api/festivals/v1_festivals_create";
import { festivalDays, festivals, type NewFestival } from "../../workers/db/schema/festivals";
import { users } from "../../workers/db/schema/users";
import { getServices } from "../../workers/lib/services";
import { api } from "./helpers";

/**
 * The people and festivals tests stand on, in one place. Each comes two ways: through the public API
 * (what a client does, for the tests of that route) or seeded straight into the database (fast, and
 * without depending on another area's routes).
 */

export const db = () => getServices(env).db;

// ---- Users ----

let counter = 0;
export const uniqueEmail = (tag = "user") =>
  `${tag}-${Date.now().toString(36)}-${++counter}-${Math.random().toString(36).slice(2, 6)}@example.com`;

export const PASSWORD = "festival-2026";

export interface SeededUser {
  id: number;
  token: string;
}

export interface TestUser extends SeededUser {
  email: string;
  refreshToken: string;
}

/** A fresh user through the public sign-up route. */
export async function signup(nickname = "솜솜이"): Promise<TestUser> {
  const email = uniqueEmail();
  const res = await api<{ user: { id: number }; tokens: { accessToken: string; refreshToken: string } }>(
    "POST",
    "/v1/auth/signup",
    { body: { email, password: PASSWORD, nickname } },
  );
  if (res.status !== 201) throw new Error(`signup failed: ${res.status} ${JSON.stringify(res.body)}`);
  return {
    id: res.body.user.id,
    email,
    token: res.body.tokens.accessToken,
    refreshToken: res.body.tokens.refreshToken,
  };
}

/** Admins are never made by sign-up; the harness seeds one the way `npm run admin:create` does. */
export async function createAdmin(): Promise<TestUser> {
  const s = getServices(env);
  const email = uniqueEmail("admin");
  const user = await createUserAccount(s, { email, password: PASSWORD, nickname: "운영자", role: "admin" });
  const tokens = await tokensFor(s, env, user);
  return { id: user.id, email, token: tokens.accessToken, refreshToken: tokens.refreshToken };
}

// One PBKDF2 run for every seeded user: their password is PASSWORD (DELETE /v1/me asks for it).
let seededHash: Promise<string> | undefined;

/** Many users at once without PBKDF2 per user: rows inserted directly, access tokens minted. */
export async function createUsers(n: number, role: "user" | "admin" = "user"): Promise<SeededUser[]> {
  const emails = Array.from({ length: n }, () => uniqueEmail("bulk"));
  seededHash ??= hashPassword(PASSWORD);
  const passwordHash = await seededHash;
  await db()
    .insert(users)
    .values(
      emails.map((email) => ({
        email,
        nickname: "관객",
        passwordHash,
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

// ---- Dates ----

const DAY_MS = 86_400_000;
export const TZ = "Asia/Seoul";

/** `YYYY-MM-DD`, n days from today (UTC). */
export const day = (n: number) => new Date(Date.now() + n * DAY_MS).toISOString().slice(0, 10);
export const instant = (hoursFromNow: number) =>
  new Date(Date.now() + hoursFromNow * 3_600_000).toISOString();

/** Today's date in Seoul plus n days, `YYYY-MM-DD`. */
export function seoulDay(n = 0): string {
  return new Date(Date.now() + 9 * 3600_000 + n * DAY_MS).toISOString().slice(0, 10);
}

/** A word no other test (or test run) uses: festivals are found by it, so shared data never interferes. */
export const uniqueWord = (prefix = "t") =>
  `${prefix}${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;

// ---- Festivals ----

/** The body of POST /v1/festivals: a valid festival a month out, on sale now. */
export function festivalInput(overrides: Partial<V1FestivalsCreateRequest> = {}): V1FestivalsCreateRequest {
  return {
    title: "자라섬 재즈 페스티벌",
    description: "가을 섬에서 열리는 재즈 축제",
    category: "music",
    region: "경기",
    venue: { name: "자라섬", address: "경기도 가평군 가평읍 달전리", lat: 37.8169, lng: 127.5255 },
    startDate: day(30),
    endDate: day(32),
    timezone: TZ,
    capacity: 100,
    perUserLimit: 4,
    saleOpensAt: instant(-24),
    saleClosesAt: instant(24 * 29),
    imageUrl: "https://images.example.com/jarasum.jpg",
    tags: ["jazz", "outdoor"],
    ...overrides,
  };
}

/** A festival made through POST /v1/festivals, as an admin's client makes it. */
export async function postFestival(admin: TestUser, overrides: Partial<V1FestivalsCreateRequest> = {}) {
  const res = await api<V1FestivalsCreateResponse>("POST", "/v1/festivals", {
    token: admin.token,
    body: festivalInput(overrides),
  });
  if (res.status !== 201) throw new Error(`create festival: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

export interface TestFestival {
  id: number;
  days: string[];
}

/**
 * A festival seeded into the database: on sale now, `capacity` places on each of `dayCount` days
 * from `firstDay` days ahead (Seoul; default tomorrow). `dayCount: 0` leaves it without day rows.
 */
export async function createFestival(
  opts: {
    capacity?: number;
    dayCount?: number;
    firstDay?: number;
    perUserLimit?: number;
  } & Partial<NewFestival> = {},
): Promise<TestFestival> {
  const { capacity = 10, dayCount = 2, firstDay = 1, perUserLimit = 4, ...overrides } = opts;
  const days = Array.from({ length: dayCount }, (_, i) => seoulDay(firstDay + i));
  const first = days[0] ?? seoulDay(firstDay);
  const last = days.at(-1) ?? first;
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
      startDate: first,
      endDate: last,
      timezone: TZ,
      startsAt: new Date(`${first}T00:00:00+09:00`),
      endsAt: new Date(Date.parse(`${last}T00:00:00+09:00`) + DAY_MS),
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
