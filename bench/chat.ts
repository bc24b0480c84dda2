import { createServer } from "node:http";
import WebSocket, { WebSocketServer } from "ws";
import { listen } from "../local/http.ts";
import { type BenchEnv, fmt, percentile, writeReport } from "./harness.ts";
import { chatRoomWithMembers } from "./users.ts";

/**
 * One room, 200 connected clients, 20 of them sending: delivered messages/s and send→receive
 * latency through the ChatRoom Durable Object on wrangler dev, next to a plain Node `ws` broadcast
 * server driven the same way in the same run. Senders stay inside the room's per-user send limit
 * (burst 20, then 2/s), as real clients must.
 */
const CLIENTS = 200;
const SENDERS = 20;
const PER_SENDER_PER_SECOND = 2;
const SECONDS = 15;

interface RunResult {
  sent: number;
  delivered: number;
  seconds: number;
  p50: number;
  p99: number;
}

/** Drives connected sockets: senders embed their send time; every receiver records the latency. */
async function drive(
  sockets: WebSocket[],
  frame: (i: number, n: number, text: string) => string,
): Promise<RunResult> {
  const latencies: number[] = [];
  let delivered = 0;
  for (const ws of sockets) {
    ws.on("message", (data) => {
      const f = JSON.parse(String(data)) as { type: string; text?: string };
      if (f.type !== "message" || !f.text?.startsWith("t:")) return;
      delivered++;
      latencies.push(performance.now() - Number(f.text.slice(2).split(" ")[0]));
    });
  }
  let sent = 0;
  const started = performance.now();
  await Promise.all(
    sockets.slice(0, SENDERS).map(async (ws, s) => {
      for (let n = 0; n < SECONDS * PER_SENDER_PER_SECOND; n++) {
        ws.send(frame(s, n, `t:${performance.now()} 안녕하세요 ${s}-${n}`));
        sent++;
        await new Promise((r) => setTimeout(r, 1000 / PER_SENDER_PER_SECOND));
      }
    }),
  );
  // Let the last messages arrive.
  const expected = sent * sockets.length;
  for (let i = 0; i < 50 && delivered < expected; i++) await new Promise((r) => setTimeout(r, 100));
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return { sent, delivered, seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

const open = (url: string, headers: Record<string, string> = {}) =>
  new Promise<WebSocket>((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
  });

/** The baseline: a broadcast server with no auth, storage or sequencing. */
async function nodeBaseline(): Promise<RunResult> {
  const server = createServer();
  const wss = new WebSocketServer({ server });
  wss.on("connection", (ws) =>
    ws.on("message", (data) => {
      const { text } = JSON.parse(String(data)) as { text: string };
      const out = JSON.stringify({ type: "message", text });
      for (const c of wss.clients) c.send(out);
    }),
  );
  const port = await listen(server);
  const sockets = await Promise.all(Array.from({ length: CLIENTS }, () => open(`ws://127.0.0.1:${port}`)));
  const result = await drive(sockets, (_s, _n, text) => JSON.stringify({ type: "send", text }));
  for (const ws of sockets) ws.close();
  wss.close();
  server.close();
  return result;
}

export async function run(env: BenchEnv) {
  const { users, wsUrl } = await chatRoomWithMembers(env, "벤치 채팅 축제 Chat Bench", CLIENTS);
  const sockets: WebSocket[] = [];
  for (const u of users) sockets.push(await open(wsUrl, { authorization: `Bearer ${u.token}` }));
  const room = await drive(sockets, (s, n, text) =>
    JSON.stringify({ type: "send", clientMsgId: `bench-${s}-${n}`, text }),
  );
  for (const ws of sockets) ws.close();
  const baseline = await nodeBaseline();

  const row = (name: string, r: RunResult, base?: RunResult) =>
    `| ${name} | ${r.sent} | ${r.delivered} / ${r.sent * CLIENTS} | ${fmt(r.delivered / r.seconds)} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${
      base ? `${fmt((r.delivered / r.seconds / (base.delivered / base.seconds)) * 100)} %` : "—"
    } |`;
  await writeReport("chat", "Chat: 1 room, 200 clients, 20 senders", [
    `${CLIENTS} WebSocket clients in one room, ${SENDERS} of them sending ${PER_SENDER_PER_SECOND} messages/s each for ${SECONDS} s (the room's per-user limit). Latency is send → receive at every client, on one machine.`,
    "",
    "| server | sent | delivered / expected | delivered msgs/s | p50 ms | p99 ms | vs Node ws |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    row("Node `ws` broadcast (no auth, no storage)", baseline),
    row("ChatRoom Durable Object on wrangler dev", room, baseline),
  ]);
}
