import type { Page } from "playwright-core";
import { expect, test } from "vitest";
import {
  adminToken,
  createFestival,
  seedChat,
  signUpInBrowser,
  unique,
  useBrowser,
  WAIT,
} from "./helpers.ts";

const browser = useBrowser();

const messageTexts = (page: Page) => page.locator(".messages li:not(.pending) .text").allTextContents();
const seqs = (page: Page) =>
  page
    .locator(".messages li[data-seq]")
    .evaluateAll((els) => els.map((el) => Number(el.getAttribute("data-seq"))));

async function send(page: Page, text: string) {
  await page.getByLabel("메시지 입력").fill(text);
  await page.getByRole("button", { name: "보내기" }).click();
  // Acked: the line left the pending state and carries its seq.
  await page.locator(".messages li[data-seq] .text", { hasText: text }).waitFor(WAIT);
}

test("two people chat live; one drops offline and comes back to exactly the missed messages", async () => {
  const admin = await adminToken();
  const festival = await createFestival(admin.token, `채팅 축제 ${unique()}`);
  const a = await browser.newPage();
  const b = await browser.newPage();
  await signUpInBrowser(a.page, "가람");
  await signUpInBrowser(b.page, "보라");
  for (const { page } of [a, b]) {
    await page.goto(`/festivals/${festival.id}/chat`);
    await page.getByTestId("chat-status").getByText("연결됨").waitFor(WAIT);
  }

  await send(a.page, "안녕하세요 보라님");
  await b.page.locator(".messages li", { hasText: "안녕하세요 보라님" }).waitFor(WAIT);
  await send(b.page, "반가워요 가람님");
  await a.page.locator(".messages li", { hasText: "반가워요 가람님" }).waitFor(WAIT);

  await b.context.setOffline(true);
  await b.page.getByTestId("chat-status").getByText("오프라인").waitFor(WAIT);
  const missed = ["놓친 메시지 1", "놓친 메시지 2", "놓친 메시지 3"];
  for (const text of missed) await send(a.page, text);

  await b.context.setOffline(false);
  await b.page.getByTestId("chat-status").getByText("연결됨").waitFor(WAIT);
  await b.page.locator(".messages li[data-seq]", { hasText: "놓친 메시지 3" }).waitFor(WAIT);
  const expected = ["안녕하세요 보라님", "반가워요 가람님", ...missed];
  await expect(messageTexts(b.page)).resolves.toEqual(expected);
  await expect(messageTexts(a.page)).resolves.toEqual(expected);
  // Gap-free and no repeats: seqs 1..5 once each.
  await expect(seqs(b.page)).resolves.toEqual([1, 2, 3, 4, 5]);

  // After the return, the live stream goes on.
  await send(b.page, "다시 왔어요");
  await a.page.locator(".messages li", { hasText: "다시 왔어요" }).waitFor(WAIT);
  await a.context.close();
  await b.context.close();
});

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

test("history loads upward as you scroll, page by page, and the lines being read stay in place", async () => {
  const admin = await adminToken();
  const festival = await createFestival(admin.token, `기록 축제 ${unique()}`);
  // 120 lines: the welcome frame brings the last 50, then two pages of history (50, then 20).
  await seedChat(festival.id, 120);
  const { page, context } = await browser.newPage();
  await signUpInBrowser(page, "다은");
  await page.goto(`/festivals/${festival.id}/chat`);
  await page.getByTestId("chat-status").getByText("연결됨").waitFor(WAIT);
  await expect(seqs(page)).resolves.toEqual(range(71, 120));
  // It opens at the newest line.
  await page.locator('.messages li[data-seq="120"]').waitFor(WAIT);
  const inView = (seq: number) =>
    page.locator(`.messages li[data-seq="${seq}"]`).evaluate((li) => {
      const box = (li.parentElement as HTMLElement).getBoundingClientRect();
      const r = li.getBoundingClientRect();
      return r.top >= box.top && r.bottom <= box.bottom;
    });
  await expect(inView(120)).resolves.toBe(true);

  const list = page.locator(".messages");
  for (const [top, loaded] of [
    [71, 21],
    [21, 1],
  ] as const) {
    // Scrolling to the top brings the page before it, with no click.
    await list.evaluate((el) => {
      el.scrollTop = 0;
    });
    await page.locator(`.messages li[data-seq="${loaded}"]`).waitFor(WAIT);
    // The line that was on top is still on screen: the new page went above it, not over it.
    await expect(inView(top)).resolves.toBe(true);
    await expect(list.evaluate((el) => el.scrollTop)).resolves.toBeGreaterThan(0);
  }
  // All of it, each line once and in order, and nothing older left to ask for.
  await expect(seqs(page)).resolves.toEqual(range(1, 120));
  await expect(messageTexts(page)).resolves.toEqual(range(1, 120).map((n) => `기록 ${n}`));
  await expect(page.locator(".messages li.older").count()).resolves.toBe(0);

  // Sending from up there brings the view back down to one's own line.
  await send(page, "처음부터 다 읽었어요");
  await expect(inView(121)).resolves.toBe(true);
  await context.close();
});
