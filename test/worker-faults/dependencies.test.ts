import { describe, expect, it } from "vitest";
import { signup } from "../worker/fixtures";
import { type ApiError, api, control } from "../worker/helpers";

/** A dependency that is down is a 503 with Retry-After (DESIGN.md), never a 500, and recovers by itself. */
describe("dependency outages", () => {
  it("answers 503 while MySQL is unreachable behind the PlanetScale stand-in, then recovers", async () => {
    const user = await signup();
    await control("start", "planetscale", "?mysqlPort=1");
    try {
      const res = await api<ApiError>("GET", "/v1/me", { token: user.token });
      expect(res.status).toBe(503);
      expect(res.body.error.code).toBe("service.unavailable");
      expect(res.headers.get("retry-after")).toBe("1");
    } finally {
      await control("start", "planetscale");
    }
    expect((await api("GET", "/v1/me", { token: user.token })).status).toBe(200);
  });

  it("answers 503 while the PlanetScale endpoint itself refuses connections", async () => {
    const user = await signup();
    await control("stop", "planetscale");
    try {
      const res = await api<ApiError>("GET", "/v1/festivals/1", { token: user.token });
      expect(res.status).toBe(503);
      expect(res.body.error.code).toBe("service.unavailable");
    } finally {
      await control("start", "planetscale");
    }
  });

  it("answers 503 while Redis is unreachable (tokens cannot be checked), then recovers", async () => {
    const user = await signup();
    await control("stop", "redis");
    try {
      const res = await api<ApiError>("GET", "/v1/me", { token: user.token });
      expect(res.status).toBe(503);
      expect(res.body.error.code).toBe("service.unavailable");
    } finally {
      await control("start", "redis");
    }
    expect((await api("GET", "/v1/me", { token: user.token })).status).toBe(200);
  });
});
