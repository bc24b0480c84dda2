import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import WebSocket from "ws";
import { CHAT_TOPICS } from "../local/kafka-rest/admin.ts";
import { createDynamo, type Dynamo } from "../workers/lib/dynamo.ts";
import { type BenchEnv, fmt, percentile, runLoad, writeReport } from "./harness.ts";
import { chatRoomWithMembers } from "./users.ts";

/**
 * Durable chat: how long from the `ack` until the message is readable in DynamoDB (outbox → Kafka →
 * cron consumer → BatchWriteItem), at 100 and at 1,000 messages/s offered across 10 rooms (senders at
 * the per-user limit of 2/s), and how fast history pages come back. The Worker speaks the Kafka
 * dialect wrangler.toml sets (v2 unless KAFKA_DIALECT says otherwise). DynamoDB is polled every
 * POLL_MS with consistent reads, so lag figures carry up to that much extra. The consumer is driven
 * as production drives it: the cron fires every minute and each run drains until its budget
 * (CHAT_CONSUMER_RUN_MS, longer than the minute) ends. Where the time goes: each message's Kafka
 * timestamp (the stand-in's, taken when the produce arrived, read from its log files) splits the lag
 * into ack → in Kafka (the room's outbox drain) and Kafka → visible in DynamoDB (the consumer).
 */
const ROOMS = 10;
const PER_SECOND = 2;
const SECONDS = 20;
const POLL_MS = 50;
const CRON_EVERY_MS = 60_000;
/** Senders per room for each offered rate: rate = ROOMS × senders × PER_SECOND. */
const PHASES = [
  { rate: 100, senders: 5 },
  { rate: 1_000, senders: 50 },
] as const;

interface PhaseResult {
  rate: number;
  sent: number;
  acked: number;
  persisted: number;
  lags: number[];
  /** ack → the produce reached Kafka, and Kafka → visible in DynamoDB, per message seen in both. */
  toKafka: number[];
  fromKafka: number[];
  festivalIds: number[];
  token: string;
}

/** When each message (room:seq) first reached Kafka, from the stand-in's partition files. */
async function kafkaTimes(env: BenchEnv): Promise<Map<string, number>> {
  // The topic wrangler.toml names; the stand-in keeps each under topics/.
  const dir = join(env.stack.config.kafkaDataDir, "topics", CHAT_TOPICS[0]);
  const times = new Map<string, number>();
  for (const file of (await readdir(dir)).filter((f) => f.endsWith(".jsonl"))) {
    for (const line of (await readFile(join(dir, file), "utf8")).split("\n")) {
      if (!line) continue;
      try {
        const record = JSON.parse(line) as { timestamp: number; value: string };
        const item = JSON.parse(record.value) as { roomId: string; seq: number };
        const key = `${item.roomId}:${item.seq}`;
        times.set(key, Math.min(times.get(key) ?? Number.POSITIVE_INFINITY, record.timestamp));
      } catch {}
    }
  }
  return times;
}

const sorted = (values: number[]) => values.sort((a, b) => a - b);

