import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { mintAdmissionToken } from "../../workers/api/sales/admission-token";
import { createFestival, createUsers, type SeededUser } from "./fixtures";
import { type ApiError, api } from "./helpers";
import { reserve } from "./reservations-helpers";
import { joinQueue } from "./sales-helpers";

const MIN = 60_000;

/** A festival whose queue admits everyone at once: each test gets an admitted user and a valid token. */
async function admittedSetup() {
  const f = await createFestival({
    capacity: 100,
    queueEnabled: true,
    queueRatePerMinute: 1000,
    queueOpensAt: new Date(Date.now() - MIN),
  });
  const [user, other] = (await createUsers(2)) as [SeededUser, SeededUser];
  const joined = await joinQueue(user, f.id);
  expect(joined.body.status).toBe("admitted");
  const token = joined.body.admission?.token ?? "";
  return { f, user, other, token };
}

const code = (res: { body: unknown }) => (res.body as ApiError).error.code;

async function hmacB64url(secret: string, text: string) {
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const sig = new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(text)));
  return btoa(String.fromCharCode(...sig))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}

describe("waiting room: the reservation call needs a valid admission while the queue is on", () => {
  it("refuses a reservation without a token (403) and changes nothing", async () => {
    const { f, other } = await admittedSetup();
    const res = await reserve(other, f.id, { day: f.days[0], quantity: 1 });
    expect(res.status).toBe(403);
    expect(code(res)).toBe("queue.admission_required");
    const view = await api<{ days: { remaining: number }[] }>("GET", `/v1/festivals/${f.id}`);
    if (view.status === 200) expect(view.body.days[0]?.remaining).toBe(100);
  });

  it("accepts the user's own token, in the header or the body", async () => {
    const { f, user, token } = await admittedSetup();
    const viaHeader = await api("POST", `/v1/festivals/${f.id}/reservations`, {
      token: user.token,
      body: { day: f.days[0], quantity: 1 },
      headers: { "x-admission-token": token },
    });
    expect(viaHeader.status).toBe(201);
    // The token stays valid until it expires (the user may reserve another day with it).
    const viaBody = await reserve(user, f.id, { day: f.days[1], quantity: 1, admissionToken: token });
    expect(viaBody.status).toBe(201);
  });

  it("refuses another user's token, another festival's token, and a tampered or forged one", async () => {
    const { f, user, other, token } = await admittedSetup();
    const second = await admittedSetup();
    const sameUserOtherFestival = (await joinQueue(user, second.f.id)).body.admission?.token ?? "";
    expect(sameUserOtherFestival).toMatch(/^adm1\./);
    const parts = token.split(".");
    const exp = Number(parts[3]);
    const sig = parts[4] ?? "";
    const flipped = `${sig[0] === "A" ? "B" : "A"}${sig.slice(1)}`;
    const cases: [SeededUser, string][] = [
      [other, token], // someone else's admission
      [user, sameUserOtherFestival], // the user's admission to another festival
      [user, `adm1.${f.id}.${user.id}.${exp + 3_600_000}.${sig}`], // expiry pushed out
      [other, `adm1.${f.id}.${other.id}.${exp}.${sig}`], // user id swapped in
      [user, `adm1.${f.id}.${user.id}.${exp}.${flipped}`], // signature altered
      // Signed with the raw JWT secret instead of the derived admission key.
      [
        user,
        `adm1.${f.id}.${user.id}.${exp}.${await hmacB64url(env.JWT_SECRET, `admission:v1:${f.id}:${user.id}:${exp}`)}`,
      ],
      [user, "not-a-token"],
      [user, `eyJhbGciOiJIUzI1NiJ9.${user.token.split(".")[1]}.sig`],
    ];
    for (const [who, t] of cases) {
      const res = await reserve(who, f.id, { day: f.days[0], quantity: 1, admissionToken: t });
      expect(res.status, t).toBe(403);
      expect(code(res)).toBe("queue.admission_invalid");
    }
    // An access token is not an admission either.
    const access = await api("POST", `/v1/festivals/${f.id}/reservations`, {
      token: user.token,
      body: { day: f.days[0], quantity: 1 },
      headers: { "x-admission-token": user.token },
    });
    expect(access.status).toBe(403);
  });

  it("refuses an expired admission, even one genuinely signed", async () => {
    const { f, user } = await admittedSetup();
    const expired = await mintAdmissionToken(env.JWT_SECRET, {
      festivalId: f.id,
      userId: user.id,
      expiresAt: Date.now() - 1000,
    });
    const res = await reserve(user, f.id, { day: f.days[0], quantity: 1, admissionToken: expired });
    expect(res.status).toBe(403);
    expect(code(res)).toBe("queue.admission_expired");
  });

  it("needs no token when the queue is off", async () => {
    const f = await createFestival({ capacity: 5 });
    const [u] = (await createUsers(1)) as [SeededUser];
    expect((await reserve(u, f.id, { day: f.days[0], quantity: 1 })).status).toBe(201);
  });
});

describe("waiting room: authentication and roles", () => {
  it("answers 401 without a token on every queue route", async () => {
    const f = await createFestival({ queueEnabled: true });
    for (const [method, path] of [
      ["POST", `/v1/festivals/${f.id}/queue`],
      ["GET", `/v1/festivals/${f.id}/queue/me`],
      ["GET", `/v1/festivals/${f.id}/queue/me/events`],
      ["DELETE", `/v1/festivals/${f.id}/queue/me`],
      ["GET", `/v1/festivals/${f.id}/sales`],
      ["PATCH", `/v1/festivals/${f.id}/sales`],
    ] as const) {
      const res = await api(method, path, method === "PATCH" ? { body: { queueEnabled: false } } : {});
      expect(res.status, `${method} ${path}`).toBe(401);
    }
    const bad = await api("GET", `/v1/festivals/${f.id}/queue/me`, { token: "nope" });
    expect(bad.status).toBe(401);
  });

  it("keeps the sales view and settings for admins (403 for users)", async () => {
    const f = await createFestival();
    const [u] = (await createUsers(1)) as [SeededUser];
    expect((await api("GET", `/v1/festivals/${f.id}/sales`, { token: u.token })).status).toBe(403);
    const patch = await api("PATCH", `/v1/festivals/${f.id}/sales`, {
      token: u.token,
      body: { queueEnabled: true },
    });
    expect(patch.status).toBe(403);
    const unchanged = await reserve(u, f.id, { day: f.days[0], quantity: 1 });
    expect(unchanged.status).toBe(201);
  });
});
