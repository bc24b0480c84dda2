import { expect, test } from "vitest";
import {
  adminToken,
  createFestival,
  seriousA11yViolations,
  signUpInBrowser,
  unique,
  useBrowser,
  WAIT,
} from "./helpers.ts";

const browser = useBrowser();

test("search finds festivals by a Korean word inside a title and by an English word", async () => {
  const { page, context } = await browser.newPage();
  await page.goto("/");
  await page.getByLabel("검색", { exact: true }).fill("불꽃");
  await page.getByRole("button", { name: "검색" }).click();
  await page.getByRole("link", { name: "서울세계불꽃축제" }).waitFor(WAIT);
  expect(page.url()).toContain("q=%EB%B6%88%EA%BD%83");

  await page.getByLabel("검색", { exact: true }).fill("jazz");
  await page.getByRole("button", { name: "검색" }).click();
  await page.getByRole("link", { name: /Seoul Jazz Festival/ }).waitFor(WAIT);
  await page.getByRole("link", { name: /Jarasum Jazz Festival/ }).waitFor(WAIT);
  await expect(page.getByRole("link", { name: "서울세계불꽃축제" }).count()).resolves.toBe(0);
  await context.close();
});

test("a new user signs up, reserves a day, sees the check-in QR code and cancels", async () => {
  const admin = await adminToken();
  const title = `브라우저 예약 축제 ${unique()}`;
  const festival = await createFestival(admin.token, title);
  const day = festival.days[0]?.date as string;

  const { page, context } = await browser.newPage();
  await signUpInBrowser(page, "예약자");
  await page.goto(`/festivals/${festival.id}`);
  await page.getByRole("heading", { name: title }).waitFor(WAIT);
  await expect(page.getByTestId(`remaining-${day}`).textContent()).resolves.toBe("100 / 100");
  await page.getByLabel("인원").fill("2");
  await page.getByRole("button", { name: "예약하기" }).click();
  await page.getByText("예약되었습니다").waitFor(WAIT);
  // The day's remaining places refresh on the page.
  await page.getByTestId(`remaining-${day}`).getByText("98 / 100").waitFor(WAIT);

  await page.getByRole("link", { name: "내 예약" }).first().click();
  const qr = page.getByRole("img", { name: /입장 코드: SP-/ });
  await qr.waitFor(WAIT);
  const src = await qr.getAttribute("src");
  expect(src).toMatch(/^data:image\/svg\+xml/);
  expect(decodeURIComponent(src ?? "")).toContain("<svg");
  await page.getByRole("heading", { name: title }).waitFor(WAIT);

  page.once("dialog", (d) => void d.accept());
  await page.getByRole("button", { name: "예약 취소" }).click();
  await page.getByText("취소됨").waitFor(WAIT);
  await expect(qr.count()).resolves.toBe(0);
  await context.close();
});

test("English switch, and API errors in the user's language", async () => {
  const { page, context } = await browser.newPage();
  await page.goto("/signin");
  await page.getByLabel("이메일").fill(`nobody-${unique()}@example.com`);
  await page.getByLabel("비밀번호").fill("wrong-password-1");
  await page.getByRole("button", { name: "로그인" }).last().click();
  await page.getByRole("alert").getByText("이메일 또는 비밀번호가 맞지 않습니다.").waitFor(WAIT);

  await page.getByRole("button", { name: "English" }).click();
  await page.getByRole("heading", { name: "Sign in" }).waitFor(WAIT);
  await page.getByRole("button", { name: "Sign in" }).last().click();
  await page.getByRole("alert").waitFor(WAIT);
  const text = await page.getByRole("alert").textContent();
  expect(text).not.toContain("{");
  expect(text).toMatch(/[A-Za-z]/);
  await context.close();
});

test("no serious or critical accessibility violation on the main pages", async () => {
  const admin = await adminToken();
  const festival = await createFestival(admin.token, `접근성 축제 ${unique()}`);
  const { page, context } = await browser.newPage();
  const problems: string[] = [];
  const check = async (path: string, ready: () => Promise<unknown>) => {
    await page.goto(path);
    await ready();
    for (const v of await seriousA11yViolations(page)) problems.push(`${path}: ${v}`);
  };
  await check("/", () => page.locator(".cards > li").first().waitFor(WAIT));
  await check("/signup", () => page.getByLabel("닉네임").waitFor(WAIT));
  await check("/signin", () => page.getByLabel("이메일").waitFor(WAIT));
  await signUpInBrowser(page, "접근성");
  await check(`/festivals/${festival.id}`, () =>
    page.getByRole("button", { name: "예약하기" }).waitFor(WAIT),
  );
  await page.getByRole("button", { name: "예약하기" }).click();
  await page.getByText("예약되었습니다").waitFor(WAIT);
  await check("/me", () => page.getByRole("img", { name: /입장 코드/ }).waitFor(WAIT));
  await check("/inbox", () => page.getByRole("heading", { name: "내 채팅방" }).waitFor(WAIT));
  await check(`/festivals/${festival.id}/chat`, () => page.getByText("연결됨").waitFor(WAIT));
  expect(problems).toEqual([]);
  await context.close();
});
