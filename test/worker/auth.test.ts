import { env } from "cloudflare:test";
import { Client } from "@planetscale/database";
import { sign } from "hono/jwt";
import { afterEach, describe, expect, it, vi } from "vitest";
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

  it("revokes the whole family when a rotated refresh token is used again", async () => {
    const user = await signup();
    const first = await api<Tokens>("POST", "/v1/auth/refresh", {
      body: { refreshToken: user.refreshToken },
    });
    expect(first.status).toBe(200);
    const reuse = await api<ApiError>("POST", "/v1/auth/refresh", {
      body: { refreshToken: user.refreshToken },
    });
    expect(reuse.status).toBe(401);
    expect(reuse.body.error.code).toBe("auth.refresh_reused");
    // The thief's (or victim's) newest token dies with the family.
    const newest = await api<ApiError>("POST", "/v1/auth/refresh", {
      body: { refreshToken: first.body.refreshToken },
    });
    expect(newest.status).toBe(401);
  });

  it("lets only one of two concurrent refreshes with the same token win", async () => {
    const user = await signup();
    const results = await Promise.all(
      [1, 2].map(() => api("POST", "/v1/auth/refresh", { body: { refreshToken: user.refreshToken } })),
    );
    expect(results.map((r) => r.status).sort()).toEqual([200, 401]);
  });

  it("deletes an account: its tokens die and its email can sign up again", async () => {
    const user = await signup();
    expect((await api("DELETE", "/v1/me", { token: user.token })).status).toBe(204);
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

describe("accounts: login throttling", () => {
  it("throttles after repeated failures, and the right password is refused until the window passes", async () => {
    const user = await signup();
    const headers = { "cf-connecting-ip": `203.0.113.${Math.floor(Math.random() * 250)}` };
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) {
      const res = await api("POST", "/v1/auth/login", {
        headers,
        body: { email: user.email, password: `wrong-${i}1` },
      });
      statuses.push(res.status);
    }
    expect(statuses.slice(0, 10).every((s) => s === 401)).toBe(true);
    expect(statuses.slice(10).every((s) => s === 429)).toBe(true);
    const right = await api<ApiError>("POST", "/v1/auth/login", {
      headers,
      body: { email: user.email, password: PASSWORD },
    });
    expect(right.status).toBe(429);
    expect(right.body.error.code).toBe("auth.too_many_attempts");
    expect(Number(right.headers.get("retry-after"))).toBeGreaterThan(0);
  });

  it("lets no more than the allowed guesses through when they arrive all at once", async () => {
    const user = await signup();
    const headers = { "cf-connecting-ip": `198.51.100.${Math.floor(Math.random() * 250)}` };
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        api("POST", "/v1/auth/login", { headers, body: { email: user.email, password: `guess-${i}x1` } }),
      ),
    );
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(10);
    expect(statuses.filter((s) => s !== 401 && s !== 429)).toEqual([]);
  });
});

describe("accounts: logs", () => {
  afterEach(() => vi.restoreAllMocks());

  it("never writes a password, hash or token to a log line", async () => {
    const lines: string[] = [];
    for (const level of ["log", "info", "warn", "error", "debug"] as const) {
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
        lines.push(args.map(String).join(" "));
      });
    }
    const user = await signup();
    const login = await api<Tokens>("POST", "/v1/auth/login", {
      body: { email: user.email, password: PASSWORD },
    });
    await api("POST", "/v1/auth/login", { body: { email: user.email, password: "wrong-password-1" } });
    const refreshed = await api<Tokens>("POST", "/v1/auth/refresh", {
      body: { refreshToken: login.body.refreshToken },
    });
    await api("GET", "/v1/me", { token: "garbage.token.value" });
    await api("POST", "/v1/auth/logout", { token: refreshed.body.accessToken });
    expect(lines.length).toBeGreaterThan(0);
    const all = lines.join("\n");
    for (const secret of [
      PASSWORD,
      "wrong-password-1",
      user.token,
      user.refreshToken,
      login.body.accessToken,
      login.body.refreshToken,
      refreshed.body.accessToken,
      "pbkdf2-sha256$",
    ]) {
      expect(all).not.toContain(secret);
    }
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
    expect(res.status).toBeGreaterThanOrEqual(500);
    const all = lines.join("\n");
    expect(all).toContain("insert into `users`");
    expect(all).not.toContain("pbkdf2-sha256$");
  });
});
