import { env } from "cloudflare:test";
import { Client } from "@planetscale/database";
import { afterEach, describe, expect, it, vi } from "vitest";
import { demoteAdmin, type RedisTarget, upsertAdmin } from "../../local/admins.ts";
import type { Profile } from "../../workers/api/auth/schemas";
import type { V1AuthSignupResponse } from "../../workers/api/auth/v1_auth_signup";
import { createAdmin, createFestival, createUser, PASSWORD, signup, uniqueEmail } from "./fixtures";
import { type ApiError, api } from "./helpers";
import { reserve } from "./reservations-helpers";

type Tokens = { accessToken: string; refreshToken: string };

/** The Redis the Worker under test uses: the admin CLI ends sessions there too. */
const redis = (): RedisTarget => ({ url: env.REDIS_URL, token: env.REDIS_TOKEN, prefix: env.REDIS_PREFIX });

const login = (email: string, password: string) =>
  api<Tokens & ApiError>("POST", "/v1/auth/login", { body: { email, password } });
const refresh = (refreshToken: string) =>
  api<Tokens & ApiError>("POST", "/v1/auth/refresh", { body: { refreshToken } });
const roleOf = async (token: string) => (await api<Profile>("GET", "/v1/me", { token })).body.role;
/** An admin-only read: 200 for admins, 403 for users, 401 for a refused token. */
const adminRead = (token: string) => api("GET", "/v1/admin/chat/persistence", { token });

describe("accounts: npm run admin:create on an existing email", () => {
  it("refuses without --promote and changes nothing", async () => {
    const first = await signup();
    expect(
      await upsertAdmin(
        env.DATABASE_URL,
        { email: first.email, password: "other-password-9" },
        { redis: redis() },
      ),
    ).toBe("exists");
    expect(await roleOf(first.token)).toBe("user");
    expect((await login(first.email, PASSWORD)).status).toBe(200);
    expect((await login(first.email, "other-password-9")).status).toBe(401);
    expect((await refresh(first.refreshToken)).status).toBe(200);
  });

  it("with --promote makes it admin and ends every session it had: old refresh and access tokens die", async () => {
    const squatter = await signup();
    const otherDevice = await login(squatter.email, PASSWORD);
    const outcome = await upsertAdmin(
      env.DATABASE_URL,
      { email: squatter.email, password: "admin-password-9" },
      { promote: true, redis: redis() },
    );
    expect(outcome).toBe("promoted");
    // Whoever signed up first does not become admin on the next refresh: the family is dead.
    for (const old of [squatter.refreshToken, otherDevice.body.refreshToken]) {
      const r = await refresh(old);
      expect(r.status).toBe(401);
    }
    for (const old of [squatter.token, otherDevice.body.accessToken])
      expect((await api("GET", "/v1/me", { token: old })).status).toBe(401);
    expect((await login(squatter.email, PASSWORD)).status).toBe(401);
    const owner = await login(squatter.email, "admin-password-9");
    expect(owner.status).toBe(200);
    expect(await roleOf(owner.body.accessToken)).toBe("admin");
  });
});

describe("accounts: a role change takes effect at once", () => {
  it("a demoted admin's access token stops working for admin routes on the next request", async () => {
    const admin = await createAdmin();
    expect((await adminRead(admin.token)).status).toBe(200);
    expect(await demoteAdmin(env.DATABASE_URL, admin.email, redis())).toBe(true);
    expect((await adminRead(admin.token)).status).toBe(401);
    expect((await refresh(admin.refreshToken)).status).toBe(401);
    const again = await login(admin.email, PASSWORD);
    expect(again.status).toBe(200);
    expect((await adminRead(again.body.accessToken)).status).toBe(403);
  });

  it("logout everywhere refuses every access token and refresh family of the account at once", async () => {
    const user = await signup();
    const phone = await login(user.email, PASSWORD);
    expect(
      (await api("POST", "/v1/auth/logout", { token: user.token, body: { everywhere: true } })).status,
    ).toBe(204);
    for (const token of [user.token, phone.body.accessToken])
      expect((await api("GET", "/v1/me", { token })).status).toBe(401);
    for (const rt of [user.refreshToken, phone.body.refreshToken])
      expect((await refresh(rt)).status).toBe(401);
    const fresh = await login(user.email, PASSWORD);
    expect(fresh.status).toBe(200);
    expect((await api("GET", "/v1/me", { token: fresh.body.accessToken })).status).toBe(200);
  });
});

