import { createServer } from "node:http";
import { loadavg } from "node:os";
import WebSocket, { WebSocketServer } from "ws";
import { listen } from "../local/http.ts";
import { adminToken, type BenchEnv, fmt, percentile, writeReport } from "./harness.ts";
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
 *
 * Then the large room (largeRoom below): thousands of sockets in one room, on one object and spread
 * over 1, 2 and 4 shards, each configuration on its own `wrangler dev` of the app, with what each
 * object did per message read from the admin fan-out endpoint. The report ends with a capacity model
 * for production built from those per-object figures.
 */
const MEMBERS = Number(process.env.BENCH_CHAT_MEMBERS ?? 100);
const ROUNDS = Number(process.env.BENCH_CHAT_ROUNDS ?? 7);
/** Messages each member sends per round: short rounds, many of them, so a load spike on the shared machine moves one round, not the median. */
const PER_MEMBER = Number(process.env.BENCH_CHAT_PER_MEMBER ?? 5);
/**
 * This run's Worker vars: the per-member send limit (default a burst of 20, then 2/s) raised, so the
 * ChatRoom's rounds follow each other with no pause for the buckets to refill (which left the two
 * servers measured at different moments of the machine's load). The room still takes a token for
 * every message; it just never runs out.
 */
export const vars = { CHAT_SEND_BURST: "100000", CHAT_SEND_PER_SECOND: "10000" };
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

/** A message copy arrived on some socket: its seq and when (the large room's per-message tally). */
type OnMessage = (seq: number, at: number) => void;

/**
 * A socket that counts what it receives and hands acks (and errors) to the sends awaiting them
 * (several may be in flight: the large room's fixed-rate senders do not wait for their acks).
 */
class Counted {
  readonly ws: WebSocket;
  counting = false;
  message = 0;
  ack = 0;
  other = 0;
  lastFrameAt = 0;
  /** The close code, when the server closed the socket: a run with a closed socket is no measurement. */
  closedWith: number | undefined;
  onMessage: OnMessage | undefined;
  readonly #awaiting = new Map<string, (seq: number | undefined) => void>();

  constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on("message", (data) => {
      const s = String(data);
      const at = performance.now();
      this.lastFrameAt = at;
      // Prefix checks: parsing every copy of every message would make the client the bottleneck.
      const type = s.startsWith('{"type":"message"')
        ? "message"
        : s.startsWith('{"type":"ack"')
          ? "ack"
          : "other";
      if (this.counting) this[type]++;
      if (type === "message") {
        if (this.onMessage) this.onMessage(seqOf(s), at);
        return;
      }
      if (!this.#awaiting.size) return;
      const f = JSON.parse(s) as { type: string; clientMsgId?: string; seq?: number };
      const done = f.clientMsgId === undefined ? undefined : this.#awaiting.get(f.clientMsgId);
      if ((f.type === "ack" || f.type === "error") && done) {
        this.#awaiting.delete(f.clientMsgId as string);
        done(f.type === "ack" ? f.seq : undefined);
      }
    });
    ws.on("close", (code) => {
      this.closedWith = code;
      for (const done of this.#awaiting.values()) done(undefined);
      this.#awaiting.clear();
    });
  }

  /** The message's seq once acked; undefined when refused (an error frame) or the socket closed. */
  send(clientMsgId: string, text: string): Promise<number | undefined> {
    if (this.closedWith !== undefined) return Promise.resolve(undefined);
    return new Promise((done) => {
      this.#awaiting.set(clientMsgId, done);
      this.ws.send(JSON.stringify({ type: "send", clientMsgId, text }));
    });
  }

  reset() {
    this.message = this.ack = this.other = 0;
  }
}

/** The seq of a `message` frame without parsing it (`{"type":"message","seq":12,…`). */
function seqOf(frame: string): number {
  const at = frame.indexOf('"seq":');
  return at < 0 ? -1 : Number.parseInt(frame.slice(at + 6, at + 24), 10);
}

const open = (url: string, headers: Record<string, string> = {}) =>
  new Promise<Counted>((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    const counted = new Counted(ws);
    ws.once("open", () => resolve(counted));
    ws.once("error", reject);
    // A refused upgrade: its status and error envelope, not just "Unexpected server response".
    ws.once("unexpected-response", (_req, res) => {
      let body = "";
      res.on("data", (chunk: Buffer) => (body += chunk));
      res.on("end", () => reject(new Error(`connect refused: ${res.statusCode} ${body.slice(0, 300)}`)));
    });
  });

/**
 * A connect refused with 503 (a dependency slow on the busy machine) or 429 is tried again after a
 * pause, as a client does with Retry-After; each refusal is logged with its error code.
 */
async function openRetrying(url: string, headers?: Record<string, string>): Promise<Counted> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await open(url, headers);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (attempt >= 5 || !/refused: (503|429)/.test(message)) throw err;
      console.warn(`connect attempt ${attempt}: ${message}`);
      await sleep(1000 * attempt);
    }
  }
}

