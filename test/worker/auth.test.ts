import { env } from "cloudflare:test";
import { Client } from "@planetscale/database";
import { sign } from "hono/jwt";
import { afterEach, describe, expect, it, vi } from "vitest";
import { REFRESH_GRACE_MS } from "../../workers/api/auth/refresh-tokens";
import type { V1AuthSignupResponse } from "../../workers/api/auth/v1_auth_signup";
import { PASSWORD, signup, uniqueEmail } from "./fixtures";
import { type ApiError, api } from "./helpers";

type Tokens = { accessToken: string; refreshToken: string };

describe("accounts: the whole flow", () => {
  it("signs up, reads and edits my page, refreshes, logs out", async () => {
    const email = uniqueEmail();
    const created = await api<V1AuthSignupResponse>("POST", "/v1/auth/signup", {
      body: { email: email.toUpperCase(), password: PASSWORD, nickname: "  불꽃놀이  " },
    });
    expect(created.status).toBe(201);
    expect(created.body.user).toMatchObject({ email, nickname: "불꽃놀이", role: "user" });
    expect(created.body.user.notifications.reminderOffsetsHours).toEqual([24, 1]);

    const login = await api<Tokens>("POST", "/v1/auth/login", { body: { email, password: PASSWORD } });
    expect(login.status).toBe(200);
    const me = await api<{ email: string }>("GET", "/v1/me", { token: login.body.accessToken });
    expect(me.status).toBe(200);
    expect(me.body.email).toBe(email);

    const patched = await api<{ nickname: string; notifications: { reminders: boolean } }>(
      "PATCH",
      "/v1/me",
      {
        token: login.body.accessToken,
        body: { nickname: "재즈", notifications: { reminders: false } },
      },
    );
    expect(patched.status).toBe(200);
    expect(patched.body.nickname).toBe("재즈");
    expect(patched.body.notifications.reminders).toBe(false);

    const refreshed = await api<Tokens>("POST", "/v1/auth/refresh", {
      body: { refreshToken: login.body.refreshToken },
    });
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.refreshToken).not.toBe(login.body.refreshToken);

    const out = await api("POST", "/v1/auth/logout", {
      token: refreshed.body.accessToken,
      body: { refreshToken: refreshed.body.refreshToken },
    });
    expect(out.status).toBe(204);
    expect((await api("GET", "/v1/me", { token: refreshed.body.accessToken })).status).toBe(401);
    const afterLogout = await api<ApiError>("POST", "/v1/auth/refresh", {
      body: { refreshToken: refreshed.body.refreshToken },
    });
    expect(afterLogout.status).toBe(401);
  });

  it("treats emails case-insensitively as unique", async () => {
    const user = await signup();
    const again = await api<ApiError>("POST", "/v1/auth/signup", {
      body: { email: user.email.toUpperCase(), password: PASSWORD, nickname: "둘째" },
    });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe("auth.email_taken");
  });

  it("states the password rules when a password breaks them, and writes nothing", async () => {
    const email = uniqueEmail();
    const res = await api<ApiError>("POST", "/v1/auth/signup", {
      body: { email, password: "short", nickname: "솜솜" },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("validation.failed");
    expect(JSON.stringify(res.body.error.details)).toContain("at least one letter and one digit");
    const login = await api("POST", "/v1/auth/login", { body: { email, password: "short" } });
    expect(login.status).toBe(401);
  });

  it("answers malformed JSON and wrong types with 400, never 500", async () => {
    expect((await api("POST", "/v1/auth/signup", { body: "{not json" })).status).toBe(400);
    expect((await api("POST", "/v1/auth/login", { body: { email: 42, password: [] } })).status).toBe(400);
    expect(
      (await api("PATCH", "/v1/me", { token: (await signup()).token, body: { role: "admin" } })).status,
    ).toBe(400);
  });
});

describe("accounts: credentials and tokens", () => {
  it("gives the same 401 body for a wrong password and an unknown email", async () => {
    const user = await signup();
    const wrong = await api<ApiError>("POST", "/v1/auth/login", {
      body: { email: user.email, password: "nope-12345" },
    });
    const unknown = await api<ApiError>("POST", "/v1/auth/login", {
      body: { email: uniqueEmail("ghost"), password: "nope-12345" },
    });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    const strip = (b: ApiError) => ({ ...b.error, requestId: undefined });
    expect(strip(wrong.body)).toEqual(strip(unknown.body));
  });

  it("refuses expired, tampered, foreign-signed and missing tokens with 401", async () => {
    const user = await signup();
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      sub: String(user.id),
      role: "user",
      jti: crypto.randomUUID(),
      iss: "somsom-party",
      typ: "access",
    };
    const expired = await sign({ ...claims, iat: now - 3600, exp: now - 60 }, env.JWT_SECRET, "HS256");
    const foreign = await sign({ ...claims, iat: now, exp: now + 600 }, "another-secret", "HS256");
    const [head, payload, sig] = user.token.split(".") as [string, string, string];
    const decoded = JSON.parse(atob(payload.replace(/-/g, "+").replace(/_/g, "/")));
    const forgedPayload = btoa(JSON.stringify({ ...decoded, role: "admin" }))
      .replace(/=+$/, "")
      .replace(/\+/g, "-")
      .replace(/\//g, "_");
    const tampered = `${head}.${forgedPayload}.${sig}`;
    for (const token of [expired, foreign, tampered, "not-a-jwt"]) {
      const res = await api<ApiError>("GET", "/v1/me", { token });
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe("auth.invalid_token");
    }
    expect((await api<ApiError>("GET", "/v1/me")).status).toBe(401);
  });

  it("revokes the whole family when a rotated refresh token comes back after a further rotation", async () => {
    const user = await signup();
    const first = await api<Tokens>("POST", "/v1/auth/refresh", {
      body: { refreshToken: user.refreshToken },
    });
    expect(first.status).toBe(200);
    const second = await api<Tokens>("POST", "/v1/auth/refresh", {
      body: { refreshToken: first.body.refreshToken },
    });
    expect(second.status).toBe(200);
    const reuse = await api<ApiError>("POST", "/v1/auth/refresh", {
      body: { refreshToken: user.refreshToken },
    });
    expect(reuse.status).toBe(401);
    expect(reuse.body.error.code).toBe("auth.refresh_reused");
    // The thief's (or victim's) newest token dies with the family.
    const newest = await api<ApiError>("POST", "/v1/auth/refresh", {
      body: { refreshToken: second.body.refreshToken },
    });
    expect(newest.status).toBe(401);
  });

  it("answers two tabs refreshing at once, or a retry after a lost answer, with the same next token", async () => {
    const user = await signup();
    const results = await Promise.all(
      [1, 2].map(() =>
        api<Tokens>("POST", "/v1/auth/refresh", { body: { refreshToken: user.refreshToken } }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual([200, 200]);
    const [a, b] = results.map((r) => r.body.refreshToken);
    expect(a).toBe(b);
    expect(a).not.toBe(user.refreshToken);
    // The answer was lost: the client presents the old token again, within the window.
    const retry = await api<Tokens>("POST", "/v1/auth/refresh", {
      body: { refreshToken: user.refreshToken },
    });
    expect(retry.status).toBe(200);
    expect(retry.body.refreshToken).toBe(a);
    expect((await api("GET", "/v1/me", { token: retry.body.accessToken })).status).toBe(200);
    // The family lives on: the next token rotates normally.
    const next = await api<Tokens>("POST", "/v1/auth/refresh", { body: { refreshToken: a } });
    expect(next.status).toBe(200);
  });

  it("treats the just-rotated token as reuse once the grace window has passed", async () => {
    const user = await signup();
    const first = await api<Tokens>("POST", "/v1/auth/refresh", {
      body: { refreshToken: user.refreshToken },
    });
    expect(first.status).toBe(200);
    // The Worker runs in this isolate: moving its clock past the window moves the rotation's "now".
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      vi.setSystemTime(Date.now() + REFRESH_GRACE_MS + 1_000);
      const late = await api<ApiError>("POST", "/v1/auth/refresh", {
        body: { refreshToken: user.refreshToken },
      });
      expect(late.status).toBe(401);
      expect(late.body.error.code).toBe("auth.refresh_reused");
    } finally {
      vi.useRealTimers();
    }
    const newest = await api("POST", "/v1/auth/refresh", { body: { refreshToken: first.body.refreshToken } });
    expect(newest.status).toBe(401);
  });

  it("deletes an account: its tokens die and its email can sign up again", async () => {
    const user = await signup();
    expect((await api("DELETE", "/v1/me", { token: user.token, body: { password: PASSWORD } })).status).toBe(
      204,
    );
    expect((await api("GET", "/v1/me", { token: user.token })).status).toBe(401);
    expect(
      (await api("POST", "/v1/auth/refresh", { body: { refreshToken: user.refreshToken } })).status,
    ).toBe(401);
    expect(
      (await api("POST", "/v1/auth/login", { body: { email: user.email, password: PASSWORD } })).status,
    ).toBe(401);
    const again = await api("POST", "/v1/auth/signup", {
      body: { email: user.email, password: PASSWORD, nickname: "다시" },
    });
    expect(again.status).toBe(201);
  });
});

// Login and sign-up throttling: auth.throttle.test.ts.

describe("accounts: logs", () => {
  afterEach(() => vi.restoreAllMocks());

  it("never writes a password, hash, token or email to a log line, and logs security events by id and address", async () => {
    const lines: string[] = [];
    for (const level of ["log", "info", "warn", "error", "debug"] as const) {
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
        lines.push(args.map(String).join(" "));
      });
    }
    const ip = "192.0.2.77";
    const headers = { "cf-connecting-ip": ip };
    const user = await signup();
    const login = await api<Tokens>("POST", "/v1/auth/login", {
      headers,
      body: { email: user.email, password: PASSWORD },
    });
    await api("POST", "/v1/auth/login", {
      headers,
      body: { email: user.email, password: "wrong-password-1" },
    });
    const refreshed = await api<Tokens>("POST", "/v1/auth/refresh", {
      headers,
      body: { refreshToken: login.body.refreshToken },
    });
    const rotated = await api<Tokens>("POST", "/v1/auth/refresh", {
      headers,
      body: { refreshToken: refreshed.body.refreshToken },
    });
    // Reuse after a further rotation: a security event that must not quote the token.
    await api("POST", "/v1/auth/refresh", { headers, body: { refreshToken: login.body.refreshToken } });
    await api("GET", "/v1/me", { token: "garbage.token.value" });
    const other = await api<Tokens>("POST", "/v1/auth/login", {
      body: { email: user.email, password: PASSWORD },
    });
    await api("POST", "/v1/auth/logout", {
      token: other.body.accessToken,
      headers,
      body: { everywhere: true },
    });
    const last = await api<Tokens>("POST", "/v1/auth/login", {
      body: { email: user.email, password: PASSWORD },
    });
    await api("DELETE", "/v1/me", {
      token: last.body.accessToken,
      headers,
      body: { password: "wrong-password-2" },
    });
    await api("DELETE", "/v1/me", { token: last.body.accessToken, headers, body: { password: PASSWORD } });
    expect(lines.length).toBeGreaterThan(0);
    const all = lines.join("\n");
    const refreshTokens = [
      user.refreshToken,
      login.body.refreshToken,
      refreshed.body.refreshToken,
      rotated.body.refreshToken,
      other.body.refreshToken,
      last.body.refreshToken,
    ];
    // What Redis keeps of a refresh token: SHA-256 (hex) of its secret part.
    const sha256 = async (text: string) =>
      [...new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)))]
        .map((b) => b.toString(16).padStart(2, "0"))
        .join("");
    const secrets = refreshTokens.map((rt) => rt.split(".")[1] as string);
    for (const secret of [
      PASSWORD,
      "wrong-password-1",
      "wrong-password-2",
      user.email,
      user.token,
      login.body.accessToken,
      refreshed.body.accessToken,
      rotated.body.accessToken,
      other.body.accessToken,
      last.body.accessToken,
      ...refreshTokens,
      ...secrets,
      ...(await Promise.all(secrets.map(sha256))),
      "pbkdf2-sha256$",
    ]) {
      expect(all).not.toContain(secret);
    }
    const events = lines
      .filter((l) => l.includes('"security event"'))
      .map((l) => JSON.parse(l) as { event: string; ip?: string; actorId?: number; targetId?: number });
    const byEvent = (name: string) => events.find((e) => e.event === name);
    expect(byEvent("login.failed")).toMatchObject({ ip, targetId: user.id });
    expect(byEvent("refresh.reused")).toMatchObject({ ip, targetId: user.id });
    expect(byEvent("sessions.revoked")).toMatchObject({ ip, actorId: user.id, targetId: user.id });
    expect(byEvent("account.delete_refused")).toMatchObject({ ip, actorId: user.id });
    expect(byEvent("account.deleted")).toMatchObject({ ip, actorId: user.id, targetId: user.id });
  });

  it("keeps a failed query's values (the new password hash) out of the error log", async () => {
    const lines: string[] = [];
    // A lost connection is logged as a warning (503), other failures as errors (500): read both.
    for (const level of ["error", "warn"] as const) {
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
        lines.push(args.map(String).join(" "));
      });
    }
    const execute = Client.prototype.execute;
    vi.spyOn(Client.prototype, "execute").mockImplementation(function (
      this: Client,
      ...args: Parameters<Client["execute"]>
    ) {
      if (args[0].startsWith("insert into `users`")) return Promise.reject(new Error("connection reset"));
      return execute.apply(this, args);
    } as Client["execute"]);
    const res = await api("POST", "/v1/auth/signup", {
      body: { email: uniqueEmail(), password: PASSWORD, nickname: "솜솜" },
    });
    // "connection reset" is a dependency that did not answer: exactly the promised 503, not any 5xx.
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("1");
    const all = lines.join("\n");
    expect(all).toContain("insert into `users`");
    expect(all).not.toContain("pbkdf2-sha256$");
  });
});
