import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { notify } from "../../workers/api/notifications/notify";
import type { V1MeDevicesGetResponse } from "../../workers/api/notifications/v1_me_devices_get";
import { getServices } from "../../workers/lib/services";
import { createUser } from "./fixtures";
import { type ApiError, api } from "./helpers";
import { inbox, newDeviceToken, registerDevice } from "./notifications-helpers";

const ROUTES: [string, string, unknown?][] = [
  ["GET", "/v1/me/notifications"],
  ["GET", "/v1/me/notifications/unread-count"],
  ["POST", "/v1/me/notifications/1/read"],
  ["POST", "/v1/me/notifications/read-all"],
  ["GET", "/v1/me/devices"],
  ["POST", "/v1/me/devices", { token: newDeviceToken() }],
  ["DELETE", "/v1/me/devices", { token: newDeviceToken() }],
];

describe("notifications: access", () => {
  it.each(ROUTES)("%s %s needs a valid access token", async (method, path, body) => {
    for (const token of [undefined, "not-a-token"]) {
      const res = await api<ApiError>(method, path, { token, body });
      expect(res.status).toBe(401);
      expect(res.body.error.code).toMatch(/^auth\./);
    }
  });

  it("keeps one user's inbox from another: reading or marking it is a 404", async () => {
    const [owner, other] = [await createUser(), await createUser()];
    const { id } = await notify(getServices(env), {
      userId: owner.id,
      type: "test.note",
      title: "비밀",
      body: "b",
    });
    expect((await inbox(other)).items).toEqual([]);
    const res = await api<ApiError>("POST", `/v1/me/notifications/${id}/read`, { token: other.token });
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe("notification.not_found");
    await api("POST", "/v1/me/notifications/read-all", { token: other.token });
    expect((await inbox(owner)).unreadCount).toBe(1);
  });

  it("does not let a user remove another user's device", async () => {
    const [owner, other] = [await createUser(), await createUser()];
    const token = await registerDevice(owner);
    expect((await api("DELETE", "/v1/me/devices", { token: other.token, body: { token } })).status).toBe(204);
    const list = await api<V1MeDevicesGetResponse>("GET", "/v1/me/devices", { token: owner.token });
    expect(list.body.items.map((d) => d.token)).toEqual([token]);
  });
});

describe("notifications: bad input is a 400 that changes nothing", () => {
  it.each([
    ["GET", "/v1/me/notifications?cursor=nonsense"],
    ["GET", "/v1/me/notifications?limit=0"],
    ["GET", "/v1/me/notifications?limit=101"],
    ["GET", "/v1/me/notifications?unread=maybe"],
    ["POST", "/v1/me/notifications/abc/read"],
    ["POST", "/v1/me/notifications/0/read"],
    ["POST", "/v1/me/notifications/read-all", { before: "x" }],
    ["POST", "/v1/me/devices", {}],
    ["POST", "/v1/me/devices", { token: "short" }],
    ["POST", "/v1/me/devices", { token: "has spaces in it, which no token has" }],
    ["POST", "/v1/me/devices", { token: "x".repeat(513) }],
    ["POST", "/v1/me/devices", { token: newDeviceToken(), platform: "symbian" }],
    ["POST", "/v1/me/devices", "{not json"],
    ["DELETE", "/v1/me/devices", {}],
  ] as [string, string, unknown?][])("%s %s %j", async (method, path, body) => {
    const user = await createUser();
    const res = await api<ApiError>(method, path, { token: user.token, body });
    expect(res.status).toBe(400);
    // Unparseable JSON is request.invalid; everything else a zod validation failure.
    expect(res.body.error.code).toBe(body === "{not json" ? "request.invalid" : "validation.failed");
    const devices = await api<V1MeDevicesGetResponse>("GET", "/v1/me/devices", { token: user.token });
    expect(devices.body.items).toEqual([]);
  });

  it("documents every route in the OpenAPI document", async () => {
    const doc = await api<{ paths: Record<string, Record<string, unknown>> }>("GET", "/v1/openapi.json");
    for (const [method, path] of ROUTES) {
      const templated = path.replace("/1/", "/{id}/");
      expect(Object.keys(doc.body.paths[templated] ?? {})).toContain(method.toLowerCase());
    }
  });

  it("a notification that does not exist is a 404", async () => {
    const user = await createUser();
    const res = await api<ApiError>("POST", "/v1/me/notifications/999999999/read", { token: user.token });
    expect(res.status).toBe(404);
  });
});
