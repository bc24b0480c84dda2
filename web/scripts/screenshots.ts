import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { createAdmin, startAppServer } from "../../test/browser/server.ts";

/**
 * `npm run screenshots`: every page of the web app at phone (390 px) and desktop (1280 px) width,
 * into docs/screenshots/, against a private stack with the demo data. The browser has no network
 * beyond 127.0.0.1 (so the pictures also prove the app and /v1/docs need nothing from outside).
 * Korean text needs a CJK font: `apt-get install fonts-noto-cjk`.
 */
const out = fileURLToPath(new URL("../../docs/screenshots/", import.meta.url));
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
if (!existsSync("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"))
  console.warn("fonts-noto-cjk is not installed: Korean text will show as boxes");

const server = await startAppServer({ seed: true });
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  // Every name resolves to nothing except the loopback address: the network is off.
  args: ["--no-sandbox", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"],
});

async function api<T>(path: string, body: unknown, token?: string, method = "POST"): Promise<T> {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

async function context(width: number): Promise<{ ctx: BrowserContext; page: Page }> {
  const ctx = await browser.newContext({
    baseURL: server.url,
    viewport: { width, height: width < 600 ? 844 : 900 },
    locale: "ko-KR",
    timezoneId: "Asia/Seoul",
  });
  ctx.setDefaultTimeout(60_000);
  await ctx.route("**/*", (route) =>
    new URL(route.request().url()).hostname === "127.0.0.1" ? route.continue() : route.abort(),
  );
  return { ctx, page: await ctx.newPage() };
}

/** A few people reserving one after another, a second or so apart. */
async function buyers(festivalId: number, day: string) {
  for (let i = 0; i < 6; i++) {
    const { tokens } = await api<{ tokens: { accessToken: string } }>("/v1/auth/signup", {
      email: `buyer-${Date.now()}-${i}@example.com`,
      password: "festival-2026",
      nickname: `구매자${i}`,
    });
    await api(`/v1/festivals/${festivalId}/reservations`, { day, quantity: 1 + (i % 4) }, tokens.accessToken);
    await new Promise((r) => setTimeout(r, 1_200));
  }
}

async function signIn(page: Page, email: string, password: string) {
  await page.goto("/signin");
  await page.getByLabel("이메일").fill(email);
  await page.getByLabel("비밀번호").fill(password);
  await page.getByRole("button", { name: "로그인" }).last().click();
  await page.getByRole("link", { name: "내 예약" }).waitFor();
}

try {
  await mkdir(out, { recursive: true });
  // A festival on sale with a reservation and a chat line, so every page has something to show.
  const admin = { email: "admin@example.com", password: "admin-password-1" };
  await createAdmin(server.databaseUrl, admin.email, admin.password);
  const { accessToken: adminToken } = await api<{ accessToken: string }>("/v1/auth/login", admin);
  const day = (n: number) => new Date(Date.now() + n * 86_400_000).toISOString().slice(0, 10);
  const festival = await api<{ id: number; days: { date: string }[] }>(
    "/v1/festivals",
    {
      title: "한강 여름밤 불꽃축제 Han River Fireworks",
      description: "한강 위로 펼쳐지는 불꽃과 음악의 밤. A night of fireworks and music over the Han River.",
      category: "fireworks",
      region: "서울",
      venue: { name: "여의도 한강공원", address: "서울 영등포구 여의동로 330", lat: 37.528, lng: 126.933 },
      startDate: day(14),
      endDate: day(15),
      timezone: "Asia/Seoul",
      capacity: 5000,
      perUserLimit: 4,
      saleOpensAt: new Date(Date.now() - 3_600_000).toISOString(),
      saleClosesAt: new Date(Date.now() + 13 * 86_400_000).toISOString(),
      tags: ["불꽃", "fireworks", "한강"],
    },
    adminToken,
  );
  const user = { email: "jisoo@example.com", password: "festival-2026", nickname: "지수" };
  const { tokens } = await api<{ tokens: { accessToken: string } }>("/v1/auth/signup", user);
  // Two reservations: the phone picture of the gate checks one code in, the desktop one the other.
  const codes: string[] = [];
  for (const [day, quantity] of [
    [festival.days[0]?.date, 2],
    [festival.days[1]?.date, 1],
  ] as const) {
    const r = await api<{ checkInCode: string }>(
      `/v1/festivals/${festival.id}/reservations`,
      { day, quantity },
      tokens.accessToken,
    );
    codes.push(r.checkInCode);
  }

  const pages: [string, string, "guest" | "user" | "admin", (p: Page) => Promise<unknown>][] = [
    ["festivals", "/", "guest", (p) => p.locator(".cards > li").first().waitFor()],
    ["search", "/?q=%EB%B6%88%EA%BD%83", "guest", (p) => p.locator(".cards > li").first().waitFor()],
    [
      "festival",
      `/festivals/${festival.id}`,
      "user",
      (p) => p.getByRole("button", { name: "예약하기" }).waitFor(),
    ],
    ["signin", "/signin", "guest", (p) => p.getByLabel("이메일").waitFor()],
    ["signup", "/signup", "guest", (p) => p.getByLabel("닉네임").waitFor()],
    [
      "me",
      "/me",
      "user",
      (p) =>
        p
          .getByRole("img", { name: /입장 코드/ })
          .first()
          .waitFor(),
    ],
    [
      "chat",
      `/festivals/${festival.id}/chat`,
      "user",
      (p) => p.getByTestId("chat-status").getByText("연결됨").waitFor(),
    ],
    ["inbox", "/inbox", "user", (p) => p.locator(".cards > li").first().waitFor()],
    ["admin", "/admin", "admin", (p) => p.locator(".admin-list li").first().waitFor()],
    [
      "sales",
      `/admin/festivals/${festival.id}/sales`,
      "admin",
      // A few polls in, so the charts have lines.
      (p) => p.locator('.chart[data-samples="4"]').first().waitFor(),
    ],
    [
      "festival-edit",
      `/admin/festivals/${festival.id}`,
      "admin",
      (p) => p.getByRole("button", { name: "이 축제 취소하기" }).waitFor(),
    ],
    [
      "check-in",
      `/admin/check-in?festival=${festival.id}`,
      "admin",
      // A scanner's input: the code and Enter, so the picture shows a gate's answer.
      async (p) => {
        await p.getByLabel("입장 코드").focus();
        await p.keyboard.type(codes.shift() ?? "");
        await p.keyboard.press("Enter");
        await p.getByTestId("checkin-result").locator("p").waitFor();
      },
    ],
    ["api-docs", "/v1/docs", "guest", (p) => p.locator(".swagger-ui .info").waitFor()],
  ];
  for (const [width, label] of [
    [390, "phone"],
    [1280, "desktop"],
  ] as const) {
    for (const role of ["guest", "user", "admin"] as const) {
      const { ctx, page } = await context(width);
      if (role === "user") await signIn(page, user.email, user.password);
      if (role === "admin") await signIn(page, admin.email, admin.password);
      for (const [name, path, who, ready] of pages) {
        if (who !== role) continue;
        // Sales while the sale-day charts sample, so their lines move.
        const buying = name === "sales" ? buyers(festival.id, festival.days[1]?.date ?? "") : undefined;
        await page.goto(path);
        await ready(page);
        if (name === "chat" && label === "phone") {
          // The chat's first picture shows a line sent from the page itself.
          await page.getByLabel("메시지 입력").fill("오늘 밤 불꽃 같이 봐요!");
          await page.getByRole("button", { name: "보내기" }).click();
        }
        if (name === "chat") await page.locator(".messages li[data-seq]").first().waitFor();
        await page.screenshot({ path: `${out}${name}-${label}.png`, fullPage: name !== "api-docs" });
        await buying;
        console.log(`docs/screenshots/${name}-${label}.png`);
      }
      await ctx.close();
    }
  }
} finally {
  await browser.close();
  await server.stop();
}
