import { createServer } from "node:http";
import { loadavg } from "node:os";
import WebSocket, { WebSocketServer } from "ws";
import { listen } from "../local/http.ts";
import { type BenchEnv, fmt, percentile, writeReport } from "./harness.ts";
import { chatRoomWithMembers } from "./users.ts";

/**
 * One room at saturation, three servers in the same run: a plain Node `ws` broadcast, the minimal
 * broadcast Durable Object (bench/broadcast: accept, SQLite insert, ack, broadcast) and the
 * project's ChatRoom, each on its own `wrangler dev` of the same wrangler. Every member is connected
 * and every member sends, closed loop: the next message goes as soon as the previous one's ack is
 * back, so the server, not a timer, sets the pace. Each member sends one send burst (the ChatRoom's
 * per-member limit: past it the room's 2/s rate would be measured, not the room).
 *
 * Frames are counted on the client side, per socket and per type, over the measured window: what
 * the room's object sent per accepted message (the ack plus one copy per socket).
 *
 * BENCH_CHAT_MEMBERS (default 100) and BENCH_CHAT_ROUNDS (default 3: the minimal object and the
 * ChatRoom alternate, so a busy machine slows both alike; the ratio is the median of the rounds).
 */
const MEMBERS = Number(process.env.BENCH_CHAT_MEMBERS ?? 100);
const ROUNDS = Number(process.env.BENCH_CHAT_ROUNDS ?? 3);
/**
 * CHAT_LIMITS.sendBurst and sendPerSecond (durable-objects/chat-room/contract/protocol.ts, which Node
 * cannot import: workerd-style extensionless imports). Drift shows as refused messages in the report.
 */
const PER_MEMBER = 20;
const SEND_PER_SECOND = 2;
/** Time for a member's bucket to refill from empty, so every ChatRoom round starts with full bursts. */
const REFILL_MS = (PER_MEMBER / SEND_PER_SECOND) * 1000 + 1000;
const TEXT = "안녕하세요, bench message with the length of an ordinary chat line";

interface Saturation {
  accepted: number;
  refused: number;
  /** First send to last ack. */
  seconds: number;
  acceptedPerSecond: number;
  /** Message frames received by all sockets, per second, first send to last copy. */
  deliveredPerSecond: number;
  /** Every socket got every accepted message. */
  complete: boolean;
  ackP50: number;
  ackP99: number;
  /** Frames received over the window per accepted message, by type. */
  frames: { message: number; ack: number; other: number };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A socket that counts what it receives and hands acks (and errors) to the one sender awaiting them. */
class Counted {
  readonly ws: WebSocket;
  counting = false;
  message = 0;
  ack = 0;
  other = 0;
  lastFrameAt = 0;
  /** The close code, when the server closed the socket: a run with a closed socket is no measurement. */
  closedWith: number | undefined;
  #awaiting: { clientMsgId: string; done: (ok: boolean) => void } | undefined;

  constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on("message", (data) => {
      const s = String(data);
      this.lastFrameAt = performance.now();
      // Prefix checks: parsing every copy of every message would make the client the bottleneck.
      const type = s.startsWith('{"type":"message"')
        ? "message"
        : s.startsWith('{"type":"ack"')
          ? "ack"
          : "other";
      if (this.counting) this[type]++;
      if (type === "message" || !this.#awaiting) return;
      const f = JSON.parse(s) as { type: string; clientMsgId?: string };
      if ((f.type === "ack" || f.type === "error") && f.clientMsgId === this.#awaiting.clientMsgId) {
        const { done } = this.#awaiting;
        this.#awaiting = undefined;
        done(f.type === "ack");
      }
    });
    ws.on("close", (code) => {
      this.closedWith = code;
      this.#awaiting?.done(false);
      this.#awaiting = undefined;
    });
  }

  send(clientMsgId: string, text: string): Promise<boolean> {
    if (this.closedWith !== undefined) return Promise.resolve(false);
    return new Promise((done) => {
      this.#awaiting = { clientMsgId, done };
      this.ws.send(JSON.stringify({ type: "send", clientMsgId, text }));
    });
  }

