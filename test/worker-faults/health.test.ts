import { describe, expect, it } from "vitest";
import type { V1HealthResponse } from "../../workers/api/health/v1_health";
import { api, control } from "../worker/helpers";

describe("GET /v1/health", () => {
  it("reports every dependency ok with its latency", async () => {
    const res = await api<V1HealthResponse>("GET", "/v1/health");
    expect(res.status).toBe(200);
    expect(res.headers.get("x-request-id")).toBeTruthy();
    expect(res.body.status).toBe("ok");
    for (const name of ["mysql", "redis", "kafka", "dynamodb"] as const) {
      expect(res.body.checks[name].status).toBe("ok");
      expect(res.body.checks[name].latencyMs).toBeGreaterThanOrEqual(0);
    }
  });

  it("answers 503 naming MySQL when the database behind the stand-in is down, without hanging", async () => {
    // Port 1 refuses connections: to the Worker this is exactly "MariaDB is down".
    await control("start", "planetscale", "?mysqlPort=1");
    try {
      const started = Date.now();
      const res = await api<V1HealthResponse>("GET", "/v1/health");
      expect(res.status).toBe(503);
      expect(res.body.status).toBe("degraded");
      expect(res.body.checks.mysql.status).toBe("down");
      expect(res.body.checks.redis.status).toBe("ok");
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      await control("start", "planetscale");
    }
    const again = await api<V1HealthResponse>("GET", "/v1/health");
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
