import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { V1FestivalsCreateResponse } from "../../workers/api/festivals/v1_festivals_create";
import { MAX_BODY_BYTES } from "../../workers/api/middleware/body";
import { list } from "./festivals-helpers";
import { createAdmin, festivalInput, PASSWORD, signup, uniqueWord } from "./fixtures";
import { type ApiError, api } from "./helpers";

// test/global-setup.ts lists this origin in CORS_ORIGINS.
const ALLOWED = "https://app.somsom.test";
const OTHER = "https://evil.example";

const preflight = (origin: string, path = "/v1/auth/login") =>
  SELF.fetch(`http://somsom.test${path}`, {
    method: "OPTIONS",
    headers: {
      origin,
      "access-control-request-method": "POST",
      "access-control-request-headers": "authorization,content-type,idempotency-key,x-admission-token",
    },
  });

const listed = (value: string | null) => (value ?? "").toLowerCase().split(/\s*,\s*/);

describe("CORS", () => {
  it("answers a preflight from a listed origin with what a web app on it needs", async () => {
    const res = await preflight(ALLOWED, "/v1/festivals/1/reservations");
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe(ALLOWED);
    expect(listed(res.headers.get("access-control-allow-methods"))).toEqual(
      expect.arrayContaining(["get", "post", "patch", "delete"]),
    );
    expect(listed(res.headers.get("access-control-allow-headers"))).toEqual(
      expect.arrayContaining(["authorization", "content-type", "idempotency-key", "x-admission-token"]),
    );
    expect(res.headers.get("access-control-allow-credentials")).toBeNull();
    expect(listed(res.headers.get("vary"))).toContain("origin");
  });

  it("gives a preflight from any other origin no CORS headers at all", async () => {
    for (const origin of [OTHER, "null", `${ALLOWED}.evil.example`, ALLOWED.replace("https", "http")]) {
      const res = await preflight(origin);
      const cors = [...res.headers.keys()].filter((k) => k.startsWith("access-control-"));
      expect(cors, origin).toEqual([]);
      expect(res.status, origin).toBeGreaterThanOrEqual(400);
    }
  });

  it("lets a listed origin read answers, errors included, and the headers clients branch on", async () => {
    const res = await api<ApiError>("GET", "/v1/festivals/999999999", { headers: { origin: ALLOWED } });
    expect(res.status).toBe(404);
    expect(res.headers.get("access-control-allow-origin")).toBe(ALLOWED);
    expect(listed(res.headers.get("access-control-expose-headers"))).toEqual(
      expect.arrayContaining(["x-request-id", "retry-after", "etag", "location"]),
    );
    const other = await api("GET", "/v1/festivals/999999999", { headers: { origin: OTHER } });
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
    expect(listed(other.headers.get("vary"))).toContain("origin");
  });
});

describe("request bodies", () => {
  const big = JSON.stringify({ email: "a@example.com", password: "x".repeat(2 * 1024 * 1024) });

  it("refuses a 2 MB body with a 413 envelope, with or without Content-Length", async () => {
    const sized = await api<ApiError>("POST", "/v1/auth/login", { body: big });
    expect(sized.status).toBe(413);
    expect(sized.body.error).toMatchObject({
      code: "request.too_large",
      details: { maxBytes: MAX_BODY_BYTES },
    });
    expect(sized.headers.get("x-request-id")).toBe(sized.body.error.requestId);

    // Streamed: no Content-Length to trust, so the limit counts the bytes as they arrive.
    const bytes = new TextEncoder().encode(big);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < bytes.length; i += 64 * 1024) controller.enqueue(bytes.slice(i, i + 64 * 1024));
        controller.close();
      },
    });
    const streamed = await SELF.fetch("http://somsom.test/v1/auth/login", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: stream,
    });
    expect(streamed.status).toBe(413);
    expect(((await streamed.json()) as ApiError).error.code).toBe("request.too_large");
  });

  it("reads a body just under the limit as usual", async () => {
    const body = JSON.stringify({ email: "a@example.com", password: "x".repeat(MAX_BODY_BYTES - 100) });
    const res = await api<ApiError>("POST", "/v1/auth/login", { body });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("validation.failed");
  });

  it("refuses half a surrogate pair with a 400 and writes nothing, but takes whole ones", async () => {
    const admin = await createAdmin();
    const category = uniqueWord("sur-");
    for (const tags of [["\ud800"], ["x\udfff"]]) {
      const res = await api<ApiError>("POST", "/v1/festivals", {
        token: admin.token,
        body: festivalInput({ category, tags }),
      });
      expect(res.status, JSON.stringify(tags)).toBe(400);
      expect(res.body.error.code).toBe("validation.failed");
    }
    expect((await list({ category })).items).toEqual([]);
    const ok = await api<V1FestivalsCreateResponse>("POST", "/v1/festivals", {
      token: admin.token,
      body: festivalInput({ category, title: "불꽃 🎆 축제", tags: ["🎆"] }),
    });
    expect(ok.status).toBe(201);
    expect(ok.body).toMatchObject({ title: "불꽃 🎆 축제", tags: ["🎆"] });
  });
});

describe("response headers", () => {
  it("keeps token answers out of every cache", async () => {
    const user = await signup();
    const answers = [
      await api("POST", "/v1/auth/signup", {
        body: { email: `x${user.email}`, password: PASSWORD, nickname: "캐시" },
      }),
      await api("POST", "/v1/auth/login", { body: { email: user.email, password: PASSWORD } }),
      await api("POST", "/v1/auth/refresh", { body: { refreshToken: user.refreshToken } }),
    ];
    for (const res of answers) {
      expect(res.status).toBeLessThan(300);
      expect(JSON.stringify(res.body)).toContain("accessToken");
      expect(res.headers.get("cache-control")).toBe("no-store");
    }
  });

  it("sends security headers, and a CSP that lets no API answer run or frame anything", async () => {
    const res = await api("GET", "/v1/festivals/999999999");
    expect(res.headers.get("content-security-policy")).toBe("default-src 'none'; frame-ancestors 'none'");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("x-frame-options")).toBe("DENY");
    expect(res.headers.get("strict-transport-security")).toMatch(/max-age=\d+/);
  });

  it("serves the docs page with a CSP that allows exactly what its same-origin Swagger UI loads", async () => {
    const res = await SELF.fetch("http://somsom.test/v1/docs");
    expect(res.status).toBe(200);
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).not.toContain("unsafe-inline");
    const html = await res.text();
    // Every script has a same-origin src: an inline one would be refused by this CSP.
    const scripts = [...html.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attrs, body] of scripts) {
      expect(attrs).toMatch(/src="\/vendor\/swagger-ui\/[^"]+"/);
      expect(body?.trim()).toBe("");
    }
    expect(html).toContain('href="/vendor/swagger-ui/swagger-ui.css"');
    expect(html).not.toMatch(/\sstyle=|<style/);
  });
});
