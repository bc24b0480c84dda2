import {
  adminToken,
  atLatencies,
  type BenchEnv,
  createFestival,
  fmt,
  helloLoad,
  loadTable,
  runLoad,
  writeReport,
} from "./harness.ts";
import { bulkUsers } from "./users.ts";

/** Sale-day arrival: 10,000 users join one festival's waiting room at 200 concurrent clients. */
const JOINS = 10_000;
const CONCURRENCY = 200;

async function joinsAt(
  env: BenchEnv,
  admin: string,
  users: { token: string }[],
  ms: number,
  measure: <R>(load: () => Promise<R>) => Promise<R>,
) {
  const { id } = await createFestival(env, admin, {
    title: `벤치 대기열 Queue Bench ${ms} ms`,
    capacity: 1000,
  });
  const settings = await fetch(`${env.appUrl}/v1/festivals/${id}/sales`, {
    method: "PATCH",
    headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" },
    body: JSON.stringify({ queueEnabled: true, admissionRatePerMinute: 100, activeCap: 200 }),
  });
  if (!settings.ok) throw new Error(`queue settings: ${settings.status} ${await settings.text()}`);
  const hello = await helloLoad(env, JOINS, CONCURRENCY);
  const joins = await measure(() =>
    runLoad({
      total: JOINS,
      concurrency: CONCURRENCY,
      make: (i) => ({
        url: `${env.appUrl}/v1/festivals/${id}/queue`,
        init: { method: "POST", headers: { authorization: `Bearer ${users[i]?.token}` } },
      }),
    }),
  );
  const view = (await (
    await fetch(`${env.appUrl}/v1/festivals/${id}/sales`, { headers: { authorization: `Bearer ${admin}` } })
  ).json()) as { queue: { waiting: number; admittedActive: number } };
  return { hello, joins, entries: view.queue.waiting + view.queue.admittedActive, view };
}

export async function run(env: BenchEnv) {
  const admin = await adminToken(env);
  const users = await bulkUsers(env.databaseUrl, env.jwtSecret, JOINS);
  const runs = await atLatencies(env, (ms, measure) => joinsAt(env, admin, users, ms, measure));
  await writeReport("queue", "Virtual waiting room: 10,000 joins at 200 concurrent clients (0 and 20 ms)", [
    `${JOINS} distinct users join one festival's queue (rate 100/min, cap 200) at ${CONCURRENCY} concurrent clients, at each injected round trip to the stand-ins (goal: joins/s ≥ 0.6 × hello-world).`,
    "",
    "| injected round trip | hello-world req/s | joins/s | ÷ hello-world | p99 ms | entries after (expected 10,000) |",
    "| ---: | ---: | ---: | ---: | ---: | ---: |",
    ...runs.map(
      ({ ms, result: r }) =>
        `| ${ms} ms | ${fmt(r.hello.perSecond)} | **${fmt(r.joins.perSecond)}** | **${fmt(r.joins.perSecond / r.hello.perSecond, 2)}** | ${fmt(r.joins.p99)} | ${r.entries} |`,
    ),
    "",
    ...runs.flatMap(({ ms, result: r }) => [
      `### ${ms} ms injected round trip`,
      "",
      ...loadTable(r.hello, { "POST /v1/festivals/{id}/queue": r.joins }),
      "",
      `- after the run the admin view shows ${r.view.queue.waiting} waiting + ${r.view.queue.admittedActive} admitted = ${r.entries} entries (expected ${JOINS}: one entry per user)`,
      "",
    ]),
  ]);
  for (const { ms, result: r } of runs) {
    if (r.entries !== JOINS) throw new Error(`queue lost or duplicated entries at ${ms} ms`);
  }
}
