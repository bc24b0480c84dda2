/**
 * Conformance of the local FCM stand-in: the Worker's own FCM client (workers/lib/fcm.ts, the code
 * production runs against Google) for the happy paths, raw HTTP for what a client must never get
 * past: a JWT signed with another key, wrong claims, a bad access token, a malformed message.
 */
import { createSign } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FcmStandin, type SentMessage, startFcmStandin } from "../../local/fcm/server.ts";
import { createServiceAccount, serviceAccountJson } from "../../local/fcm/service-account.ts";
import { createFcm, parseServiceAccount, signAssertion } from "../../workers/lib/fcm.ts";

const account = createServiceAccount("conformance");
const stranger = createServiceAccount("conformance");
const GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer";
let standin: FcmStandin;

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");

/** A hand-made assertion, so each claim can be wrong on purpose. */
function assertion(claims: Record<string, unknown>, key = account.privateKeyPem, alg = "RS256") {
  const now = Math.floor(Date.now() / 1000);
  const unsigned = `${b64({ alg, typ: "JWT" })}.${b64({
    iss: account.clientEmail,
    scope: "https://www.googleapis.com/auth/firebase.messaging",
    aud: standin.tokenUrl,
    iat: now,
    exp: now + 3600,
    ...claims,
  })}`;
  const sig = createSign("RSA-SHA256").update(unsigned).sign(key).toString("base64url");
  return `${unsigned}.${sig}`;
}

async function exchange(jwt: string, grant = GRANT) {
  const res = await fetch(standin.tokenUrl, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: grant, assertion: jwt }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function rawSend(bearer: string | undefined, body: unknown, project = account.projectId) {
  const res = await fetch(`${standin.url}/v1/projects/${project}/messages:send`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
    body: JSON.stringify(body),
  });
  return {
    status: res.status,
    headers: res.headers,
    body: (await res.json()) as { error?: Record<string, unknown> },
  };
}

async function accessToken() {
  const { body } = await exchange(assertion({}));
  return String(body.access_token);
}

const sentTo = async (token: string) =>
  (
    (await (await fetch(`${standin.url}/__sent?token=${encodeURIComponent(token)}`)).json()) as {
      messages: SentMessage[];
    }
  ).messages;