/**
 * Connects `concurrency` at a time (as members arrive), then waits until the presence frames stop
 * (at most `quietMs`).
 */
async function connectAll(
  urls: { url: string; headers?: Record<string, string> }[],
  { concurrency = 1, quietMs = 10_000 } = {},
): Promise<Counted[]> {
  const sockets: Counted[] = [];
  let next = 0;
  const connector = async () => {
    for (let u = urls[next++]; u; u = urls[next++]) sockets.push(await openRetrying(u.url, u.headers));
  };
  await Promise.all(Array.from({ length: concurrency }, connector));
  const quietSince = () => sockets.reduce((t, s) => Math.max(t, s.lastFrameAt), 0);
  const until = performance.now() + quietMs;
  while (performance.now() < until && performance.now() - quietSince() < 500) await sleep(100);
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
        const seq = await s.send(`bench-${round}-${m}-${n}`, `${TEXT} ${m}-${n}`);
        lastAck = performance.now();
        latencies.push(lastAck - t0);
        if (seq !== undefined) accepted++;
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

/**
 * The large room: LARGE_SOCKETS sockets in one room (SOCKETS_PER_USER per member: the room's cap is 5
 * and the upgrade limit 30 a minute per user), on one object or all on 1, 2 and 4 shards, each
 * configuration on its own `wrangler dev` of the app with its own vars. A few members send (their
 * per-member limit raised by vars, so SENDERS can offer the rate), first at a fixed offered rate,
 * then closed loop (the next message as soon as the previous one's ack is back).
 */
const LARGE_SOCKETS = Number(process.env.BENCH_CHAT_LARGE_SOCKETS ?? 2000);
const SOCKETS_PER_USER = 5;
const SENDERS = Number(process.env.BENCH_CHAT_SENDERS ?? 4);
/** Fixed offered rate (msgs/s) and how long, then the closed loop's message count. */
// 1 msg/s is 2,000 copies/s, below what one local object delivered to 2,000 sockets on the busy machine.
const OFFERED_RATE = Number(process.env.BENCH_CHAT_LARGE_RATE ?? 1);
const OFFERED_SECONDS = Number(process.env.BENCH_CHAT_LARGE_SECONDS ?? 15);
const CLOSED_MESSAGES = Number(process.env.BENCH_CHAT_LARGE_MESSAGES ?? 40);
/** How long the bench waits for every copy of every accepted message to arrive. */
const DELIVERY_WAIT_MS = 180_000;

interface LargeConfig {
  name: string;
  sockets: number;
  /** CHAT_ROOM_SOCKETS and CHAT_SHARD_SOCKETS of this configuration's wrangler dev. */
  roomSockets: number;
  shardSockets: number;
}

/** Configurations: one object, all on 1/2/4 shards, then the 2-shard room at fewer sockets (BENCH_CHAT_GROWTH=0 skips those). */
function largeConfigs(): LargeConfig[] {
  const n = LARGE_SOCKETS;
  const sharded = (sockets: number, shards: number): LargeConfig => ({
    name: `${shards} shard${shards > 1 ? "s" : ""}`,
    sockets,
    roomSockets: 0,
    shardSockets: Math.ceil(sockets / shards),
  });
  return [
    { name: "one object", sockets: n, roomSockets: n, shardSockets: 5000 },
    sharded(n, 1),
    sharded(n, 2),
    sharded(n, 4),
    ...(process.env.BENCH_CHAT_GROWTH === "0" ? [] : [sharded(n / 4, 2), sharded(n / 2, 2)]),
  ];
}

/** GET /v1/admin/chat/rooms/{id}: the room's and its shards' counters since they were loaded. */
interface Fanout {
  roomSockets: number;
  messagesAccepted: number;
  socketFramesSent: number;
  shardCalls: number;
  shardFramesDropped: number;
  shards: { shard: number; sockets: number; deliveries: number; socketFramesSent: number }[];
}

async function fanout(appUrl: string, admin: string, festivalId: number): Promise<Fanout> {
  const res = await fetch(`${appUrl}/v1/admin/chat/rooms/${festivalId}`, {
    headers: { authorization: `Bearer ${admin}` },
  });
  if (!res.ok) throw new Error(`admin fan-out: ${res.status} ${await res.text()}`);
  return (await res.json()) as Fanout;
}

/** What each object did per accepted message over a window (after − before). */
interface PerMessage {
  messages: number;
  roomFrames: number;
  shardCalls: number;
  shards: { shard: number; sockets: number; deliveries: number; frames: number }[];
}

function perMessage(before: Fanout, after: Fanout): PerMessage {
  // A counter lower after than before: the object was reloaded in the window (its counters restart).
  const d = (a: number, b: number) => (a >= b ? a - b : a);
  const messages = d(after.messagesAccepted, before.messagesAccepted);
  const per = (n: number) => n / Math.max(messages, 1);
  return {
    messages,
    roomFrames: per(d(after.socketFramesSent, before.socketFramesSent)),
    shardCalls: per(d(after.shardCalls, before.shardCalls)),
    shards: after.shards.map((s) => {
      const b = before.shards.find((x) => x.shard === s.shard);
      return {
        shard: s.shard,
        sockets: s.sockets,
        deliveries: per(d(s.deliveries, b?.deliveries ?? 0)),
        frames: per(d(s.socketFramesSent, b?.socketFramesSent ?? 0)),
      };
    }),
  };
}

interface LargeRun {
  offered?: number;
  sent: number;
  accepted: number;
  refused: number;
  acceptedPerSecond: number;
  /** Message copies received by all sockets per second, first send → last copy. */
  deliveredPerSecond: number;
  /** Accepted messages not yet on every socket when the wait ended. */
  incomplete: number;
  ackP50: number;
  ackP99: number;
  /** Send → the last socket got its copy, per message. */
  allP50: number;
  allP99: number;
  objects: PerMessage;
}

/**
 * One measured window: `fire` sends (fixed rate or closed loop) through `send`, then every copy of
 * every accepted message is awaited and the admin counters are read around it.
 */
async function largeWindow(
  sockets: Counted[],
  counters: () => Promise<Fanout>,
  fire: (send: (i: number) => Promise<void>) => Promise<void>,
  offered?: number,
): Promise<LargeRun> {
  const copies = new Map<number, { n: number; last: number }>();
  const onMessage: OnMessage = (seq, at) => {
    const c = copies.get(seq);
    if (c) {
      c.n++;
      c.last = at;
    } else copies.set(seq, { n: 1, last: at });
  };
  for (const s of sockets) {
    s.reset();
    s.counting = true;
    s.onMessage = onMessage;
  }
  // Spread over the room: different members, and (shards fill in connect order) different shards.
  const senders = Array.from(
    { length: SENDERS },
    (_, i) => sockets[Math.floor((i * sockets.length) / SENDERS)] as Counted,
  );
  const before = await counters();
  const sentAt = new Map<number, number>();
  const acks: number[] = [];
  let sent = 0;
  let refused = 0;
  let lastAck = 0;
  const tag = Math.random().toString(36).slice(2, 8);
  const started = performance.now();
  await fire(async (i) => {
    const t0 = performance.now();
    sent++;
    const seq = await (senders[i % senders.length] as Counted).send(`big-${tag}-${i}`, `${TEXT} ${i}`);
    lastAck = performance.now();
    if (seq === undefined) return void refused++;
    sentAt.set(seq, t0);
    acks.push(lastAck - t0);
  });
  const n = sockets.length;
  const pending = () => [...sentAt.keys()].filter((seq) => (copies.get(seq)?.n ?? 0) < n).length;
  const until = performance.now() + DELIVERY_WAIT_MS;
  while (pending() && performance.now() < until) await sleep(200);
  await sleep(300);
  const after = await counters();
  for (const s of sockets) {
    s.counting = false;
    s.onMessage = undefined;
  }
  const closed = sockets.filter((s) => s.closedWith !== undefined).length;
  if (closed) throw new Error(`the server closed ${closed} sockets`);
  const all = [...sentAt]
    .map(([seq, t0]) => {
      const c = copies.get(seq);
      return c && c.n >= n ? c.last - t0 : undefined;
    })
    .filter((x) => x !== undefined)
    .sort((a, b) => a - b);
  acks.sort((a, b) => a - b);
  const received = sockets.reduce((k, s) => k + s.message, 0);
  const lastCopy = Math.max(...[...copies.values()].map((c) => c.last));
  return {
    ...(offered !== undefined ? { offered } : {}),
    sent,
    accepted: sentAt.size,
    refused,
    acceptedPerSecond: sentAt.size / ((lastAck - started) / 1000),
    deliveredPerSecond: received / ((lastCopy - started) / 1000),
    incomplete: pending(),
    ackP50: percentile(acks, 50),
    ackP99: percentile(acks, 99),
    allP50: percentile(all, 50),
    allP99: percentile(all, 99),
    objects: perMessage(before, after),
  };
}

interface LargeResult {
  config: LargeConfig;
  /** Where the sockets ended up: the room's own, and per shard. */
  placed: { room: number; shards: number[] };
  fixed?: LargeRun;
  closed?: LargeRun;
  error?: string;
}

async function largeRoom(env: BenchEnv, admin: string, config: LargeConfig): Promise<LargeResult> {
  const result: LargeResult = { config, placed: { room: 0, shards: [] } };
  const app = await env.startApp({
    CHAT_ROOM_SOCKETS: String(config.roomSockets),
    CHAT_SHARD_SOCKETS: String(config.shardSockets),
    // Few senders offer the whole rate: the per-member limit is not what is measured here.
    CHAT_SEND_BURST: "100000",
    CHAT_SEND_PER_SECOND: "10000",
  });
  let sockets: Counted[] = [];
  try {
    const appEnv = { ...env, appUrl: app.url };
    const members = Math.ceil(config.sockets / SOCKETS_PER_USER);
    const { festivalId, users, wsUrl } = await chatRoomWithMembers(
      appEnv,
      `벤치 대형 채팅 ${config.name}`,
      members,
    );
    // Every member's first socket, then their second, and so on: only a member's first socket is
    // announced (presence `joined` to every socket), so the announcements go out while the room is
    // small, not to ~N/2 sockets each (which made connecting 2,000 sockets take minutes here).
    const urls = Array.from({ length: SOCKETS_PER_USER }, () =>
      users.map((u) => ({ url: wsUrl, headers: { authorization: `Bearer ${u.token}` } })),
    ).flat();
    const t0 = performance.now();
    sockets = await connectAll(urls.slice(0, config.sockets), { concurrency: 8, quietMs: 120_000 });
    const counters = () => fanout(app.url, admin, festivalId);
    const at = await counters();
    result.placed = { room: at.roomSockets, shards: at.shards.map((s) => s.sockets) };
    console.log(
      `${config.name}, ${config.sockets} sockets: connected in ${fmt((performance.now() - t0) / 1000)} s; room ${at.roomSockets}, shards [${result.placed.shards.join(", ")}]`,
    );
    const total = Math.round(OFFERED_RATE * OFFERED_SECONDS);
    result.fixed = await largeWindow(
      sockets,
      counters,
      async (send) => {
        const start = performance.now();
        const sends: Promise<void>[] = [];
        for (let i = 0; i < total; i++) {
          await sleep(Math.max(0, start + (i * 1000) / OFFERED_RATE - performance.now()));
          sends.push(send(i));
        }
        await Promise.all(sends);
      },
      OFFERED_RATE,
    );
    console.log(`  fixed ${OFFERED_RATE} msgs/s: ${summary(result.fixed)}`);
    result.closed = await largeWindow(sockets, counters, async (send) => {
      let next = 0;
      const sender = async () => {
        while (next < CLOSED_MESSAGES) await send(next++);
      };
      await Promise.all(Array.from({ length: SENDERS }, sender));
    });
    console.log(`  closed loop: ${summary(result.closed)}`);
  } catch (err) {
    result.error = err instanceof Error ? err.message : String(err);
    console.error(`${config.name}, ${config.sockets} sockets: ${result.error}`);
  } finally {
    for (const s of sockets) s.ws.terminate();
    await app.stop();
  }
  return result;
}

const summary = (r: LargeRun) =>
  `${fmt(r.acceptedPerSecond)} accepted msgs/s, ${fmt(r.deliveredPerSecond, 0)} copies/s delivered${r.incomplete ? ` (${r.incomplete} incomplete)` : ""}, send→all p50 ${fmt(r.allP50, 0)} ms p99 ${fmt(r.allP99, 0)} ms; room ${fmt(r.objects.roomFrames, 1)} frames + ${fmt(r.objects.shardCalls, 2)} shard calls per msg`;

/** Per shard, per message: "deliveries / frames" of each shard, in shard order. */
const shardCells = (o: PerMessage) =>
  o.shards.length ? o.shards.map((s) => `${fmt(s.deliveries, 2)} / ${fmt(s.frames, 0)}`).join(" · ") : "—";

function largeTable(results: LargeResult[], phase: "fixed" | "closed"): string[] {
  return [
    "| room | sockets (room + shards) | accepted msgs/s | delivered copies/s | send→ack p50 / p99 ms | send→all sockets p50 / p99 ms | room object: socket frames per msg | room object: shard calls per msg | each shard: deliver calls / socket frames per msg |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ...results.map((r) => {
      const where = `${r.config.sockets} (${r.placed.room}${r.placed.shards.length ? ` + ${r.placed.shards.join(" + ")}` : ""})`;
      const run = r[phase];
      if (!run)
        return `| ${r.config.name} | ${where} | ${r.error ? `failed: ${r.error}` : "—"} | | | | | | |`;
      const extra = [
        run.refused ? `${run.refused} refused` : "",
        run.incomplete ? `${run.incomplete} msgs not on every socket` : "",
      ]
        .filter(Boolean)
        .join(", ");
      return `| ${r.config.name} | ${where} | ${fmt(run.acceptedPerSecond)}${extra ? ` (${extra})` : ""} | ${fmt(run.deliveredPerSecond, 0)} | ${fmt(run.ackP50, 0)} / ${fmt(run.ackP99, 0)} | ${fmt(run.allP50, 0)} / ${fmt(run.allP99, 0)} | ${fmt(run.objects.roomFrames, 2)} | ${fmt(run.objects.shardCalls, 2)} | ${shardCells(run.objects)} |`;
    }),
  ];
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

