import { Client } from "@planetscale/database";
import {
  adminToken,
  type BenchEnv,
  createFestival,
  fmt,
  helloLoad,
  loadTable,
  runLoad,
  writeReport,
} from "./harness.ts";
import { bulkUsers } from "./users.ts";

/**
 * Sale-day spike: 5,000 reservation attempts from 5,000 users on 500 places at 100 concurrent
 * clients. Oversold must be 0: the database is checked after the run.
 */
const ATTEMPTS = 5_000;
const PLACES = 500;
const CONCURRENCY = 100;

export async function run(env: BenchEnv) {
  const admin = await adminToken(env);
  const { id: festivalId, day } = await createFestival(env, admin, {
    title: "벤치 매진 축제 Sale Day Bench",
    capacity: PLACES,
  });
  const users = await bulkUsers(env.databaseUrl, env.jwtSecret, ATTEMPTS);
  const conn = new Client({ url: env.databaseUrl }).connection();

  const hello = await helloLoad(env, ATTEMPTS, CONCURRENCY);
  let accepted = 0;
  let lastAcceptedAt = 0;
  const started = performance.now();
  const reserve = await runLoad({
    total: ATTEMPTS,
    concurrency: CONCURRENCY,
    make: (i) => ({
      url: `${env.appUrl}/v1/festivals/${festivalId}/reservations`,
      init: {
        method: "POST",
        headers: {
          authorization: `Bearer ${users[i]?.token}`,
          "content-type": "application/json",
          "idempotency-key": `bench-${i}`,
        },
        body: JSON.stringify({ day, quantity: 1 }),
      },
    }),
    ok: (s) => s === 201 || s === 409,
    onResponse: (status) => {
      if (status === 201) {
        accepted++;
        lastAcceptedAt = performance.now();
      }
    },
  });
  const [dayRow] = (
    await conn.execute(
      "select capacity, reserved, held from festival_days where festival_id = ? and day = ?",
      [festivalId, day],
    )
  ).rows as { capacity: number; reserved: number; held: number }[];
  const [sum] = (
    await conn.execute(
      "select count(*) as n, coalesce(sum(quantity), 0) as q from reservations where festival_id = ? and status = 'confirmed'",
      [festivalId],
    )
  ).rows as { n: number; q: number }[];
  const reserved = Number(dayRow?.reserved);
  const oversold = Math.max(0, Number(sum?.q) - PLACES, reserved - PLACES);
  await writeReport("reservations", "Reservations on sale day (5,000 attempts, 500 places, 100 clients)", [
    `${ATTEMPTS} attempts from ${ATTEMPTS} users on one day with ${PLACES} places, ${CONCURRENCY} concurrent clients, each with an Idempotency-Key.`,
    "",
    ...loadTable(hello, { "POST /v1/festivals/{id}/reservations": reserve }),
    "",
    `- accepted (201): **${accepted}**, sold out (409): ${reserve.statuses[409] ?? 0}, other: ${JSON.stringify(
      Object.fromEntries(Object.entries(reserve.statuses).filter(([k]) => k !== "201" && k !== "409")),
    )}`,
    `- accepted per second while places lasted: **${fmt(accepted / ((lastAcceptedAt - started) / 1000))}** (the last place went after ${fmt((lastAcceptedAt - started) / 1000)} s of the ${fmt(reserve.seconds)} s run)`,
    `- database after the run: reserved = ${reserved}, confirmed reservations = ${sum?.n} (quantity ${sum?.q}), capacity = ${dayRow?.capacity}`,
    `- **oversold: ${oversold}**`,
  ]);
  if (oversold !== 0 || accepted !== PLACES)
    throw new Error(`invariant broken: oversold ${oversold}, accepted ${accepted}`);
}