async function phase(env: BenchEnv, dynamo: Dynamo, rate: number, senders: number): Promise<PhaseResult> {
  const rooms = await Promise.all(
    Array.from({ length: ROOMS }, (_, r) => chatRoomWithMembers(env, `벤치 기록 ${rate}/s #${r}`, senders)),
  );
  const ackedAt = new Map<string, number>();
  const sockets = (
    await Promise.all(
      rooms.map(({ festivalId, users, wsUrl }) =>
        Promise.all(
          users.map(
            (u) =>
              new Promise<WebSocket>((resolve, reject) => {
                const ws = new WebSocket(wsUrl, { headers: { authorization: `Bearer ${u.token}` } });
                ws.on("message", (data) => {
                  const f = JSON.parse(String(data)) as { type: string; seq?: number };
                  if (f.type === "ack" && f.seq !== undefined)
                    ackedAt.set(`${festivalId}:${f.seq}`, Date.now());
                });
                ws.once("open", () => resolve(ws));
                ws.once("error", reject);
              }),
          ),
        ),
      ),
    )
  ).flat();

  const table = env.stack.bindings.DYNAMO_TABLE as string;
  const seenAt = new Map<string, number>();
  const after = new Map<number, number>(rooms.map((r) => [r.festivalId, 0]));
  let polling = true;
  const pollers = rooms.map(async ({ festivalId }) => {
    while (polling) {
      const page = await dynamo.call<{ Items: { seq: { N: string } }[] }>("Query", {
        TableName: table,
        KeyConditionExpression: "#r = :r AND #s > :s",
        ExpressionAttributeNames: { "#r": "roomId", "#s": "seq" },
        ExpressionAttributeValues: {
          ":r": { S: String(festivalId) },
          ":s": { N: String(after.get(festivalId) ?? 0) },
        },
        ConsistentRead: true,
        Limit: 1000,
      });
      const now = Date.now();
      for (const item of page.Items) {
        const key = `${festivalId}:${item.seq.N}`;
        if (!seenAt.has(key)) seenAt.set(key, now);
      }
      let last = after.get(festivalId) ?? 0;
      while (seenAt.has(`${festivalId}:${last + 1}`)) last++;
      after.set(festivalId, last);
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  });

  let sent = 0;
  await Promise.all(
    sockets.map(async (ws, s) => {
      // Spread the senders over the first second so the offered rate is even, not in bursts.
      await new Promise((r) => setTimeout(r, (s * 1000) / sockets.length));
      for (let n = 0; n < SECONDS * PER_SECOND; n++) {
        ws.send(JSON.stringify({ type: "send", clientMsgId: `h-${s}-${n}`, text: `기록 ${s}-${n}` }));
        sent++;
        await new Promise((r) => setTimeout(r, 1000 / PER_SECOND));
      }
    }),
  );
  const persisted = () => [...after.values()].reduce((a, b) => a + b, 0);
  for (let i = 0; i < 900 && persisted() < sent; i++) await new Promise((r) => setTimeout(r, 100));
  polling = false;
  await Promise.all(pollers);
  for (const ws of sockets) ws.close();
  const inKafka = await kafkaTimes(env);
  const lags: number[] = [];
  const toKafka: number[] = [];
  const fromKafka: number[] = [];
  for (const [key, acked] of ackedAt) {
    const seen = seenAt.get(key);
    const produced = inKafka.get(key);
    if (seen !== undefined) lags.push(seen - acked);
    if (produced !== undefined) toKafka.push(produced - acked);
    if (seen !== undefined && produced !== undefined) fromKafka.push(seen - produced);
  }
  return {
    rate,
    sent,
    acked: ackedAt.size,
    persisted: persisted(),
    lags: sorted(lags),
    toKafka: sorted(toKafka),
    fromKafka: sorted(fromKafka),
    festivalIds: rooms.map((r) => r.festivalId),
    token: rooms[0]?.users[0]?.token as string,
  };
}

export async function run(env: BenchEnv) {
  const b = env.stack.bindings;
  const dynamo = createDynamo({
    endpoint: b.DYNAMO_ENDPOINT as string,
    region: b.AWS_REGION as string,
    accessKeyId: b.AWS_ACCESS_KEY_ID as string,
    secretAccessKey: b.AWS_SECRET_ACCESS_KEY as string,
  });
  // The consumer is a cron job: fired now and then every minute, as the cron trigger fires it.
  const fire = () =>
    fetch(`${env.appUrl}/cdn-cgi/handler/scheduled?cron=${encodeURIComponent("* * * * *")}`).catch(() => {});
  void fire();
  const cron = setInterval(() => void fire(), CRON_EVERY_MS);
  const results: PhaseResult[] = [];
  try {
    for (const p of PHASES) results.push(await phase(env, dynamo, p.rate, p.senders));
  } finally {
    clearInterval(cron);
  }

  const first = results[0] as PhaseResult;
  const pages = await runLoad({
    total: 1_000,
    concurrency: 20,
    make: (i) => ({
      url: `${env.appUrl}/v1/festivals/${first.festivalIds[0]}/messages?limit=50${i % 4 ? `&before=${1 + ((i * 37) % (first.sent / ROOMS))}` : ""}`,
      init: { headers: { authorization: `Bearer ${first.token}` } },
    }),
  });
  const dialect = b.KAFKA_DIALECT ?? "v2 (wrangler.toml)";
  await writeReport("history", "Chat persistence lag and history pages", [
    `Kafka dialect: ${dialect}. Per offered rate: ${ROOMS} rooms, senders at ${PER_SECOND} messages/s each for ${SECONDS} s; DynamoDB polled every ${POLL_MS} ms per room; the consumer cron fired every ${CRON_EVERY_MS / 1000} s (runs of CHAT_CONSUMER_RUN_MS = ${b.CHAT_CONSUMER_RUN_MS ?? "wrangler.toml"} ms).`,
    "",
    "| measure | count | p50 ms | p99 ms | max ms |",
    "| --- | ---: | ---: | ---: | ---: |",
    ...results.flatMap((r) => {
      const at = `at ${r.rate.toLocaleString("en")} msgs/s offered`;
      const row = (what: string, v: number[], count: string) =>
        `| ${what} ${at} | ${count} | ${fmt(percentile(v, 50))} | ${fmt(percentile(v, 99))} | ${fmt(v.at(-1) ?? 0)} |`;
      return [
        row("ack → visible in DynamoDB", r.lags, `${r.lags.length} of ${r.sent}`),
        row("… of which ack → in Kafka (room outbox)", r.toKafka, String(r.toKafka.length)),
        row("… of which Kafka → in DynamoDB (consumer)", r.fromKafka, String(r.fromKafka.length)),
      ];
    }),
    `| GET /v1/festivals/{id}/messages?limit=50 (20 clients) | ${pages.requests} | ${fmt(pages.p50)} | ${fmt(pages.p99)} | — |`,
    "",
    `History pages: ${fmt(pages.perSecond)} pages/s, ${pages.errors} errors. ${results
      .map((r) => `At ${r.rate}/s: acked ${r.acked}, persisted ${r.persisted} of ${r.sent}.`)
      .join(" ")}`,
  ]);
  for (const r of results) {
    if (r.persisted < r.sent)
      throw new Error(`at ${r.rate}/s only ${r.persisted} of ${r.sent} messages reached DynamoDB`);
  }
}