/** BENCH_CHAT_LARGE=0 skips the large room; BENCH_CHAT_SATURATION=0 skips the comparison at saturation. */
const LARGE = process.env.BENCH_CHAT_LARGE !== "0";
const SATURATION = process.env.BENCH_CHAT_SATURATION !== "0";

interface Comparison {
  node: Saturation;
  rounds: { minimal: Saturation; room: Saturation }[];
  ratios: number[];
  ratio: number;
  /** All rounds pooled: (Σ accepted ÷ Σ seconds) of the ChatRoom over the same of the minimal object. */
  pooled: number;
  /** The round whose ratio is the median: it stands for each server in the summary table. */
  mid: { minimal: Saturation; room: Saturation };
}

async function compare(env: BenchEnv): Promise<Comparison> {
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
  for (let r = 0; r < ROUNDS; r++) {
    const minimal = await saturate(minimalSockets, `min${r}`);
    const room = await saturate(roomSockets, `room${r}`);
    rounds.push({ minimal, room });
    console.log(
      `round ${r + 1}: minimal ${fmt(minimal.acceptedPerSecond)} msgs/s, ChatRoom ${fmt(room.acceptedPerSecond)} msgs/s, ratio ${fmt(room.acceptedPerSecond / minimal.acceptedPerSecond, 2)}`,
    );
  }
  for (const s of [...minimalSockets, ...roomSockets]) s.ws.close();
  const ratios = rounds.map((r) => r.room.acceptedPerSecond / r.minimal.acceptedPerSecond);
  const ratio = median(ratios);
  const mid = rounds[ratios.indexOf(ratio)] as Comparison["mid"];
  const rate = (xs: Saturation[]) =>
    xs.reduce((n, x) => n + x.accepted, 0) / xs.reduce((t, x) => t + x.seconds, 0);
  const pooled = rate(rounds.map((r) => r.room)) / rate(rounds.map((r) => r.minimal));
  return { node, rounds, ratios, ratio, mid, pooled };
}

