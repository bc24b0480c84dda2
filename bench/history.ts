import WebSocket from "ws";
import { createDynamo } from "../workers/lib/dynamo.ts";
import { type BenchEnv, fmt, percentile, runLoad, writeReport } from "./harness.ts";
import { chatRoomWithMembers } from "./users.ts";

/**
 * Durable chat: at 100 messages/s (50 senders × 2/s, the per-user limit), how long from the `ack`
 * until the message is readable in DynamoDB (outbox → Kafka → cron consumer → BatchWriteItem), and
 * how fast history pages come back. DynamoDB is polled every POLL_MS with consistent reads, so lag
 * figures carry up to that much extra.
 */
const SENDERS = 50;
const PER_SECOND = 2;
const SECONDS = 20;
const POLL_MS = 50;

export async function run(env: BenchEnv) {
  let polling = true;
  try {
    const { festivalId, users, wsUrl } = await chatRoomWithMembers(env, "벤치 기록 History Bench", SENDERS);
    const ackedAt = new Map<number, number>();
    const sockets = await Promise.all(
      users.map(
        (u) =>
          new Promise<WebSocket>((resolve, reject) => {
            const ws = new WebSocket(wsUrl, { headers: { authorization: `Bearer ${u.token}` } });
            ws.on("message", (data) => {
              const f = JSON.parse(String(data)) as { type: string; seq?: number };
              if (f.type === "ack" && f.seq !== undefined) ackedAt.set(f.seq, performance.now());
            });
            ws.once("open", () => resolve(ws));
            ws.once("error", reject);
          }),
      ),
    );

    // The consumer is a cron job: fire it now and again before each invocation's budget runs out.
    const fire = () =>
      fetch(`${env.appUrl}/__scheduled?cron=${encodeURIComponent("* * * * *")}`).catch(() => {});
    void fire();
    const cron = setInterval(() => void fire(), 45_000);

    const b = env.stack.bindings;
    const dynamo = createDynamo({
      endpoint: b.DYNAMO_ENDPOINT as string,
      region: b.AWS_REGION as string,
      accessKeyId: b.AWS_ACCESS_KEY_ID as string,
      secretAccessKey: b.AWS_SECRET_ACCESS_KEY as string,
    });
    const seenAt = new Map<number, number>();
    let after = 0;
    const poller = (async () => {
      while (polling) {
        const page = await dynamo.call<{ Items: { seq: { N: string } }[] }>("Query", {
          TableName: b.DYNAMO_TABLE,
          KeyConditionExpression: "#r = :r AND #s > :s",
          ExpressionAttributeNames: { "#r": "roomId", "#s": "seq" },
          ExpressionAttributeValues: { ":r": { S: String(festivalId) }, ":s": { N: String(after) } },
          ConsistentRead: true,
          Limit: 1000,
        });
        const now = performance.now();
        for (const item of page.Items) {
          const seq = Number(item.seq.N);
          if (!seenAt.has(seq)) seenAt.set(seq, now);
        }
        while (seenAt.has(after + 1)) after++;
        await new Promise((r) => setTimeout(r, POLL_MS));
      }
    })();

    let sent = 0;
    await Promise.all(
      sockets.map(async (ws, s) => {
        for (let n = 0; n < SECONDS * PER_SECOND; n++) {
          ws.send(JSON.stringify({ type: "send", clientMsgId: `h-${s}-${n}`, text: `기록 ${s}-${n}` }));
          sent++;
          await new Promise((r) => setTimeout(r, 1000 / PER_SECOND));
        }
      }),
    );
    for (let i = 0; i < 600 && after < sent; i++) await new Promise((r) => setTimeout(r, 100));
    polling = false;
    await poller;
    clearInterval(cron);
    const lags = [...ackedAt].flatMap(([seq, t]) => {
      const seen = seenAt.get(seq);
      return seen === undefined ? [] : [seen - t];
    });
    lags.sort((a, b) => a - b);
    for (const ws of sockets) ws.close();

    const token = users[0]?.token as string;
    const pages = await runLoad({
      total: 1_000,
      concurrency: 20,
      make: (i) => ({
        url: `${env.appUrl}/v1/festivals/${festivalId}/messages?limit=50${i % 4 ? `&before=${1 + ((i * 37) % sent)}` : ""}`,
        init: { headers: { authorization: `Bearer ${token}` } },
      }),
    });
    await writeReport("history", "Chat persistence lag and history pages", [
      `${SENDERS} senders × ${PER_SECOND} messages/s for ${SECONDS} s = ${sent} messages at ~${SENDERS * PER_SECOND}/s into one room; DynamoDB polled every ${POLL_MS} ms.`,
      "",
      "| measure | count | p50 ms | p99 ms | max ms |",
      "| --- | ---: | ---: | ---: | ---: |",
      `| ack → visible in DynamoDB | ${lags.length} of ${sent} | ${fmt(percentile(lags, 50))} | ${fmt(percentile(lags, 99))} | ${fmt(lags.at(-1) ?? 0)} |`,
      `| GET /v1/festivals/{id}/messages?limit=50 (20 clients) | ${pages.requests} | ${fmt(pages.p50)} | ${fmt(pages.p99)} | — |`,
      "",
      `History pages: ${fmt(pages.perSecond)} pages/s, ${pages.errors} errors. Messages acked: ${ackedAt.size}; persisted: ${after}.`,
    ]);
    if (after < sent) throw new Error(`only ${after} of ${sent} messages reached DynamoDB`);
  } finally {
    polling = false;
  }
}
