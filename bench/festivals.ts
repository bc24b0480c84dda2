import { seedDemoData } from "../local/seed.ts";
import {
  adminToken,
  atLatencies,
  type BenchEnv,
  fmt,
  helloLoad,
  type LoadResult,
  loadTable,
  runLoad,
  writeReport,
} from "./harness.ts";

/**
 * Festival list and search under 50 concurrent clients, next to hello-world in the same run.
 * Data: the 34 demo festivals plus 300 generated ones created through the admin API.
 */
const CONCURRENCY = 50;
const REQUESTS = 3_000;
/** Festivals whose pages the detail scenario refreshes. */
const HOT = 5;
const WORDS = ["불꽃", "재즈", "머드", "영화", "탈춤", "벚꽃", "jazz", "film", "lantern", "rock"];

export async function run(env: BenchEnv) {
  await seedDemoData(env.databaseUrl);
  const token = await adminToken(env);
  const today = new Date();
  const ids: number[] = [];
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
    ids.push(((await res.json()) as { id: number }).id);
  }

  const runs = await atLatencies(env, async (_ms, measure) => {
    const hello = await helloLoad(env, REQUESTS, CONCURRENCY);
    return {
      hello,
      ...(await measure(async () => ({
        list: await runLoad({
          total: REQUESTS,
          concurrency: CONCURRENCY,
          make: (i) => ({
            url: `${env.appUrl}/v1/festivals?limit=20&sort=${i % 2 ? "startDate" : "popularity"}`,
          }),
        }),
        search: await runLoad({
          total: REQUESTS,
          concurrency: CONCURRENCY,
          make: (i) => ({
            url: `${env.appUrl}/v1/festivals?q=${encodeURIComponent(WORDS[i % WORDS.length] as string)}`,
          }),
        }),
        filtered: await runLoad({
          total: REQUESTS,
          concurrency: CONCURRENCY,
          make: (i) => ({
            url: `${env.appUrl}/v1/festivals?category=music&region=${encodeURIComponent(["서울", "부산"][i % 2] as string)}&status=on_sale`,
          }),
        }),
        detail: await runLoad({
          total: REQUESTS,
          concurrency: CONCURRENCY,
          // Sale day: everyone refreshes the page of the few festivals whose sale just opened.
          make: (i) => ({ url: `${env.appUrl}/v1/festivals/${ids[i % HOT]}` }),
        }),
      }))),
    };
  });
  await writeReport("festivals", "Festival detail, list and search (50 concurrent clients, 0 and 20 ms)", [
    `${REQUESTS} requests per scenario at ${CONCURRENCY} concurrent clients; 334 festivals; public reads cached as in production (1 s in the isolate's memory in front of Redis, see README); at each injected round trip to the stand-ins (goal: ≥ 0.6 × hello-world).`,
    "",
    "| injected round trip | hello-world req/s | detail ÷ hello | list ÷ hello | search ÷ hello | filtered ÷ hello |",
    "| ---: | ---: | ---: | ---: | ---: | ---: |",
    ...runs.map(({ ms, result: r }) => {
      const x = (l: LoadResult) => `**${fmt(l.perSecond / r.hello.perSecond, 2)}**`;
      return `| ${ms} ms | ${fmt(r.hello.perSecond)} | ${x(r.detail)} | ${x(r.list)} | ${x(r.search)} | ${x(r.filtered)} |`;
    }),
    "",
    ...runs.flatMap(({ ms, result: r }) => [
      `### ${ms} ms injected round trip`,
      "",
      ...loadTable(r.hello, {
        "GET /v1/festivals/{id} (detail, 5 festivals on sale)": r.detail,
        "GET /v1/festivals (list, two sorts)": r.list,
        "GET /v1/festivals?q= (Korean + English search)": r.search,
        "GET /v1/festivals (category+region+status)": r.filtered,
      }),
      "",
    ]),
  ]);
}
