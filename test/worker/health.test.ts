import { describe, expect, it } from "vitest";
import type { V1HealthResponse } from "../../workers/api/health/v1_health";
import { createAdminUser, createUser } from "./fixtures";
import { api } from "./helpers";

/** Health details are for admins; anonymous callers share one cached probe (issue 15). */
describe("GET /v1/health", () => {
  it("tells anonymous callers and non-admins the overall status only", async () => {
    const user = await createUser();
    for (const token of [undefined, user.token, "not.a.token"]) {
      const res = await api<V1HealthResponse>("GET", "/v1/health", { token });
      expect(res.status).toBe(200);
      expect(Object.keys(res.body).sort()).toEqual(["checkedAt", "status"]);
      expect(res.body.status).toBe("ok");
      expect(res.headers.get("cache-control")).toBe("no-store");
    }
  });

  it("answers a flood of anonymous calls from one probe per few seconds, not four dependency calls each", async () => {
    const started = Date.now();
    const answers = [];
    for (let i = 0; i < 4; i++) {
      answers.push(
        ...(await Promise.all(Array.from({ length: 10 }, () => api<V1HealthResponse>("GET", "/v1/health")))),
      );
    }
    const elapsed = Date.now() - started;
    const probes = new Set(answers.map((a) => a.body.checkedAt));
    // One probe per 5 s window at most (plus the one already running when we started).
    expect(probes.size).toBeLessThanOrEqual(2 + Math.floor(elapsed / 5_000));
    expect(probes.size).toBeLessThan(answers.length);
    for (const at of probes) expect(Date.now() - Date.parse(at)).toBeLessThan(5_000 + elapsed);
  });

  it("shows admins every dependency with its latency, probed for them", async () => {
    const admin = await createAdminUser();
    const started = Date.now();
    const res = await api<V1HealthResponse>("GET", "/v1/health", { token: admin.token });
    expect(res.status).toBe(200);
    expect(Date.parse(res.body.checkedAt)).toBeGreaterThanOrEqual(started - 1_000);
    for (const name of ["mysql", "redis", "kafka", "dynamodb"] as const) {
      expect(res.body.checks?.[name].status).toBe("ok");
      expect(res.body.checks?.[name].latencyMs).toBeGreaterThanOrEqual(0);
    }
  });
});
