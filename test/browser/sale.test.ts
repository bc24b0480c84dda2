import { expect, test } from "vitest";
import { adminToken, appUrl, createFestival, signUpInBrowser, unique, useBrowser, WAIT } from "./helpers.ts";

const browser = useBrowser();

test("with the waiting room on, a user queues, is admitted, and then reserves", async () => {
  const admin = await adminToken();
  const title = `대기실 축제 ${unique()}`;
  const festival = await createFestival(admin.token, title);
  const res = await fetch(`${appUrl()}/v1/festivals/${festival.id}/sales`, {
    method: "PATCH",
    headers: { "content-type": "application/json", authorization: `Bearer ${admin.token}` },
    body: JSON.stringify({ queueEnabled: true, admissionRatePerMinute: 60 }),
  });
  expect(res.status).toBe(200);

  const { page, context } = await browser.newPage();
  await signUpInBrowser(page, "대기자");
  await page.goto(`/festivals/${festival.id}`);
  await page.getByRole("heading", { name: title }).waitFor(WAIT);
  await page.getByRole("button", { name: "예약하기" }).click();
  await page.getByRole("alert").getByText("대기실을 거쳐야 예약할 수 있습니다.").waitFor(WAIT);
  await page.getByRole("button", { name: "대기열 들어가기" }).click();
  await page.getByText("입장했습니다! 지금 예약하세요.").waitFor(WAIT);
  await page.getByRole("button", { name: "예약하기" }).click();
  await page.getByText("예약되었습니다").waitFor(WAIT);

  await page.goto("/me");
  await page.getByRole("img", { name: /입장 코드: SP-/ }).waitFor(WAIT);
  await context.close();
});
