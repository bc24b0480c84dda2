import type { Browser } from "playwright-core";
import { afterAll, beforeAll, test } from "vitest";
import { adminToken, launch, newPage, unique, WAIT } from "./helpers.ts";

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

  const word = `lantern${unique()}`;
  const title = `솜솜 등불 축제 ${word}`;
  await page.getByLabel("제목").fill(title);
  await page.getByLabel("장소", { exact: true }).fill("한강공원");
  await page.getByLabel("태그 (쉼표로 구분)").fill("등불, lantern");
  await page.getByRole("button", { name: "축제 만들기" }).click();
  await page.getByText("축제를 만들었습니다.").waitFor(WAIT);

  await page.getByRole("link", { name: "축제", exact: true }).click();
  await page.getByLabel("검색", { exact: true }).fill(word);
  await page.getByRole("button", { name: "검색" }).click();
  await page.getByRole("link", { name: title }).waitFor(WAIT);
  await context.close();
});
