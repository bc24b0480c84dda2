import type { Browser } from "playwright-core";
import { afterAll, beforeAll, expect, test } from "vitest";
import { adminToken, launch, newPage, seriousA11yViolations, unique, WAIT } from "./helpers.ts";

let browser: Browser;
beforeAll(async () => {
  browser = await launch();
});
afterAll(async () => {
  await browser?.close();
});

test("an admin creates a festival in the dashboard and it appears in search", async () => {
  const admin = await adminToken();
  const { page, context } = await newPage(browser, { width: 1280, height: 900 });
  await page.goto("/signin");
  await page.getByLabel("이메일").fill(admin.email);
  await page.getByLabel("비밀번호").fill(admin.password);
  await page.getByRole("button", { name: "로그인" }).last().click();
  await page.getByRole("link", { name: "관리" }).click();
  await page.getByLabel("제목").waitFor(WAIT);
  await expect(seriousA11yViolations(page)).resolves.toEqual([]);

  const word = `lantern${unique()}`;
  const title = `솜솜 등불 축제 ${word}`;
  await page.getByLabel("제목").fill(title);
  await page.getByLabel("장소", { exact: true }).fill("한강공원");
  await page.getByLabel("태그 (쉼표로 구분)").fill("등불, lantern");
  await page.getByRole("button", { name: "축제 만들기" }).click();
  await page.getByText("축제를 만들었습니다.").waitFor(WAIT);
  // Its sale-day view: live charts and the waiting-room settings.
  await page.getByRole("link", { name: /판매 설정/ }).click();
  await page.getByRole("cell", { name: "1000 / 1000" }).first().waitFor(WAIT);
  await page.getByLabel("대기실 사용").waitFor(WAIT);
  await expect(seriousA11yViolations(page)).resolves.toEqual([]);

  await page.getByRole("link", { name: "축제", exact: true }).click();
  await page.getByLabel("검색", { exact: true }).fill(word);
  await page.getByRole("button", { name: "검색" }).click();
  await page.getByRole("link", { name: title }).waitFor(WAIT);

  await page.goto("/admin/check-in");
  await page.getByLabel("입장 코드").waitFor(WAIT);
  await expect(seriousA11yViolations(page)).resolves.toEqual([]);
  await context.close();
});
