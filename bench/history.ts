import { readdir, readFile } from "node:fs/promises";
import os from "node:os";
import { join } from "node:path";
import WebSocket from "ws";
import { CHAT_TOPICS } from "../local/kafka-rest/admin.ts";
import { createDynamo, type Dynamo } from "../workers/lib/dynamo.ts";
import { type BenchEnv, fmt, percentile, runLoad, writeReport } from "./harness.ts";
import { chatRoomWithMembers } from "./users.ts";

/**
 * Durable chat: how long from the `ack` until the message is readable in DynamoDB (outbox → Kafka →
 * cron consumer → BatchWriteItem), at 100 and at 1,000 messages/s offered across 10 rooms, and how
 * fast history pages come back. Both rates come from the same few sockets per room (SENDERS): every
 * message is broadcast to each socket of its room, so with 50 senders per room 1,000 msgs/s meant
 * 50,000 frames/s, which saturated the single local workerd thread (and this process, which hosts
 * the stand-ins) and measured fan-out, not persistence. So the 1,000/s phase raises the per-member
 * send rate instead (CHAT_SEND_PER_SECOND / CHAT_SEND_BURST, passed to this run's wrangler dev as
 * vars), and the fan-out stays SENDERS frames per message in both phases.
 *
 * The Worker speaks the Kafka dialect wrangler.toml sets (v2 unless KAFKA_DIALECT says otherwise).
 * DynamoDB is polled every POLL_MS with consistent reads, so lag figures carry up to that much extra.
 * The consumer is driven as production drives it: the cron fires every minute and each run drains
 * until its budget (CHAT_CONSUMER_RUN_MS, longer than the minute) ends. Where the time goes: each
 * message's Kafka timestamp (the stand-in's, taken when the produce arrived, read from its log files)
 * splits the lag into ack → in Kafka (the room's outbox drain) and Kafka → visible in DynamoDB (the
 * consumer).
 */
const ROOMS = 10;
/** Sockets per room, each one member sending; the fan-out of every message (the sender gets its copy too). */
const SENDERS = 5;
const SECONDS = 20;
const POLL_MS = 50;
const CRON_EVERY_MS = 60_000;
/** Per-member send rate of each phase: rate = ROOMS × SENDERS × perMember. */
const PHASES = [
  { rate: 100, perMember: 2 },
  { rate: 1_000, perMember: 20 },
] as const;
/** The room's per-member limit for this run: the fastest phase's rate, with a burst for timer jitter. */
const SEND_PER_SECOND = Math.max(...PHASES.map((p) => p.perMember));
export const vars = {
  CHAT_SEND_PER_SECOND: String(SEND_PER_SECOND),
  // The senders keep an absolute schedule, so a bench event loop that fell behind catches up in a
  // burst: twice the rate was refused 2,251 of 20,000 sends once the rooms answered faster.
  CHAT_SEND_BURST: String(SEND_PER_SECOND * 5),
};
/**
 * How long after the last send the bench waits for every message to show up in DynamoDB: long
 * enough to see an overloaded run's backlog land (so the report says when, not just "not yet").
 */
const SETTLE_MS = 180_000;