  reset() {
    this.message = this.ack = this.other = 0;
  }
}

const open = (url: string, headers: Record<string, string> = {}) =>
  new Promise<Counted>((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    const counted = new Counted(ws);
    ws.once("open", () => resolve(counted));
    ws.once("error", reject);
  });

/** Connects one at a time (as members arrive), then waits until the presence frames stop. */
async function connectAll(urls: { url: string; headers?: Record<string, string> }[]): Promise<Counted[]> {
  const sockets: Counted[] = [];
  for (const { url, headers } of urls) sockets.push(await open(url, headers));
  const quietSince = () => Math.max(...sockets.map((s) => s.lastFrameAt));
  for (let i = 0; i < 100 && performance.now() - quietSince() < 500; i++) await sleep(100);
  return sockets;
}

async function saturate(sockets: Counted[], round: string): Promise<Saturation> {
  for (const s of sockets) {
    s.reset();
    s.counting = true;
  }
  const latencies: number[] = [];
  let accepted = 0;
  let refused = 0;
  let lastAck = 0;
  const started = performance.now();
  await Promise.all(
    sockets.map(async (s, m) => {
      for (let n = 0; n < PER_MEMBER; n++) {
        const t0 = performance.now();
        const ok = await s.send(`bench-${round}-${m}-${n}`, `${TEXT} ${m}-${n}`);
        lastAck = performance.now();
        latencies.push(lastAck - t0);
        if (ok) accepted++;
        else refused++;
      }
    }),
  );
  // Every accepted message still on its way to some socket.
  const expected = accepted * sockets.length;
  const delivered = () => sockets.reduce((n, s) => n + s.message, 0);
  for (let i = 0; i < 300 && delivered() < expected; i++) await sleep(100);
  const closed = sockets.filter((s) => s.closedWith !== undefined).map((s) => s.closedWith);
  if (closed.length)
    throw new Error(`${round}: the server closed ${closed.length} sockets (${closed.join(", ")})`);
  const lastCopy = Math.max(...sockets.map((s) => s.lastFrameAt));
  for (const s of sockets) s.counting = false;
  latencies.sort((a, b) => a - b);
  const seconds = (lastAck - started) / 1000;
  const per = (n: number) => n / Math.max(accepted, 1);
  return {
    accepted,
    refused,
    seconds,
    acceptedPerSecond: accepted / seconds,
    deliveredPerSecond: delivered() / ((lastCopy - started) / 1000),
    complete: delivered() >= expected,
    ackP50: percentile(latencies, 50),
    ackP99: percentile(latencies, 99),
    frames: {
      message: per(delivered()),
      ack: per(sockets.reduce((n, s) => n + s.ack, 0)),
      other: per(sockets.reduce((n, s) => n + s.other, 0)),
    },
  };
}

/** The floor of the comparison: a broadcast server with no auth, storage or sequencing. */
async function nodeBroadcast(): Promise<Saturation> {
  const server = createServer();
  const wss = new WebSocketServer({ server });
  let seq = 0;
  wss.on("connection", (ws) =>
    ws.on("message", (data) => {
      const f = JSON.parse(String(data)) as { clientMsgId: string; text: string };
      seq++;
      ws.send(JSON.stringify({ type: "ack", clientMsgId: f.clientMsgId, seq }));
      const out = JSON.stringify({
        type: "message",
        seq,
        id: crypto.randomUUID(),
        userId: 1,
        nickname: "bench",
        text: f.text,
        sentAt: new Date().toISOString(),
      });
      for (const c of wss.clients) c.send(out);
    }),
  );
  const port = await listen(server);
  const sockets = await connectAll(
    Array.from({ length: MEMBERS }, () => ({ url: `ws://127.0.0.1:${port}` })),
  );
  const result = await saturate(sockets, "node");
  for (const s of sockets) s.ws.close();
  wss.close();
  server.close();
  return result;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

export async function run(env: BenchEnv) {
  const loadBefore = loadavg()[0] as number;
  const broadcastUrl = (await env.startWorker("bench/broadcast/wrangler.toml")).replace("http", "ws");
  const { users, wsUrl } = await chatRoomWithMembers(env, "벤치 채팅 축제 Chat Bench", MEMBERS);

  console.log(`${MEMBERS} members joined; Node ws broadcast…`);
  const node = await nodeBroadcast();
  console.log(
    `Node ws: ${fmt(node.acceptedPerSecond)} msgs/s; connecting to the minimal object and the ChatRoom…`,
  );
  const minimalRoom = `${broadcastUrl}/rooms/bench-${Date.now()}`;
  const minimalSockets = await connectAll(users.map((u) => ({ url: `${minimalRoom}?user=${u.id}` })));
  const roomSockets = await connectAll(
    users.map((u) => ({ url: wsUrl, headers: { authorization: `Bearer ${u.token}` } })),
  );
  const rounds: { minimal: Saturation; room: Saturation }[] = [];
  let roomLastSend = 0;
  for (let r = 0; r < ROUNDS; r++) {
    const minimal = await saturate(minimalSockets, `min${r}`);
    await sleep(Math.max(0, roomLastSend + REFILL_MS - performance.now()));
    const room = await saturate(roomSockets, `room${r}`);
    roomLastSend = performance.now();
    rounds.push({ minimal, room });
    console.log(
      `round ${r + 1}: minimal ${fmt(minimal.acceptedPerSecond)} msgs/s, ChatRoom ${fmt(room.acceptedPerSecond)} msgs/s, ratio ${fmt(room.acceptedPerSecond / minimal.acceptedPerSecond, 2)}`,
    );
  }
  for (const s of [...minimalSockets, ...roomSockets]) s.ws.close();

  const ratios = rounds.map((r) => r.room.acceptedPerSecond / r.minimal.acceptedPerSecond);
  const ratio = median(ratios);
  // The round whose ratio is the median stands for each server in the summary table.
  const mid = rounds[ratios.indexOf(ratio)] as { minimal: Saturation; room: Saturation };
  const row = (name: string, r: Saturation, base?: Saturation) =>
    `| ${name} | ${r.accepted}${r.refused ? ` (+${r.refused} refused)` : ""} | ${fmt(r.acceptedPerSecond)} | ${fmt(r.deliveredPerSecond, 0)}${r.complete ? "" : " (incomplete)"} | ${fmt(r.ackP50)} | ${fmt(r.ackP99)} | ${fmt(r.frames.ack + r.frames.message + r.frames.other, 1)} (${fmt(r.frames.ack, 1)} ack + ${fmt(r.frames.message, 1)} message${r.frames.other ? ` + ${fmt(r.frames.other, 1)} other` : ""}) | ${base ? `**${fmt(r.acceptedPerSecond / base.acceptedPerSecond, 2)}**` : "—"} |`;

  await writeReport("chat", `Chat at saturation: 1 room, ${MEMBERS} members all sending`, [
    `${MEMBERS} WebSocket members in one room, every one sending a burst of ${PER_MEMBER} messages (the ChatRoom's per-member burst) closed loop: the next as soon as its ack is back. Every message goes to all ${MEMBERS} sockets (the sender included). Accepted msgs/s = acks / (first send → last ack); delivered = message copies received by all sockets per second. Frames per message are counted on the client side over the measured window, per socket: everything the room's object sent for one accepted message. ${ROUNDS} rounds, the minimal object and the ChatRoom alternating (ChatRoom rounds start after the burst refilled); the ratio is the median round's.`,
    "",
    ...(process.env.BENCH_CHAT_ROUNDS || process.env.BENCH_CHAT_MEMBERS
      ? [`Settings: \`BENCH_CHAT_MEMBERS=${MEMBERS} BENCH_CHAT_ROUNDS=${ROUNDS} npm run bench -- chat\`.`, ""]
      : []),
    `Machine load average (1 min) ${fmt(loadBefore)} at the start, ${fmt(loadavg()[0] as number)} at the end (other jobs share the machine: read the ratios; the minimal object and the ChatRoom alternate so both meet the same load).`,
    "",
    `**ChatRoom ÷ minimal broadcast object, accepted msgs/s at saturation: ${fmt(ratio, 2)}** (goal ≥ 0.9; rounds: ${ratios.map((x) => fmt(x, 2)).join(", ")}).`,
    "",
    "| server | accepted | accepted msgs/s | delivered copies/s | ack p50 ms | ack p99 ms | frames the object sent per message | ÷ minimal object |",
    "| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: |",
    row("Node `ws` broadcast (no auth, no storage)", node, mid.minimal),
    row(
      "minimal broadcast Durable Object (bench/broadcast: accept, SQLite insert, ack, broadcast)",
      mid.minimal,
    ),
    row("the project's ChatRoom", mid.room, mid.minimal),
    "",
    "| round | minimal object msgs/s | ChatRoom msgs/s | ratio |",
    "| ---: | ---: | ---: | ---: |",
    ...rounds.map(
      (r, i) =>
        `| ${i + 1} | ${fmt(r.minimal.acceptedPerSecond)} | ${fmt(r.room.acceptedPerSecond)} | ${fmt(ratios[i] as number, 2)} |`,
    ),
    "",
    ...capacityModel(mid.minimal, mid.room),
  ]);
}

/** What the per-object figures say about production, and which parts are assumed. */
function capacityModel(minimal: Saturation, room: Saturation): string[] {
  const framesPerSecond = room.acceptedPerSecond * (room.frames.ack + room.frames.message);
  return [
    "**Capacity model.** Measured here: one object's accepted msgs/s with every message sent to every socket (above), hence its frames/s (ChatRoom ≈ " +
      `${fmt(framesPerSecond, 0)} frames/s at ${MEMBERS} sockets, minimal object ≈ ${fmt(minimal.acceptedPerSecond * (minimal.frames.ack + minimal.frames.message), 0)}), ` +
      "and that an object sends 1 ack + 1 copy per socket for each message. Assumed, from Cloudflare's documentation and not measurable on `wrangler dev`: " +
      "a soft limit of about 1,000 requests/s per object (each incoming WebSocket message counts) and at most 32,768 WebSockets per object; " +
      "and that a production object's frames/s is of the order measured here (workerd on one busy 2-core machine with the client on it; production hardware is likely faster, so these are floors). " +
      "One object's room then takes at most min(1,000, F ÷ (N + 1)) messages/s for N sockets and F frames/s: with F as measured, " +
      `${[1_000, 10_000, 32_768].map((n) => `${n.toLocaleString("en")} sockets ≈ ${fmt(framesPerSecond / (n + 1), 1)} msgs/s`).join(", ")}. ` +
      "Spreading the sockets over shard objects divides N per object, so the sequencer's own work stays about one frame per shard per message (its frames per message do not grow with sockets), " +
      "and the room is bounded by the sequencer's ~1,000 msgs/s soft limit and by each shard's F ÷ (sockets per shard). " +
      "Local workerd may run every object of a Worker on one thread, so a curve over shard counts measured here shows the work per object, not the parallelism production would add.",
  ];
}