function comparisonLines(c: Comparison): string[] {
  const row = (name: string, r: Saturation, base?: Saturation) =>
    `| ${name} | ${r.accepted}${r.refused ? ` (+${r.refused} refused)` : ""} | ${fmt(r.acceptedPerSecond)} | ${fmt(r.deliveredPerSecond, 0)}${r.complete ? "" : " (incomplete)"} | ${fmt(r.ackP50)} | ${fmt(r.ackP99)} | ${fmt(r.frames.ack + r.frames.message + r.frames.other, 1)} (${fmt(r.frames.ack, 1)} ack + ${fmt(r.frames.message, 1)} message${r.frames.other ? ` + ${fmt(r.frames.other, 1)} other` : ""}) | ${base ? `**${fmt(r.acceptedPerSecond / base.acceptedPerSecond, 2)}**` : "—"} |`;
  return [
    `### At saturation: 1 room, ${MEMBERS} members all sending`,
    "",
    `${MEMBERS} WebSocket members in one room, every one sending ${PER_MEMBER} messages per round closed loop: the next as soon as its ack is back. Every message goes to all ${MEMBERS} sockets (the sender included). Accepted msgs/s = acks / (first send → last ack); delivered = message copies received by all sockets per second. Frames per message are counted on the client side over the measured window, per socket: everything the room's object sent for one accepted message. ${ROUNDS} rounds, the minimal object and the ChatRoom alternating back to back (the run raises the per-member send limit, CHAT_SEND_BURST / CHAT_SEND_PER_SECOND, so no round waits for a refill; the room still checks it for every message); the ratio is the median round's. The ChatRoom here is one object (${MEMBERS} sockets, under CHAT_ROOM_SOCKETS = 500): the room as it starts, before it has shards.`,
    "",
    `**ChatRoom ÷ minimal broadcast object, accepted msgs/s at saturation: ${fmt(c.ratio, 2)}** (median round; goal ≥ 0.9; rounds: ${c.ratios.map((x) => fmt(x, 2)).join(", ")}; all rounds pooled, Σ accepted ÷ Σ time: ${fmt(c.pooled, 2)}). On this shared machine a round's ratio moves with the other jobs' load (here ${fmt(Math.min(...c.ratios), 2)} to ${fmt(Math.max(...c.ratios), 2)}): read the median and the pooled figure, not one round.`,
    "",
    "| server | accepted | accepted msgs/s | delivered copies/s | ack p50 ms | ack p99 ms | frames the object sent per message | ÷ minimal object |",
    "| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: |",
    row("Node `ws` broadcast (no auth, no storage)", c.node, c.mid.minimal),
    row(
      "minimal broadcast Durable Object (bench/broadcast: accept, SQLite insert, ack, broadcast)",
      c.mid.minimal,
    ),
    row("the project's ChatRoom", c.mid.room, c.mid.minimal),
    "",
    "| round | minimal object msgs/s | ChatRoom msgs/s | ratio |",
    "| ---: | ---: | ---: | ---: |",
    ...c.rounds.map(
      (r, i) =>
        `| ${i + 1} | ${fmt(r.minimal.acceptedPerSecond)} | ${fmt(r.room.acceptedPerSecond)} | ${fmt(c.ratios[i] as number, 2)} |`,
    ),
  ];
}