describe("accounts: changing the password", () => {
  it("ends every session, old tokens refused at once, and gives this device a new pair", async () => {
    const user = await signup();
    const phone = await login(user.email, PASSWORD);
    const wrong = await api<ApiError>("PUT", "/v1/me/password", {
      token: user.token,
      body: { currentPassword: "not-mine-123", newPassword: "new-password-77" },
    });
    expect(wrong.status).toBe(403);
    expect(wrong.body.error.code).toBe("auth.wrong_password");

    const changed = await api<Tokens>("PUT", "/v1/me/password", {
      token: user.token,
      body: { currentPassword: PASSWORD, newPassword: "new-password-77" },
    });
    expect(changed.status).toBe(200);
    expect(changed.headers.get("cache-control")).toContain("no-store");
    for (const token of [user.token, phone.body.accessToken])
      expect((await api("GET", "/v1/me", { token })).status).toBe(401);
    for (const rt of [user.refreshToken, phone.body.refreshToken])
      expect((await refresh(rt)).status).toBe(401);
    expect((await api("GET", "/v1/me", { token: changed.body.accessToken })).status).toBe(200);
    expect((await refresh(changed.body.refreshToken)).status).toBe(200);
    expect((await login(user.email, PASSWORD)).status).toBe(401);
    expect((await login(user.email, "new-password-77")).status).toBe(200);
  });
});

describe("accounts: festival staff", () => {
  it("staff of a festival check people in there, not elsewhere and not as admins; a revoked grant stops at once", async () => {
    // Today's day: a code checks in on its own day only.
    const [f, other] = [await createFestival({ firstDay: 0 }), await createFestival({ firstDay: 0 })];
    const admin = await createAdmin();
    const [guest, staff] = [await createUser(), await createUser()];
    const r = await reserve(guest, f.id, { day: f.days[0], quantity: 1 });
    const r2 = await reserve(guest, other.id, { day: other.days[0], quantity: 1 });
    const checkIn = (festivalId: number, code: string) =>
      api<ApiError & { status: string }>("POST", `/v1/festivals/${festivalId}/check-ins`, {
        token: staff.token,
        body: { code },
      });
    expect((await checkIn(f.id, r.body.checkInCode as string)).status).toBe(403);

    const staffPath = `/v1/festivals/${f.id}/staff/${staff.id}`;
    expect((await api("PUT", staffPath, { token: staff.token })).status).toBe(403);
    expect((await api("PUT", staffPath, { token: admin.token })).status).toBe(204);
    expect((await api("PUT", staffPath, { token: admin.token })).status).toBe(204);

    const done = await checkIn(f.id, r.body.checkInCode as string);
    expect(done.status).toBe(200);
    expect(done.body.status).toBe("checked_in");
    expect((await checkIn(other.id, r2.body.checkInCode as string)).status).toBe(403);
    expect((await api("GET", `/v1/festivals/${f.id}/reservations`, { token: staff.token })).status).toBe(403);
    expect((await adminRead(staff.token)).status).toBe(403);

    expect((await api("DELETE", staffPath, { token: admin.token })).status).toBe(204);
    const r3 = await reserve(guest, f.id, { day: f.days[0], quantity: 1 });
    expect((await checkIn(f.id, r3.body.checkInCode as string)).status).toBe(403);
  });

  it("answers 404 for a grant to an unknown festival or account", async () => {
    const admin = await createAdmin();
    const user = await createUser();
    const f = await createFestival();
    const none = await api<ApiError>("PUT", `/v1/festivals/999999999/staff/${user.id}`, {
      token: admin.token,
    });
    expect(none.status).toBe(404);
    expect(none.body.error.code).toBe("festival.not_found");
    const nobody = await api<ApiError>("PUT", `/v1/festivals/${f.id}/staff/999999999`, {
      token: admin.token,
    });
    expect(nobody.status).toBe(404);
    expect(nobody.body.error.code).toBe("user.not_found");
  });
});