const control = (path: string, body: unknown) =>
  fetch(`${standin.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });

const client = (maxAttempts = 3) =>
  createFcm({
    endpoint: standin.url,
    tokenUrl: standin.tokenUrl,
    serviceAccountJson: serviceAccountJson(account, standin.tokenUrl),
    maxAttempts,
    sleep: async () => {},
  });

let n = 0;
const deviceToken = () => `device-${process.pid}-${++n}-${Math.random().toString(36).slice(2)}`;

beforeAll(async () => {
  standin = await startFcmStandin({
    projectId: account.projectId,
    serviceAccount: { clientEmail: account.clientEmail, publicKeyPem: account.publicKeyPem },
  });
});
afterAll(() => standin.close());

describe("OAuth2 token endpoint (JWT bearer grant)", () => {
  it("issues an access token for an assertion signed by the service account (WebCrypto client)", async () => {
    const sa = parseServiceAccount(serviceAccountJson(account, standin.tokenUrl));
    if (!sa) throw new Error("service account JSON did not parse");
    const { status, body } = await exchange(await signAssertion(sa, standin.tokenUrl));
    expect(status).toBe(200);
    expect(body).toEqual({
      access_token: expect.stringMatching(/^ya29\./),
      expires_in: 3600,
      token_type: "Bearer",
    });
  });

  it("refuses a signature made with another key", async () => {
    const { status, body } = await exchange(assertion({}, stranger.privateKeyPem));
    expect(status).toBe(400);
    expect(body).toEqual({ error: "invalid_grant", error_description: "Invalid JWT Signature." });
  });

  it.each([
    ["issuer", { iss: "someone@else.iam.gserviceaccount.com" }],
    ["audience", { aud: "https://example.com/token" }],
    ["scope", { scope: "https://www.googleapis.com/auth/userinfo.email" }],
    ["expiry", { iat: Math.floor(Date.now() / 1000) - 7200, exp: Math.floor(Date.now() / 1000) - 3600 }],
    ["lifetime over an hour", { exp: Math.floor(Date.now() / 1000) + 7200 }],
  ])("refuses a wrong %s", async (_what, claims) => {
    const { status, body } = await exchange(assertion(claims));
    expect(status).toBe(400);
    expect(body.error).toBe("invalid_grant");
  });

  it("refuses an unsigned (alg none) or malformed assertion and another grant type", async () => {
    expect((await exchange(assertion({}, account.privateKeyPem, "none"))).body.error).toBe("invalid_grant");
    expect((await exchange("not-a-jwt")).body.error).toBe("invalid_grant");
    const other = await exchange(assertion({}), "client_credentials");
    expect(other).toEqual({
      status: 400,
      body: expect.objectContaining({ error: "unsupported_grant_type" }),
    });
  });
});

describe("messages:send", () => {
  it("accepts a message sent by the Worker's client and records it", async () => {
    const token = deviceToken();
    const out = await client().send(token, {
      title: "예약 확정",
      body: "내일 만나요",
      data: { reservationId: "7" },
      collapseKey: "reservation.confirmed:7",
    });
    expect(out).toEqual({ ok: true, name: expect.stringMatching(/^projects\/conformance\/messages\//) });
    const [m, ...rest] = await sentTo(token);
    expect(rest).toEqual([]);
    expect(m?.message).toMatchObject({
      token,
      notification: { title: "예약 확정", body: "내일 만나요" },
      data: { reservationId: "7" },
      android: { collapse_key: "reservation.confirmed:7" },
    });
  });

  it("answers 401 UNAUTHENTICATED without a valid access token", async () => {
    const msg = { message: { token: deviceToken() } };
    for (const bearer of [undefined, "ya29.made-up"]) {
      const res = await rawSend(bearer, msg);
      expect(res.status).toBe(401);
      expect(res.body.error).toMatchObject({ code: 401, status: "UNAUTHENTICATED" });
    }
  });

  it("answers 403 for another project and 400 INVALID_ARGUMENT for a malformed message", async () => {
    const bearer = await accessToken();
    expect((await rawSend(bearer, { message: { token: "t" } }, "other-project")).status).toBe(403);
    for (const message of [
      {},
      { token: "a", topic: "b" },
      { token: "a", data: { n: 1 } },
      { token: "a", bogus: 1 },
    ]) {
      const res = await rawSend(bearer, { message });
      expect(res.status).toBe(400);
      expect(res.body.error).toMatchObject({ status: "INVALID_ARGUMENT" });
    }
  });

  it("does not record validate_only messages", async () => {
    const token = deviceToken();
    const res = await rawSend(await accessToken(), { message: { token }, validate_only: true });
    expect(res.status).toBe(200);
    expect(await sentTo(token)).toEqual([]);
  });

  it("answers UNREGISTERED (404, FcmError detail) for a token it was told is gone", async () => {
    const token = deviceToken();
    expect((await control("/__unregister", { token })).status).toBe(204);
    const res = await rawSend(await accessToken(), { message: { token } });
    expect(res.status).toBe(404);
    expect(res.body.error).toMatchObject({
      status: "NOT_FOUND",
      details: [
        { "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", errorCode: "UNREGISTERED" },
      ],
    });
    expect(await client().send(token, { title: "t", body: "b", data: {} })).toEqual({
      ok: false,
      unregistered: true,
    });
  });

  it("fails the next N sends of a token as told; the client retries through them, bounded", async () => {
    const token = deviceToken();
    await control("/__fail", { count: 2, status: 503, token });
    expect(await client().send(token, { title: "t", body: "b", data: {} })).toMatchObject({ ok: true });
    expect(await sentTo(token)).toHaveLength(1);

    const stuck = deviceToken();
    await control("/__fail", { count: 10, status: 429, token: stuck });
    const res = await rawSend(await accessToken(), { message: { token: stuck } });
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe("1");
    expect(await client(3).send(stuck, { title: "t", body: "b", data: {} })).toEqual({
      ok: false,
      unregistered: false,
      status: 429,
      code: "QUOTA_EXCEEDED",
    });
    expect(await sentTo(stuck)).toEqual([]);
  });

  it("rejects nonsense on the inspection API", async () => {
    expect((await control("/__fail", { count: 0, status: 503 })).status).toBe(400);
    expect((await control("/__fail", { count: 1, status: 404 })).status).toBe(400);
    expect((await control("/__unregister", {})).status).toBe(400);
  });
});
