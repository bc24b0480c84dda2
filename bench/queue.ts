import {
  adminToken,
  type BenchEnv,
  createFestival,
  helloLoad,
  loadTable,
  runLoad,
  writeReport,
} from "./harness.ts";
import { bulkUsers } from "./users.ts";

/** Sale-day arrival: 10,000 users join one festival's waiting room at 200 concurrent clients. */
const JOINS = 10_000;
const CONCURRENCY = 200;

export async function run(env: BenchEnv) {
  const admin = await adminToken(env);
  const { id } = await createFestival(env, admin, { title: "벤치 대기열 Queue Bench", capacity: 1000 });
  const settings = await fetch(`${env.appUrl}/v1/festivals/${id}/sales`, {
    method: "PATCH",
    headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" },
    body: JSON.stringify({ queueEnabled: true, admissionRatePerMinute: 100, activeCap: 200 }),
  });
  if (!settings.ok) throw new Error(`queue settings: ${settings.status} ${await settings.text()}`);
  const users = await bulkUsers(env.databaseUrl, env.jwtSecret, JOINS);

  const hello = await helloLoad(env, JOINS, CONCURRENCY);
  const joins = await runLoad({
    total: JOINS,
    concurrency: CONCURRENCY,
    make: (i) => ({
      url: `${env.appUrl}/v1/festivals/${id}/queue`,
      init: { method: "POST", headers: { authorization: `Bearer ${users[i]?.token}` } },
    }),
  });
  const view = (await (
    await fetch(`${env.appUrl}/v1/festivals/${id}/sales`, { headers: { authorization: `Bearer ${admin}` } })
  ).json()) as { queue: { waiting: number; admittedActive: number } };
  await writeReport("queue", "Virtual waiting room: 10,000 joins at 200 concurrent clients", [
    `${JOINS} distinct users join one festival's queue (rate 100/min, cap 200) at ${CONCURRENCY} concurrent clients.`,
    "",
    ...loadTable(hello, { "POST /v1/festivals/{id}/queue": joins }),
    "",
    `- after the run the admin view shows ${view.queue.waiting} waiting + ${view.queue.admittedActive} admitted = ${
      view.queue.waiting + view.queue.admittedActive
    } entries (expected ${JOINS}: one entry per user)`,
  ]);
  if (view.queue.waiting + view.queue.admittedActive !== JOINS)
    throw new Error("queue lost or duplicated entries");
}
