import type { Page } from "playwright-core";
import { expect, test } from "vitest";
import {
  adminToken,
  apiUser,
  createFestival,
  reserve,
  seriousA11yViolations,
  unique,
  useBrowser,
  WAIT,
} from "./helpers.ts";

const browser = useBrowser();

async function signIn(page: Page, who: { email: string; password: string }) {
  await page.goto("/signin");
  await page.getByLabel("이메일").fill(who.email);
  await page.getByLabel("비밀번호").fill(who.password);
  await page.getByRole("button", { name: "로그인" }).last().click();
  await page.getByRole("link", { name: "관리" }).waitFor(WAIT);
}

const nextDay = (day: string) =>
  new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);

test("an admin creates a festival in the dashboard and it appears in search", async () => {
  const admin = await adminToken();
  const { page, context } = await browser.newPage({ width: 1280, height: 900 });
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

test("an admin edits a festival's title and adds a day, then cancels it after confirming", async () => {
  const admin = await adminToken();
  const word = `edit${unique()}`;
  const festival = await createFestival(admin.token, `고칠 축제 ${word}`);
  const lastDay = festival.days.at(-1)?.date ?? "";
  const added = nextDay(lastDay);
  const { page, context } = await browser.newPage({ width: 1280, height: 900 });
  await signIn(page, admin);
  await page.getByRole("link", { name: "관리" }).click();
  await page.getByLabel("찾을 축제 (이름, 태그)").fill(word);
  await page.getByRole("button", { name: "검색" }).click();
  await page.getByRole("link", { name: `편집 고칠 축제 ${word}` }).click();
  await expect(page.getByLabel("제목").inputValue()).resolves.toBe(`고칠 축제 ${word}`);
  await expect(seriousA11yViolations(page)).resolves.toEqual([]);

  const title = `고친 축제 ${word}`;
  await page.getByLabel("제목").fill(title);
  // One more day at the end, with its own capacity.
  await page.getByLabel("종료일").fill(added);
  await page.locator("table.days tbody tr").nth(2).getByRole("spinbutton").fill("50");
  await page.getByRole("button", { name: "변경 저장" }).click();
  await page.getByText("저장했습니다.").waitFor(WAIT);

  await page.getByRole("link", { name: "축제 페이지 보기" }).click();
  await page.getByRole("heading", { name: title }).waitFor(WAIT);
  await page.getByTestId(`remaining-${added}`).getByText("50 / 50").waitFor(WAIT);

  // Cancelling asks first; stepping back changes nothing.
  await page.getByRole("link", { name: "축제 편집" }).click();
  await page.getByRole("button", { name: "이 축제 취소하기" }).click();
  await page.getByRole("button", { name: "돌아가기" }).click();
  await page.getByRole("button", { name: "이 축제 취소하기" }).click();
  await page.getByLabel("취소 사유 (선택)").fill("태풍 예보");
  await expect(seriousA11yViolations(page)).resolves.toEqual([]);
  await page.getByRole("button", { name: "예, 축제를 취소합니다" }).click();
  await page.getByText("취소된 축제입니다. 더 이상 바꿀 수 없습니다.").waitFor(WAIT);
  await expect(page.getByRole("button", { name: "변경 저장" }).isDisabled()).resolves.toBe(true);

  await page.getByRole("link", { name: "축제 페이지 보기" }).click();
  await page.getByRole("heading", { name: title }).waitFor(WAIT);
  await page.getByTestId("festival-cancelled").waitFor(WAIT);
  await page.locator(".badge-cancelled", { hasText: "취소됨" }).waitFor(WAIT);
  await expect(page.getByRole("button", { name: "예약하기" }).count()).resolves.toBe(0);
  await context.close();
});

test("at the gate a scanner types each code and Enter; the field clears and keeps focus for the next", async () => {
  const admin = await adminToken();
  // A code is only good on its own day: the festival is today (UTC, so "today" is the same here).
  const today = new Date().toISOString().slice(0, 10);
  const festival = await createFestival(admin.token, `입장 축제 ${unique()}`, {
    startDate: today,
    endDate: today,
    timezone: "UTC",
  });
  const day = festival.days[0]?.date ?? "";
  const codes: string[] = [];
  for (const name of ["하나", "두리"]) {
    const { checkInCode } = await reserve(await apiUser(name), festival.id, day, 2);
    codes.push(checkInCode ?? "");
  }
  const [first = "", second = ""] = codes;
  const { page, context } = await browser.newPage();
  await signIn(page, admin);
  await page.goto(`/admin/check-in?festival=${festival.id}`);
  const field = page.getByLabel("입장 코드");
  const focused = () => field.evaluate((el) => el === document.activeElement);
  const result = page.getByTestId("checkin-result");
  // The festival came with the link, so the scanner can start: the code field has the focus.
  await expect.poll(focused, WAIT).toBe(true);

  // A scanner is a keyboard: the characters, then Enter.
  await page.keyboard.type(first);
  await page.keyboard.press("Enter");
  await result.getByText("입장 확인되었습니다.").waitFor(WAIT);
  await expect(field.inputValue()).resolves.toBe("");
  await expect(focused()).resolves.toBe(true);

  await page.keyboard.type(second);
  await page.keyboard.press("Enter");
  await result.getByText(second).waitFor(WAIT);
  await expect(result.locator(".success").count()).resolves.toBe(1);

  // The first code again: refused, in Korean, and the earlier checks stay listed below.
  await page.keyboard.type(first);
  await page.keyboard.press("Enter");
  await result.getByText("이미 입장한 코드입니다.").waitFor(WAIT);
  await expect(page.locator(".checkin-log li").count()).resolves.toBe(2);
  await expect(seriousA11yViolations(page)).resolves.toEqual([]);
  await context.close();
});
