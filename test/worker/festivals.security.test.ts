import { sign } from "hono/jwt";
import { describe, expect, it } from "vitest";
import type { V1FestivalsGetResponse } from "../../workers/api/festivals/v1_festivals_get";
import { list } from "./festivals-helpers";
import { createAdmin, festivalInput, postFestival, signup, uniqueWord } from "./fixtures";
import { type ApiError, api } from "./helpers";

describe("festivals: only admins manage festivals", () => {
  it("answers 401 without a token or with a bad one, 403 to a user, and writes nothing", async () => {
    const user = await signup();
    const category = uniqueWord("sec-");
    const now = Math.floor(Date.now() / 1000);
    const forged = await sign(
      {
        sub: String(user.id),
        role: "admin",
        jti: crypto.randomUUID(),
        iss: "somsom-party",
        typ: "access",
        iat: now,
        exp: now + 600,
      },
      "not-the-secret",
      "HS256",
    );
    const body = festivalInput({ category });
    const anonymous = await api<ApiError>("POST", "/v1/festivals", { body });
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.error.code).toBe("auth.missing_token");
    expect((await api("POST", "/v1/festivals", { body, token: "garbage" })).status).toBe(401);
    expect((await api("POST", "/v1/festivals", { body, token: forged })).status).toBe(401);
    const asUser = await api<ApiError>("POST", "/v1/festivals", { body, token: user.token });
    expect(asUser.status).toBe(403);
    expect(asUser.body.error.code).toBe("auth.forbidden");
    expect((await list({ category })).items).toEqual([]);
  });

  it("refuses updates and cancellation from users and strangers, and changes nothing", async () => {
    const admin = await createAdmin();
    const user = await signup();
    const f = await postFestival(admin);
    for (const [method, path, body] of [
      ["PATCH", `/v1/festivals/${f.id}`, { title: "탈취" }],
      ["POST", `/v1/festivals/${f.id}/cancel`, {}],
    ] as const) {
      expect((await api(method, path, { body })).status).toBe(401);
      expect((await api(method, path, { body, token: user.token })).status).toBe(403);
    }
    const read = await api<V1FestivalsGetResponse>("GET", `/v1/festivals/${f.id}`);
    expect(read.body.title).toBe(f.title);
    expect(read.body.cancelled).toBe(false);
  });

  it("lets anyone read without a token", async () => {
    const admin = await createAdmin();
    const f = await postFestival(admin);
    expect((await api("GET", `/v1/festivals/${f.id}`)).status).toBe(200);
    expect((await api("GET", "/v1/festivals?limit=1")).status).toBe(200);
  });
});
