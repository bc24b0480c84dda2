import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, inject } from "vitest";
import { createAdmin } from "./server.ts";

/** Debian's Chromium (`.ci/run` installs it); playwright-core never downloads a browser. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** The machine is small and shared: waits are generous, and every wait is for a condition, never a sleep. */
export const WAIT = { timeout: 30_000 };

export const appUrl = () => inject("appUrl");

export function launch(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-dev-shm-usage"] });
}

/** One Chromium per test file, closed after it; `newPage` opens a fresh context (its own cookies and storage). */
export function useBrowser() {
  let browser: Browser | undefined;
  beforeAll(async () => {
    browser = await launch();
  });
  afterAll(async () => {
    await browser?.close();
  });
  return {
    newPage: (viewport?: { width: number; height: number }) => {
      if (!browser) throw new Error("useBrowser(): the browser is not up yet (call newPage inside a test)");
      return newPage(browser, viewport);
    },
  };
}

export async function newPage(browser: Browser, viewport = { width: 390, height: 844 }) {
  const context: BrowserContext = await browser.newContext({ baseURL: appUrl(), viewport, locale: "ko-KR" });
  context.setDefaultTimeout(WAIT.timeout);
  const page: Page = await context.newPage();
  return { context, page };
}

export const unique = () => randomBytes(4).toString("hex");

async function post<T>(path: string, body: unknown, token?: string): Promise<T> {
  const res = await fetch(`${appUrl()}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return (res.status === 204 ? undefined : await res.json()) as T;
}

export async function adminToken(): Promise<{ email: string; password: string; token: string }> {
  const email = `admin-${unique()}@example.com`;
  const password = "admin-password-1";
  await createAdmin(inject("appDatabaseUrl"), email, password);
  const pair = await post<{ accessToken: string }>("/v1/auth/login", { email, password });
  return { email, password, token: pair.accessToken };
}

const isoDay = (offsetDays: number) =>
  new Date(Date.now() + offsetDays * 86_400_000).toISOString().slice(0, 10);

/** A festival on sale now, days from 10 days ahead: what the reservation tests need, whatever the date. */
export async function createFestival(token: string, title: string, extra: Record<string, unknown> = {}) {
  return post<{ id: number; days: { date: string }[] }>(
    "/v1/festivals",
    {
      title,
      description: "browser test",
      category: "music",
      region: "서울",
      venue: { name: "올림픽공원", address: "서울 송파구 올림픽로 424", lat: 37.52, lng: 127.12 },
      startDate: isoDay(10),
      endDate: isoDay(11),
      timezone: "Asia/Seoul",
      capacity: 100,
      perUserLimit: 4,
      saleOpensAt: new Date(Date.now() - 3_600_000).toISOString(),
      saleClosesAt: new Date(Date.now() + 9 * 86_400_000).toISOString(),
      tags: ["test"],
      ...extra,
    },
    token,
  );
}

/** A user made through the API, for the people a test needs around the one in the browser. */
export async function apiUser(nickname: string): Promise<string> {
  const { tokens } = await post<{ tokens: { accessToken: string } }>("/v1/auth/signup", {
    email: `api-${unique()}@example.com`,
    password: "festival-2026",
    nickname,
  });
  return tokens.accessToken;
}

export async function reserve(token: string, festivalId: number, day: string, quantity: number) {
  return post<{ id: number; checkInCode: string | null }>(
    `/v1/festivals/${festivalId}/reservations`,
    { day, quantity },
    token,
  );
}

/**
 * `count` chat lines "기록 1".."기록 N", in that seq order, sent over the room's WebSocket the way the
 * app sends them. A user's send bucket holds 20 lines, so each 20 come from a new user, one user
 * after another (sequential, so seq n is line n).
 */
export async function seedChat(festivalId: number, count: number) {
  const url = new URL(`/v1/festivals/${festivalId}/chat`, appUrl());
  url.protocol = "ws:";
  for (let from = 1; from <= count; from += 20) {
    const token = await apiUser(`기록${from}`);
    await post(`/v1/festivals/${festivalId}/chat/members`, undefined, token);
    const ws = new WebSocket(url, ["somsom.chat.v1", `bearer.${token}`]);
    const lines = Array.from({ length: Math.min(20, count - from + 1) }, (_, i) => `기록 ${from + i}`);
    await new Promise<void>((resolve, reject) => {
      let acked = 0;
      ws.onerror = () => reject(new Error("seedChat: socket error"));
      ws.onmessage = (e) => {
        const frame = JSON.parse(String(e.data)) as { type: string; code?: string };
        if (frame.type === "welcome")
          for (const [i, text] of lines.entries())
            ws.send(JSON.stringify({ type: "send", clientMsgId: `seed-${from + i}`, text }));
        if (frame.type === "error") reject(new Error(`seedChat: ${frame.code}`));
        if (frame.type === "ack" && ++acked === lines.length) resolve();
      };
    });
    ws.close();
  }
}

/** Signs up through the form, as a person would. */
export async function signUpInBrowser(page: Page, nickname: string) {
  const email = `user-${unique()}@example.com`;
  await page.goto("/signup");
  await page.getByLabel("이메일").fill(email);
  await page.getByLabel("비밀번호").fill("festival-2026");
  await page.getByLabel("닉네임").fill(nickname);
  await page.getByRole("button", { name: "회원가입" }).click();
  await page.getByRole("link", { name: "내 예약" }).waitFor(WAIT);
  return email;
}

const require = createRequire(import.meta.url);
let axeSource: string | undefined;

/** axe-core in the page; returns the serious and critical violations only. */
export async function seriousA11yViolations(page: Page) {
  axeSource ??= await readFile(require.resolve("axe-core/axe.min.js"), "utf8");
  await page.addScriptTag({ content: axeSource });
  const result = await page.evaluate(async () => {
    // biome-ignore lint/suspicious/noExplicitAny: axe is injected as a global script
    const axe = (window as any).axe;
    return axe.run(document, { resultTypes: ["violations"] });
  });
  return (result.violations as { id: string; impact: string; help: string; nodes: { target: string[] }[] }[])
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.impact} ${v.id}: ${v.help} @ ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
}
