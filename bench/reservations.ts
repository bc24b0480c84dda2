import { Client } from "@planetscale/database";
import {
  adminToken,
  atLatencies,
  type BenchEnv,
  createFestival,
  fmt,
  helloLoad,
  type LoadResult,
  loadTable,
  runLoad,
  writeReport,
} from "./harness.ts";
import { bulkUsers } from "./users.ts";

/**
 * Sale-day spike: 5,000 reservation attempts from 5,000 users on 500 places at 100 concurrent
 * clients, at 0 ms and at 20 ms injected round trip to the database and Redis (issue 13's goals:
 * confirmed/s while places last ≥ 0.4 × hello-world at 0 ms and ≥ 0.3 at 20 ms, p99 ≤ 1 s, overall
 * ≥ 0.3, oversold 0, confirmed rows = reserved counter = capacity). The database is checked after
 * each run.
 */
const ATTEMPTS = Number(process.env.BENCH_ATTEMPTS ?? 5_000);
const PLACES = 500;
const CONCURRENCY = 100;

interface SaleRun {
  hello: LoadResult;
  reserve: LoadResult;
  accepted: number;
  perSecondWhilePlacesLast: number;
  lastPlaceAfter: number;
  /** When the 1st, 100th and 250th places went (s): the ramp before the crowd's first batches. */
  placesAfter: number[];
  reserved: number;
  confirmedRows: number;
  confirmedPlaces: number;
  pending: number;
  capacity: number;
  oversold: number;
}

async function sale(
  env: BenchEnv,
  admin: string,
  users: { token: string }[],
  ms: number,
  measure: <R>(load: () => Promise<R>) => Promise<R>,
): Promise<SaleRun> {
  const { id: festivalId, day } = await createFestival(env, admin, {
    title: `벤치 매진 축제 Sale Day Bench ${ms} ms`,
    capacity: PLACES,
  });
  const conn = new Client({ url: env.databaseUrl }).connection();
  const hello = await helloLoad(env, ATTEMPTS, CONCURRENCY);
  let accepted = 0;
  let lastAcceptedAt = 0;
  const acceptedAt: number[] = [];
  const started = performance.now();
  const reserve = await measure(() =>
    runLoad({
      total: ATTEMPTS,
      concurrency: CONCURRENCY,
      make: (i) => ({
        url: `${env.appUrl}/v1/festivals/${festivalId}/reservations`,
        init: {
          method: "POST",
          headers: {
            authorization: `Bearer ${users[i]?.token}`,
            "content-type": "application/json",
            "idempotency-key": `bench-${ms}-${i}`,
          },
          body: JSON.stringify({ day, quantity: 1 }),
        },
      }),
      ok: (s) => s === 201 || s === 409,
      onResponse: (status) => {
        if (status === 201) {
          accepted++;
          lastAcceptedAt = performance.now();
          acceptedAt.push(lastAcceptedAt - started);
        }
      },
    }),
  );
  const [dayRow] = (
    await conn.execute(
      "select capacity, reserved, held from festival_days where festival_id = ? and day = ?",
      [festivalId, day],
    )
  ).rows as { capacity: number; reserved: number; held: number }[];
  const counts = (
    await conn.execute(
      "select status, count(*) as n, coalesce(sum(quantity), 0) as q from reservations where festival_id = ? group by status",
      [festivalId],
    )
  ).rows as { status: string; n: number; q: number }[];
  const of = (status: string) => counts.find((c) => c.status === status);
  const reserved = Number(dayRow?.reserved);
  const confirmedPlaces = Number(of("confirmed")?.q ?? 0);
  return {
    hello,
    reserve,
    accepted,
    perSecondWhilePlacesLast: accepted / ((lastAcceptedAt - started) / 1000),
    lastPlaceAfter: (lastAcceptedAt - started) / 1000,
    placesAfter: [0, 99, 249].map((i) => (acceptedAt[i] ?? Number.NaN) / 1000),
    reserved,
    confirmedRows: Number(of("confirmed")?.n ?? 0),
    confirmedPlaces,
    pending: Number(of("pending")?.n ?? 0),
    capacity: Number(dayRow?.capacity),
    oversold: Math.max(0, confirmedPlaces - PLACES, reserved - PLACES),
  };
}

const share = (x: number, hello: LoadResult) => fmt(x / hello.perSecond, 2);

export async function run(env: BenchEnv) {
  const admin = await adminToken(env);
  // The same buyers at each latency, on a fresh festival each time.
  const users = await bulkUsers(env.databaseUrl, env.jwtSecret, ATTEMPTS);
  const runs = await atLatencies(env, (ms, measure) => sale(env, admin, users, ms, measure));
  await writeReport(
    "reservations",
    "Reservations on sale day (5,000 attempts, 500 places, 100 clients, 0 and 20 ms)",
    [
      `${ATTEMPTS} attempts from ${ATTEMPTS} users on one day with ${PLACES} places, ${CONCURRENCY} concurrent clients, each with an Idempotency-Key; once with the stand-ins answering at once, once with each PlanetScale and Upstash request delayed by the injected round trip (\`Stack.setLatency\`, \`STANDIN_LATENCY_MS\`). Hello-world is measured just before each run.`,
      "",
      "| injected round trip | hello-world req/s | confirmed/s while places last | ÷ hello-world (goal ≥ 0.4 at 0 ms, ≥ 0.3 at 20 ms) | reservation req/s overall | ÷ hello-world (goal ≥ 0.3) | p50 ms | p99 ms (goal ≤ 1,000) | oversold | confirmed rows / reserved / capacity | pending left |",
      "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
      ...runs.map(
        ({ ms, result: r }) =>
          `| ${ms} ms | ${fmt(r.hello.perSecond)} | **${fmt(r.perSecondWhilePlacesLast)}** | **${share(r.perSecondWhilePlacesLast, r.hello)}** | ${fmt(r.reserve.perSecond)} | ${share(r.reserve.perSecond, r.hello)} | ${fmt(r.reserve.p50)} | ${fmt(r.reserve.p99)} | **${r.oversold}** | ${r.confirmedRows} / ${r.reserved} / ${r.capacity} | ${r.pending} |`,
      ),
      "",
      ...runs.flatMap(({ ms, result: r }) => [
        `### ${ms} ms injected round trip`,
        "",
        ...loadTable(r.hello, { "POST /v1/festivals/{id}/reservations": r.reserve }),
        "",
        `- accepted (201): **${r.accepted}**, sold out (409): ${r.reserve.statuses[409] ?? 0}, other: ${JSON.stringify(
          Object.fromEntries(Object.entries(r.reserve.statuses).filter(([k]) => k !== "201" && k !== "409")),
        )}; the 1st, 100th and 250th places went after ${r.placesAfter.map((t) => fmt(t)).join(" / ")} s, the last after ${fmt(r.lastPlaceAfter)} s of the ${fmt(r.reserve.seconds)} s run`,
        "",
      ]),
    ],
  );
  for (const { ms, result: r } of runs) {
    if (r.oversold !== 0 || r.accepted !== PLACES || r.confirmedRows !== r.reserved || r.reserved !== PLACES)
      throw new Error(
        `invariant broken at ${ms} ms: oversold ${r.oversold}, accepted ${r.accepted}, rows ${r.confirmedRows}, reserved ${r.reserved}`,
      );
  }
}