interface PhaseResult {
  rate: number;
  perMember: number;
  sent: number;
  /** Messages/s actually offered: sent ÷ the time from the first send to the last. */
  offered: number;
  acked: number;
  /** Send → ack per acked message: how far behind the rooms were in taking messages. */
  sendToAck: number[];
  /** Acks/s while the senders ran: what the rooms took of the offered rate. */
  ackedPerSecond: number;
  /** When this phase's first and last message reached Kafka, in ms after the first send. */
  kafkaSpan: [number, number] | undefined;
  /** Error frames by code (e.g. message.rate_limited): a send that was refused is never persisted. */
  refused: Record<string, number>;
  /** Sent minus refused: what must reach DynamoDB. */
  expected: number;
  /** Frames the bench's sockets received (acks, every copy of every message, presence). */
  frames: number;
  persisted: number;
  lags: number[];
  /** ack → the produce reached Kafka, and Kafka → visible in DynamoDB, per message seen in both. */
  toKafka: number[];
  fromKafka: number[];
  /** When the last message reached DynamoDB, after the last send (ms); undefined when some never did. */
  settledMs: number | undefined;
  /** Load average (1 min) when the phase began and when its sends ended. */
  load: [number, number];
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

async function phase(env: BenchEnv, dynamo: Dynamo, rate: number, perMember: number): Promise<PhaseResult> {
  const loadBefore = os.loadavg()[0] as number;
  const rooms = await Promise.all(
    Array.from({ length: ROOMS }, (_, r) => chatRoomWithMembers(env, `벤치 기록 ${rate}/s #${r}`, SENDERS)),
  );
  const ackedAt = new Map<string, number>();
  const refused: Record<string, number> = {};
  let frames = 0;
  const sentAt = new Map<string, number>();
  const sendToAck: number[] = [];
  const sockets = (
    await Promise.all(
      rooms.map(({ festivalId, users, wsUrl }) =>
        Promise.all(
          users.map(
            (u) =>
              new Promise<WebSocket>((resolve, reject) => {
                // No permessage-deflate: compressing every ~200-byte frame costs the runtime and this
                // process (which also hosts the stand-ins) CPU and saves nothing; this bench measures
                // persistence, not the fan-out (bench:chat does).
                const ws = new WebSocket(wsUrl, {
                  headers: { authorization: `Bearer ${u.token}` },
                  perMessageDeflate: false,
                });
                ws.on("message", (data) => {
                  frames++;
                  const text = String(data);
                  // Most frames are copies of messages, which this bench does not read: only acks and
                  // errors are parsed, so this process takes less of the 2 cores from the runtime.
                  if (text.startsWith('{"type":"message"')) return;
                  const f = JSON.parse(text) as { type: string; seq?: number; code?: string };
                  if (f.type === "ack" && f.seq !== undefined) {
                    ackedAt.set(`${festivalId}:${f.seq}`, Date.now());
                    const at = sentAt.get((f as { clientMsgId?: string }).clientMsgId ?? "");
                    if (at !== undefined) sendToAck.push(Date.now() - at);
                  } else if (f.type === "error") refused[f.code ?? "?"] = (refused[f.code ?? "?"] ?? 0) + 1;
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
  const perSocket = SECONDS * perMember;
  const started = Date.now();
  await Promise.all(
    sockets.map(async (ws, s) => {
      // Each socket sends on its own fixed schedule (absolute times, so timer lateness does not lower
      // the rate), the sockets spread over one interval so the offered rate is even, not in bursts.
      const every = 1000 / perMember;
      const offset = (s * every) / sockets.length;
      for (let n = 0; n < perSocket; n++) {
        const wait = started + offset + n * every - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        sentAt.set(`h-${s}-${n}`, Date.now());
        ws.send(JSON.stringify({ type: "send", clientMsgId: `h-${s}-${n}`, text: `기록 ${s}-${n}` }));
        sent++;
      }
    }),
  );
  const sendEnded = Date.now();
  const ackedWhileSending = [...ackedAt.values()].filter((t) => t <= sendEnded).length;
  const loadAfter = os.loadavg()[0] as number;
  const persisted = () => [...after.values()].reduce((a, b) => a + b, 0);
  // A refused send (an error frame, e.g. message.rate_limited) is never stored: what must arrive is
  // every send but those.
  const expected = () => sent - Object.values(refused).reduce((a, b) => a + b, 0);
  while (persisted() < expected() && Date.now() - sendEnded < SETTLE_MS)
    await new Promise((r) => setTimeout(r, 100));
  const settledMs = persisted() >= expected() ? Math.max(...seenAt.values()) - sendEnded : undefined;
  polling = false;
  await Promise.all(pollers);
  for (const ws of sockets) ws.close();
  const inKafka = await kafkaTimes(env);
  const mine = new Set(rooms.map((r) => String(r.festivalId)));
  const phaseKafka = [...inKafka].filter(([k]) => mine.has(k.split(":")[0] as string)).map(([, t]) => t);
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
    perMember,
    sent,
    offered: sent / Math.max(1, (sendEnded - started) / 1000),
    acked: ackedAt.size,
    sendToAck: sorted(sendToAck),
    ackedPerSecond: ackedWhileSending / Math.max(1, (sendEnded - started) / 1000),
    kafkaSpan: phaseKafka.length
      ? [Math.min(...phaseKafka) - started, Math.max(...phaseKafka) - started]
      : undefined,
    refused,
    frames,
    persisted: persisted(),
    expected: expected(),
    lags: sorted(lags),
    toKafka: sorted(toKafka),
    fromKafka: sorted(fromKafka),
    settledMs,
    load: [loadBefore, loadAfter],
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
    for (const p of PHASES) results.push(await phase(env, dynamo, p.rate, p.perMember));
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
    `Kafka dialect: ${dialect}. Per offered rate: ${ROOMS} rooms × ${SENDERS} sockets, each socket one member sending for ${SECONDS} s (${PHASES.map((p) => `${p.perMember}/s each at ${p.rate.toLocaleString("en")} msgs/s`).join(", ")}; the room's per-member limit set to ${vars.CHAT_SEND_PER_SECOND}/s, burst ${vars.CHAT_SEND_BURST}). Every message is broadcast to the ${SENDERS} sockets of its room (fan-out ${SENDERS}, the sender's copy included): ${PHASES.map((p) => `${(p.rate * SENDERS).toLocaleString("en")} message frames/s + ${p.rate.toLocaleString("en")} acks/s at ${p.rate.toLocaleString("en")}/s`).join(", ")}. DynamoDB polled every ${POLL_MS} ms per room; the consumer cron fired every ${CRON_EVERY_MS / 1000} s (runs of CHAT_CONSUMER_RUN_MS = ${b.CHAT_CONSUMER_RUN_MS ?? "wrangler.toml"} ms).`,
    "",
    "| measure | count | p50 ms | p99 ms | max ms |",
    "| --- | ---: | ---: | ---: | ---: |",
    ...results.flatMap((r) => {
      const at = `at ${r.rate.toLocaleString("en")} msgs/s offered`;
      const row = (what: string, v: number[], count: string) =>
        `| ${what} ${at} | ${count} | ${fmt(percentile(v, 50))} | ${fmt(percentile(v, 99))} | ${fmt(v.at(-1) ?? 0)} |`;
      return [
        row("send → ack (the room took it)", r.sendToAck, String(r.sendToAck.length)),
        row("ack → visible in DynamoDB", r.lags, `${r.lags.length} of ${r.sent}`),
        row("… of which ack → in Kafka (room outbox)", r.toKafka, String(r.toKafka.length)),
        row("… of which Kafka → in DynamoDB (consumer)", r.fromKafka, String(r.fromKafka.length)),
      ];
    }),
    `| GET /v1/festivals/{id}/messages?limit=50 (20 clients) | ${pages.requests} | ${fmt(pages.p50)} | ${fmt(pages.p99)} | — |`,
    "",
    `History pages: ${fmt(pages.perSecond)} pages/s, ${pages.errors} errors.`,
    "",
    ...results.map(
      (r) =>
        `At ${r.rate.toLocaleString("en")}/s: offered ${fmt(r.offered)} msgs/s (${r.sent} sent), acked ${r.acked} (${fmt(r.ackedPerSecond)}/s while the senders ran)${Object.keys(r.refused).length ? ` (refused: ${JSON.stringify(r.refused)})` : ""}, persisted ${r.persisted} of ${r.expected} not refused${r.settledMs === undefined ? ` (not all within ${SETTLE_MS / 1000} s)` : `, the last ${fmt(r.settledMs / 1000)} s after the last send`}; the phase's messages reached Kafka from ${r.kafkaSpan ? `${fmt(r.kafkaSpan[0] / 1000)} s to ${fmt(r.kafkaSpan[1] / 1000)} s` : "never"} after the first send (the sends lasted ${SECONDS} s); ${r.frames.toLocaleString("en")} frames received by the bench's sockets; load average ${fmt(r.load[0], 2)} at the start, ${fmt(r.load[1], 2)} when the sends ended (${os.cpus().length} cores, shared with other jobs).`,
    ),
  ]);
  for (const r of results) {
    if (r.persisted < r.expected || r.persisted < r.acked)
      throw new Error(
        `at ${r.rate}/s only ${r.persisted} of ${r.expected} messages (${r.acked} acked) reached DynamoDB`,
      );
  }
}