function largeLines(results: LargeResult[]): string[] {
  return [
    `### Large room: ${LARGE_SOCKETS.toLocaleString("en")} sockets, one object vs all sockets on 1, 2, 4 shards`,
    "",
    `${LARGE_SOCKETS.toLocaleString("en")} sockets in one room (${SOCKETS_PER_USER} per member, the per-user cap), each configuration on its own \`wrangler dev\` of the app: one object (CHAT_ROOM_SOCKETS = ${LARGE_SOCKETS}), and CHAT_ROOM_SOCKETS = 0 with CHAT_SHARD_SOCKETS = sockets ÷ shards for 1, 2 and 4 shards${process.env.BENCH_CHAT_GROWTH === "0" ? "" : `; then 2 shards at ${LARGE_SOCKETS / 4} and ${LARGE_SOCKETS / 2} sockets, to see the room's work per message as sockets grow`}. ${SENDERS} members send (CHAT_SEND_BURST / CHAT_SEND_PER_SECOND raised by vars so few senders can offer the rate); every message goes to every socket, the senders' included. Two windows per configuration: a fixed offered rate of ${OFFERED_RATE} msgs/s for ${OFFERED_SECONDS} s (open loop), then ${CLOSED_MESSAGES} messages closed loop (each sender's next message as soon as its ack is back: saturation). Delivered copies/s = message frames received across all sockets ÷ (first send → last copy); send→all = until the last socket has the message. Per-object figures come from GET /v1/admin/chat/rooms/{id}, read before and after each window: frames the room object wrote to its own sockets, its deliver calls to shards, and per shard its deliver calls and socket frames, each ÷ messages accepted in the window.`,
    "",
    `**Fixed offered rate, ${OFFERED_RATE} msgs/s:**`,
    "",
    ...largeTable(results, "fixed"),
    "",
    `**Closed loop (saturation), ${CLOSED_MESSAGES} messages from ${SENDERS} senders** — the delivery curve is the delivered copies/s column for one object, 1, 2 and 4 shards:`,
    "",
    ...largeTable(results, "closed"),
  ];
}

export async function run(env: BenchEnv) {
  const loadBefore = loadavg()[0] as number;
  const comparison = SATURATION ? await compare(env) : undefined;
  const loadMid = loadavg()[0] as number;
  const large: LargeResult[] = [];
  if (LARGE) {
    const admin = await adminToken(env);
    for (const config of largeConfigs()) large.push(await largeRoom(env, admin, config));
  }
  const settings = Object.entries(process.env)
    .filter(([k]) => k.startsWith("BENCH_CHAT_"))
    .map(([k, v]) => `${k}=${v}`);

  const machine = `Machine load average (1 min) ${fmt(loadBefore)} at the start, ${fmt(loadMid)} after the comparison, ${fmt(loadavg()[0] as number)} at the end (other jobs share the machine: read the ratios and per-message counts; the minimal object and the ChatRoom alternate so both meet the same load).`;
  const settingsLine = settings.length
    ? [`Settings: \`${settings.join(" ")} npm run bench -- chat\`.`, ""]
    : [];
  // Two sections, each written only by a run that measured it: a run that skips one part
  // (BENCH_CHAT_LARGE=0, BENCH_CHAT_SATURATION=0) leaves the other part's last result in place.
  if (comparison) {
    await writeReport("chat", `Chat at saturation (${MEMBERS} members all sending)`, [
      ...settingsLine,
      machine,
      "",
      ...comparisonLines(comparison),
      "",
      ...capacityModel(comparison, []),
    ]);
  }
  if (large.length) {
    await writeReport("chat-large", `Chat: a ${LARGE_SOCKETS.toLocaleString("en")}-socket room over shards`, [
      ...settingsLine,
      machine,
      "",
      ...largeLines(large),
      "",
      ...capacityModel(comparison, large),
    ]);
  }
}

/** What the per-object figures say about production, and which parts are measured and which assumed. */
function capacityModel(c: Comparison | undefined, large: LargeResult[]): string[] {
  const lines = ["### Capacity model", ""];
  if (c) {
    const room = c.mid.room;
    const framesPerSecond = room.acceptedPerSecond * (room.frames.ack + room.frames.message);
    lines.push(
      `- **Measured (one object, ${MEMBERS} sockets):** the ChatRoom writes ≈ ${fmt(framesPerSecond, 0)} frames/s at saturation (the minimal object ≈ ${fmt(c.mid.minimal.acceptedPerSecond * (c.mid.minimal.frames.ack + c.mid.minimal.frames.message), 0)}), 1 ack + 1 copy per socket per message.`,
    );
  }
  const one = large.find((r) => r.config.roomSockets > 0 && r.closed);
  const sharded = large.filter(
    (r) => r.config.roomSockets === 0 && r.closed && r.config.sockets === LARGE_SOCKETS,
  );
  // One object writing to every socket of the room; a one-shard room's shard does the same work.
  const Fsource = one ?? sharded[0];
  const F = Fsource?.closed?.deliveredPerSecond;
  if (one?.closed) {
    lines.push(
      `- **Measured (one object, ${one.config.sockets} sockets):** ${fmt(one.closed.acceptedPerSecond)} msgs/s accepted at saturation, ${fmt(one.closed.deliveredPerSecond, 0)} copies/s delivered; the object writes ${fmt(one.closed.objects.roomFrames, 0)} frames per message (one per socket + the ack): its work per message grows with the room.`,
    );
  }
  if (sharded.length) {
    lines.push(
      `- **Measured (all sockets on shards):** the room object writes ${sharded.map((r) => fmt(r.closed?.objects.roomFrames ?? 0, 2)).join(" / ")} socket frames per message and makes ${sharded.map((r) => fmt(r.fixed?.objects.shardCalls ?? 0, 2)).join(" / ")} shard calls per message at ${OFFERED_RATE} msgs/s (${sharded.map((r) => fmt(r.closed?.objects.shardCalls ?? 0, 2)).join(" / ")} closed loop, where a busy room batches) for ${sharded.map((r) => r.config.name).join(" / ")}: one deliver call per shard per batch, whatever the sockets. The sequencer accepted ${sharded.map((r) => fmt(r.closed?.acceptedPerSecond ?? 0)).join(" / ")} msgs/s closed loop while the shards fanned out ${sharded.map((r) => fmt(r.closed?.deliveredPerSecond ?? 0, 0)).join(" / ")} copies/s in all (a sender's ack comes back through its own shard, which here shares the one thread with every shard's fan-out, so locally the accepted rate follows the fan-out).`,
    );
  }
  const growth = large
    .filter((r) => r.config.name === "2 shards" && r.fixed)
    .sort((a, b) => a.config.sockets - b.config.sockets);
  if (growth.length > 1) {
    lines.push(
      `- **Measured (2 shards as sockets grow, ${growth.map((r) => r.config.sockets).join(" → ")}):** room frames per message ${growth.map((r) => fmt(r.fixed?.objects.roomFrames ?? 0, 2)).join(" → ")}, shard calls per message ${growth.map((r) => fmt(r.fixed?.objects.shardCalls ?? 0, 2)).join(" → ")}; each shard's frames per message ${growth.map((r) => r.fixed?.objects.shards.map((s) => fmt(s.frames, 0)).join("+")).join(" → ")} (its own sockets).`,
    );
  }
  // The assumptions and this machine's limits are about the large room: the saturation section
  // (no large results) gets only its measured line.
  if (!large.length) return lines;
  lines.push(
    `- **Assumed (Cloudflare's documentation, not measurable on \`wrangler dev\`):** each object runs on its own thread and in production the shards of a room run in parallel (on different machines); a soft limit of about 1,000 requests/s per object (each incoming WebSocket message or RPC counts); at most 32,768 WebSockets per object; and a production object writes frames at least as fast as one here (workerd on a shared, busy 2-core machine with the ${LARGE_SOCKETS.toLocaleString("en")}-socket client on it: these are floors).`,
  );
  if (F) {
    // One layout of a room: sockets on the room object itself, the rest on shards of `perShard`.
    const layout = (members: number, roomSockets: number, perShard: number) => {
      const onShards = Math.max(0, members - roomSockets);
      const shards = Math.ceil(onShards / perShard);
      const biggest = Math.max(Math.min(roomSockets, members), Math.min(perShard, onShards));
      const bound = Math.min(1_000, F / biggest);
      const what =
        shards === 0
          ? "one object"
          : `${roomSockets.toLocaleString("en")} on the room object + ${shards} shards of ≤ ${perShard.toLocaleString("en")}`;
      return `| ${members.toLocaleString("en")} | ${what} | ${fmt(bound, 1)}${bound === 1_000 ? " (the sequencer's soft limit)" : ` (F ÷ ${biggest.toLocaleString("en")})`} | ${shards ? `≤ ${shards}` : "0"} |`;
    };
    lines.push(
      `- **Model:** an object writes about F frames/s, so a room delivers at most min(S, F ÷ P) messages/s to everyone, where P = the most sockets any one of its objects holds (the room object's own, up to CHAT_ROOM_SOCKETS, or a shard's, up to CHAT_SHARD_SOCKETS) and S = the sequencer's accept rate (assumed ≤ ~1,000 msgs/s, the per-object soft limit: each message reaches it as one request; beyond that its per-message work is one SQLite transaction and ≤ 1 deliver call per shard, flat in sockets as measured). F ≈ ${fmt(F, 0)} frames/s is measured above (${Fsource?.config.name}, ${Fsource?.config.sockets} sockets; a floor for production). In production the shards run in parallel, so the bound is set by the largest object, not by the room's total:`,
      "",
      "| members online | layout | msgs/s to everyone, at most | sequencer deliver calls per message |",
      "| ---: | --- | ---: | ---: |",
      layout(10_000, 10_000, 5_000),
      layout(10_000, 500, 5_000),
      layout(10_000, 0, 1_000),
      layout(30_000, 30_000, 5_000),
      layout(30_000, 500, 5_000),
      layout(30_000, 0, 1_000),
      "",
      "  With the defaults (500 on the room object, 5,000 per shard) the room object also writes 500 frames per message; CHAT_ROOM_SOCKETS = 0 leaves it sequencing only. Smaller shards buy message rate with more deliver calls per message (they grow with shards, not sockets, and batch when the room is busy); a 30,000-member room needs CHAT_MAX_SOCKETS_PER_ROOM raised from 10,000, and one object could not hold much more (32,768 WebSockets).",
      "",
    );
  }
  lines.push(
    "- **What this machine cannot show:** local workerd runs every object of the Worker on one thread (one isolate), and the client holding thousands of sockets shares the 2 cores, so more shards cannot add delivery throughput here: the 1/2/4-shard curve is flat or falls (each shard adds a deliver call per batch and its own socket writes on the same thread). What it does show is the per-object work: frames per message on the room object (≈ sockets when it holds them, ≈ 0 when shards do), deliver calls per message (≈ 1 per shard per batch), and each shard writing one frame per socket it holds — the figures the production model above is built on.",
  );
  return lines;
}
