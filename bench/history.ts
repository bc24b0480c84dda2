import WebSocket from "ws";
import { createDynamo, type Dynamo } from "../workers/lib/dynamo.ts";
import { type BenchEnv, fmt, percentile, runLoad, writeReport } from "./harness.ts";
import { chatRoomWithMembers } from "./users.ts";

/**
 * Durable chat: how long from the `ack` until the message is readable in DynamoDB (outbox → Kafka →
 * cron consumer → BatchWriteItem), at 100 and at 1,000 messages/s offered across 10 rooms (senders at
 * the per-user limit of 2/s), and how fast history pages come back. The Worker speaks the Kafka
 * dialect wrangler.toml sets (v2 unless KAFKA_DIALECT says otherwise). DynamoDB is polled every
 * POLL_MS with consistent reads, so lag figures carry up to that much extra.
 */
const ROOMS = 10;
const PER_SECOND = 2;
const SECONDS = 20;
const POLL_MS = 50;
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
  festivalIds: number[];
  token: string;
}

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
                    ackedAt.set(`${festivalId}:${f.seq}`, performance.now());
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
      const now = performance.now();
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
  const lags = [...ackedAt].flatMap(([key, t]) => {
    const seen = seenAt.get(key);
    return seen === undefined ? [] : [seen - t];
  });
  lags.sort((a, b) => a - b);
  return {
    rate,
    sent,
    acked: ackedAt.size,
    persisted: persisted(),
    lags,
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
  // The consumer is a cron job: fire it now and again before each invocation's budget runs out.
  const fire = () =>
    fetch(`${env.appUrl}/cdn-cgi/handler/scheduled?cron=${encodeURIComponent("* * * * *")}`).catch(() => {});
  void fire();
  const cron = setInterval(() => void fire(), 45_000);
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
    `Kafka dialect: ${dialect}. Per offered rate: ${ROOMS} rooms, senders at ${PER_SECOND} messages/s each for ${SECONDS} s; DynamoDB polled every ${POLL_MS} ms per room.`,
    "",
    "| measure | count | p50 ms | p99 ms | max ms |",
    "| --- | ---: | ---: | ---: | ---: |",
    ...results.map(
      (r) =>
        `| ack → visible in DynamoDB at ${r.rate.toLocaleString("en")} msgs/s offered | ${r.lags.length} of ${r.sent} | ${fmt(percentile(r.lags, 50))} | ${fmt(percentile(r.lags, 99))} | ${fmt(r.lags.at(-1) ?? 0)} |`,
    ),
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
