import { seedDemoData } from "../local/seed.ts";
import { adminToken, type BenchEnv, helloLoad, loadTable, runLoad, writeReport } from "./harness.ts";

/**
 * Festival list and search under 50 concurrent clients, next to hello-world in the same run.
 * Data: the 34 demo festivals plus 300 generated ones created through the admin API.
 */
const CONCURRENCY = 50;
const REQUESTS = 3_000;
const WORDS = ["불꽃", "재즈", "머드", "영화", "탈춤", "벚꽃", "jazz", "film", "lantern", "rock"];

export async function run(env: BenchEnv) {
  await seedDemoData(env.databaseUrl);
  const token = await adminToken(env);
  const today = new Date();
  for (let i = 0; i < 300; i++) {
    const start = new Date(today.getTime() + ((i % 120) - 30) * 86_400_000).toISOString().slice(0, 10);
    const word = WORDS[i % WORDS.length];
    const res = await fetch(`${env.appUrl}/v1/festivals`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({
        title: `벤치 ${word} 축제 Bench ${word} Festival ${i}`,
        description: `generated festival ${i} about ${word}`,
        category: ["music", "fireworks", "film", "culture"][i % 4],
        region: ["서울", "부산", "경기", "제주"][i % 4],
        venue: {
          name: `Venue ${i}`,
          address: `Street ${i}`,
          lat: 33 + (i % 50) / 10,
          lng: 126 + (i % 30) / 10,
        },
        startDate: start,
        endDate: start,
        timezone: "Asia/Seoul",
        capacity: 1000,
        perUserLimit: 4,
        saleOpensAt: new Date(new Date(start).getTime() - 40 * 86_400_000).toISOString(),
        saleClosesAt: new Date(new Date(start).getTime() + 3_600_000).toISOString(),
        tags: [word],
      }),
    });
    if (res.status !== 201) throw new Error(`create festival: ${res.status} ${await res.text()}`);
  }

  const hello = await helloLoad(env, REQUESTS, CONCURRENCY);
  const list = await runLoad({
    total: REQUESTS,
    concurrency: CONCURRENCY,
    make: (i) => ({
      url: `${env.appUrl}/v1/festivals?limit=20&sort=${i % 2 ? "startDate" : "popularity"}`,
    }),
  });
  const search = await runLoad({
    total: REQUESTS,
    concurrency: CONCURRENCY,
    make: (i) => ({
      url: `${env.appUrl}/v1/festivals?q=${encodeURIComponent(WORDS[i % WORDS.length] as string)}`,
    }),
  });
  const filtered = await runLoad({
    total: REQUESTS,
    concurrency: CONCURRENCY,
    make: (i) => ({
      url: `${env.appUrl}/v1/festivals?category=music&region=${encodeURIComponent(["서울", "부산"][i % 2] as string)}&status=on_sale`,
    }),
  });
  await writeReport("festivals", "Festival list and search (50 concurrent clients)", [
    `${REQUESTS} requests per scenario at ${CONCURRENCY} concurrent clients; 334 festivals; lists cached in Redis (stand-in) as in production.`,
    "",
    ...loadTable(hello, {
      "GET /v1/festivals (list, two sorts)": list,
      "GET /v1/festivals?q= (Korean + English search)": search,
      "GET /v1/festivals (category+region+status)": filtered,
    }),
  ]);
}