describe("accounts: admin actions are security events", () => {
  afterEach(() => vi.restoreAllMocks());

  it("logs grants, admin requests and refused admin attempts with actor, address and target", async () => {
    const lines: string[] = [];
    vi.spyOn(console, "warn").mockImplementation((...args: unknown[]) => {
      lines.push(args.map(String).join(" "));
    });
    const admin = await createAdmin();
    const [user, f] = [await createUser(), await createFestival()];
    const headers = { "cf-connecting-ip": "198.51.100.23" };
    const path = `/v1/festivals/${f.id}/staff/${user.id}`;
    expect((await api("PUT", path, { token: admin.token, headers })).status).toBe(204);
    expect((await api("PUT", path, { token: user.token, headers })).status).toBe(403);
    const events = lines
      .filter((l) => l.includes('"security event"'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events).toContainEqual(
      expect.objectContaining({
        event: "staff.granted",
        actorId: admin.id,
        targetId: user.id,
        festivalId: f.id,
        ip: headers["cf-connecting-ip"],
      }),
    );
    expect(events).toContainEqual(
      expect.objectContaining({ event: "admin.action", actorId: admin.id, method: "PUT", path, status: 204 }),
    );
    expect(events).toContainEqual(
      expect.objectContaining({
        event: "admin.denied",
        actorId: user.id,
        path,
        ip: headers["cf-connecting-ip"],
      }),
    );
    expect(lines.join("\n")).not.toContain(admin.email);
  });
});

describe("accounts: deleting an account", () => {
  it("requires the password: a stolen access token alone cannot delete", async () => {
    const user = await signup();
    const none = await api<ApiError>("DELETE", "/v1/me", { token: user.token });
    expect(none.status).toBe(400);
    const wrong = await api<ApiError>("DELETE", "/v1/me", {
      token: user.token,
      body: { password: "not-mine-123" },
    });
    expect(wrong.status).toBe(403);
    expect(wrong.body.error.code).toBe("auth.wrong_password");
    expect((await api("GET", "/v1/me", { token: user.token })).status).toBe(200);
    expect((await login(user.email, PASSWORD)).status).toBe(200);
  });

  it("a deleted user's token is refused at once: no reservation afterwards, no refresh, no login", async () => {
    const f = await createFestival({ capacity: 10 });
    const user = await createUser();
    const other = await login(
      // A second session of the same seeded account, from its email.
      (await api<Profile>("GET", "/v1/me", { token: user.token })).body.email,
      PASSWORD,
    );
    expect(other.status).toBe(200);
    expect((await api("DELETE", "/v1/me", { token: user.token, body: { password: PASSWORD } })).status).toBe(
      204,
    );
    for (const token of [user.token, other.body.accessToken]) {
      const res = await reserve({ token }, f.id, { day: f.days[0], quantity: 1 });
      expect(res.status).toBe(401);
    }
    expect((await refresh(other.body.refreshToken)).status).toBe(401);
  });
});

describe("accounts: deleting an account when the last step fails", () => {
  afterEach(() => vi.restoreAllMocks());

  it("has already ended every session: the user cannot reserve while the deletion waits for a retry", async () => {
    const f = await createFestival({ capacity: 10 });
    const user = await createUser();
    vi.spyOn(console, "error").mockImplementation(() => {});
    vi.spyOn(console, "warn").mockImplementation(() => {});
    const execute = Client.prototype.execute;
    // The anonymising UPDATE (the last step) fails; everything before it ran.
    vi.spyOn(Client.prototype, "execute").mockImplementation(function (
      this: Client,
      ...args: Parameters<Client["execute"]>
    ) {
      if (args[0].startsWith("update `users` set `email`")) return Promise.reject(new Error("boom"));
      return execute.apply(this, args);
    } as Client["execute"]);
    const res = await api("DELETE", "/v1/me", { token: user.token, body: { password: PASSWORD } });
    expect(res.status).toBeGreaterThanOrEqual(500);
    vi.restoreAllMocks();
    const late = await reserve(user, f.id, { day: f.days[0], quantity: 1 });
    expect(late.status).toBe(401);
  });
});

describe("accounts: nicknames", () => {
  const signupAs = (nickname: string) =>
    api<V1AuthSignupResponse & ApiError>("POST", "/v1/auth/signup", {
      body: { email: uniqueEmail(), password: PASSWORD, nickname },
    });

  it("strips bidi overrides and zero-width characters and stores NFC", async () => {
    const res = await signupAs("\u202eevil\u200b\u200dname\u2066 \ufeff");
    expect(res.status).toBe(201);
    expect(res.body.user.nickname).toBe("evilname");
    // "한" as decomposed jamo (NFD) is stored as the one composed syllable.
    const nfd = "한강러버".normalize("NFD");
    const composed = await signupAs(nfd);
    expect(composed.status).toBe(201);
    expect(composed.body.user.nickname).toBe("한강러버");
    const patched = await api<Profile>("PATCH", "/v1/me", {
      token: composed.body.tokens.accessToken,
      body: { nickname: "재즈\u200b\u202e팬" },
    });
    expect(patched.status).toBe(200);
    expect(patched.body.nickname).toBe("재즈팬");
  });

  it("refuses reserved names, however they are disguised, and names that clean down to too little", async () => {
    for (const nickname of [
      "운영자",
      "관리자",
      "Admin",
      "ＡＤＭＩＮ",
      "a\u200bdmin",
      "ad\u202emin",
      "Staff 1",
      "moderator",
      "운영자_공식",
    ]) {
      const res = await signupAs(nickname);
      expect(res.status, nickname).toBe(400);
      expect(res.body.error.code).toBe("validation.failed");
    }
    expect((await signupAs("\u200b\u200b\u200bx")).status).toBe(400);
    const user = await signup();
    expect((await api("PATCH", "/v1/me", { token: user.token, body: { nickname: "관리자" } })).status).toBe(
      400,
    );
  });
});

describe("accounts: sign-up never makes an admin", () => {
  it("ignores a role in the body: the account is a user and admin routes refuse it", async () => {
    const res = await api<V1AuthSignupResponse>("POST", "/v1/auth/signup", {
      body: { email: uniqueEmail(), password: PASSWORD, nickname: "야심가", role: "admin" },
    });
    // Either refused as an unknown field or created as a plain user; never an admin.
    if (res.status === 201) {
      expect(res.body.user.role).toBe("user");
      expect(await roleOf(res.body.tokens.accessToken)).toBe("user");
      expect((await adminRead(res.body.tokens.accessToken)).status).toBe(403);
    } else expect(res.status).toBe(400);
  });
});
