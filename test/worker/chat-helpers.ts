import { env, runDurableObjectAlarm, SELF } from "cloudflare:test";
import type {
  ChatMessage,
  ClientFrame,
  ServerFrame,
} from "../../durable-objects/chat-room/contract/protocol";
import { createChatRoom, joinChatRoom, roomStub } from "../../workers/api/chat/rooms";
import { getServices } from "../../workers/lib/services";
import { createFestival, createUsers, type SeededUser } from "./fixtures";

export const services = () => getServices(env);

/** A festival with its room, plus `memberCount` users who joined it. */
export async function chatFestival(memberCount = 2): Promise<{ festivalId: number; members: SeededUser[] }> {
  const { id } = await createFestival({ title: `채팅 축제 ${crypto.randomUUID().slice(0, 8)}` });
  await createChatRoom(services(), { id, title: "채팅 축제" });
  const members = memberCount ? await createUsers(memberCount) : [];
  for (const m of members) await joinChatRoom(services(), id, m.id);
  return { festivalId: id, members };
}

export const stubOf = (festivalId: number) => roomStub(festivalId, env.CHAT_ROOM);

type FrameOf<T extends ServerFrame["type"]> = Extract<ServerFrame, { type: T }>;

/** A WebSocket client that records every frame and can wait for one matching a predicate. */
export class ChatClient {
  readonly ws: WebSocket;
  readonly frames: ServerFrame[] = [];
  closed: { code: number; reason: string } | undefined;
  readonly #waiters = new Set<() => void>();

  constructor(ws: WebSocket) {
    this.ws = ws;
    ws.addEventListener("message", (e) => {
      this.frames.push(JSON.parse(e.data as string) as ServerFrame);
      this.#wake();
    });
    ws.addEventListener("close", (e) => {
      this.closed = { code: e.code, reason: e.reason };
      this.#wake();
    });
    ws.accept();
  }

  #wake() {
    for (const w of this.#waiters) w();
  }

  send(frame: ClientFrame | Record<string, unknown>) {
    this.ws.send(JSON.stringify(frame));
  }

  /** The first recorded frame (from index `from`) matching `pred`, waiting up to `timeoutMs`. */
  async waitFor<T extends ServerFrame>(
    pred: (f: ServerFrame) => f is T,
    opts?: { from?: number; timeoutMs?: number },
  ): Promise<T>;
  async waitFor(
    pred: (f: ServerFrame) => boolean,
    opts?: { from?: number; timeoutMs?: number },
  ): Promise<ServerFrame>;
  async waitFor(
    pred: (f: ServerFrame) => boolean,
    { from = 0, timeoutMs = 5000 } = {},
  ): Promise<ServerFrame> {
    const find = () => this.frames.slice(from).find(pred);
    const found = find();
    if (found) return found;
    return new Promise((resolve, reject) => {
      const check = () => {
        const f = find();
        if (f) done(() => resolve(f));
        else if (this.closed)
          done(() => reject(new Error(`socket closed (${this.closed?.code}) while waiting`)));
      };
      const timer = setTimeout(
        () =>
          done(() =>
            reject(new Error(`no matching frame in ${timeoutMs} ms; got ${JSON.stringify(this.frames)}`)),
          ),
        timeoutMs,
      );
      const done = (settle: () => void) => {
        clearTimeout(timer);
        this.#waiters.delete(check);
        settle();
      };
      this.#waiters.add(check);
    });
  }

  waitType<T extends ServerFrame["type"]>(type: T, more: (f: FrameOf<T>) => boolean = () => true, from = 0) {
    return this.waitFor((f): f is FrameOf<T> => f.type === type && more(f as FrameOf<T>), { from });
  }

  messages(): ChatMessage[] {
    return this.frames.filter((f): f is FrameOf<"message"> => f.type === "message");
  }

  /** Sends and waits for the ack (or the error) answering this clientMsgId. */
  async say(
    text: string,
    clientMsgId: string = crypto.randomUUID(),
  ): Promise<FrameOf<"ack"> | FrameOf<"error">> {
    const from = this.frames.length;
    this.send({ type: "send", clientMsgId, text });
    return this.waitFor(
      (f): f is FrameOf<"ack"> | FrameOf<"error"> =>
        (f.type === "ack" || f.type === "error") && f.clientMsgId === clientMsgId,
      { from },
    );
  }

  /** Resolves with the close the server sent (waits up to `timeoutMs`). */
  async closedBy(timeoutMs = 5000): Promise<{ code: number; reason: string }> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    if (!this.closed) throw new Error(`socket still open after ${timeoutMs} ms`);
    return this.closed;
  }

  async close() {
    if (this.closed) return;
    const closed = new Promise<void>((resolve) => this.ws.addEventListener("close", () => resolve()));
    this.ws.close(1000, "bye");
    await closed;
  }
}

/** Opens the chat socket through the public route; `client` is set only when the upgrade succeeded. */
export async function connect(
  festivalId: number,
  token: string | undefined,
  opts: { via?: "header" | "protocol"; headers?: Record<string, string>; after?: number } = {},
) {
  const headers: Record<string, string> = { Upgrade: "websocket", ...opts.headers };
  if (token && opts.via === "protocol") headers["Sec-WebSocket-Protocol"] = `somsom.chat.v1, bearer.${token}`;
  else if (token) headers.Authorization = `Bearer ${token}`;
  const query = opts.after === undefined ? "" : `?after=${opts.after}`;
  const res = await SELF.fetch(`http://somsom.test/v1/festivals/${festivalId}/chat${query}`, { headers });
  const client = res.webSocket ? new ChatClient(res.webSocket) : undefined;
  return { res, client };
}

/** Connects and waits for the welcome frame; fails the test if the upgrade was refused. */
export async function join(festivalId: number, user: { token: string }, opts: { after?: number } = {}) {
  const { res, client } = await connect(festivalId, user.token, opts);
  if (!client) throw new Error(`upgrade refused: ${res.status} ${await res.text()}`);
  const welcome = await client.waitType("welcome");
  return { client, welcome };
}

/**
 * Polls until `check` passes, running the room's pending alarm first each time: the write-through
 * to MySQL is debounced, and the alarm is what performs it.
 */
export async function eventually<T>(
  read: () => Promise<T>,
  check: (v: T) => boolean,
  opts: { flushRoom?: number; timeoutMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 8000);
  for (;;) {
    if (opts.flushRoom !== undefined) await runDurableObjectAlarm(stubOf(opts.flushRoom));
    const value = await read();
    if (check(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
}
