import { describe, expect, it } from "vitest";
import type { V1HealthResponse } from "../../workers/api/health/v1_health";
import { createAdminUser } from "../worker/fixtures";
import { api, control } from "../worker/helpers";

describe("GET /v1/health", () => {
  it("reports every dependency ok with its latency to admins", async () => {
    const admin = await createAdminUser();
    const res = await api<V1HealthResponse>("GET", "/v1/health", { token: admin.token });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-request-id")).toBeTruthy();
    expect(res.body.status).toBe("ok");
    for (const name of ["mysql", "redis", "kafka", "dynamodb"] as const) {
      expect(res.body.checks?.[name].status).toBe("ok");
      expect(res.body.checks?.[name].latencyMs).toBeGreaterThanOrEqual(0);
    }
  });

  it("answers 503 naming MySQL to admins when the database behind the stand-in is down, without hanging; anonymous callers get no detail", async () => {
    const admin = await createAdminUser();
    // Port 1 refuses connections: to the Worker this is exactly "MariaDB is down".
    await control("start", "planetscale", "?mysqlPort=1");
    try {
      const started = Date.now();
      const res = await api<V1HealthResponse>("GET", "/v1/health", { token: admin.token });
      expect(res.status).toBe(503);
      expect(res.body.status).toBe("degraded");
      expect(res.body.checks?.mysql.status).toBe("down");
      expect(res.body.checks?.mysql.error).toBeTruthy();
      expect(res.body.checks?.redis.status).toBe("ok");
      expect(Date.now() - started).toBeLessThan(5_000);
      // Anonymous answers come from a probe at most 5 s old: within a budget they say degraded, and
      // never which dependency or why.
      let anonymous = await api<V1HealthResponse>("GET", "/v1/health");
      for (const deadline = Date.now() + 15_000; anonymous.status !== 503 && Date.now() < deadline; ) {
        await new Promise((r) => setTimeout(r, 250));
        anonymous = await api<V1HealthResponse>("GET", "/v1/health");
      }
      expect(anonymous.status).toBe(503);
      expect(Object.keys(anonymous.body).sort()).toEqual(["checkedAt", "status"]);
      expect(JSON.stringify(anonymous.body)).not.toMatch(/mysql|errno|refused|vttablet/i);
    } finally {
      await control("start", "planetscale");
    }
    const again = await api<V1HealthResponse>("GET", "/v1/health", { token: admin.token });
    expect(again.status).toBe(200);
  });

  it("answers unknown routes with the error envelope", async () => {
    const res = await api<{ error: { code: string; requestId: string } }>("GET", "/v1/nope");
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe("route.not_found");
    expect(res.body.error.requestId).toBe(res.headers.get("x-request-id"));
  });

  it("serves the OpenAPI document generated from the route schemas", async () => {
    const res = await api<{ openapi: string; paths: Record<string, unknown> }>("GET", "/v1/openapi.json");
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe("3.1.0");
    expect(Object.keys(res.body.paths)).toContain("/v1/health");
  });
});
