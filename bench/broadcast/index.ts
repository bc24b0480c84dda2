import { DurableObject } from "cloudflare:workers";

/**
 * The chat benchmark's baseline (`npm run bench -- chat`): the least a Durable Object chat room does
 * for a message, the platform's own ceiling to hold the ChatRoom against. Accept the socket with the
 * Hibernation API, insert the message into SQLite, ack the sender (the output gate holds it until
 * the write is durable, as for the ChatRoom), broadcast the same frame shape the ChatRoom sends. No
 * auth, validation, dedupe, rate limit, outbox or presence.
 */
interface Env {
  ROOM: DurableObjectNamespace<BroadcastRoom>;
}

export class BroadcastRoom extends DurableObject<Env> {
  #seq: number;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const sql = ctx.storage.sql;
    sql.exec(`CREATE TABLE IF NOT EXISTS messages (
      seq INTEGER PRIMARY KEY, id TEXT NOT NULL, user_id INTEGER NOT NULL, text TEXT NOT NULL, sent_at INTEGER NOT NULL)`);
    this.#seq = sql.exec<{ seq: number | null }>("SELECT MAX(seq) AS seq FROM messages").one().seq ?? 0;
  }

  override async fetch(request: Request): Promise<Response> {
    const userId = Number(new URL(request.url).searchParams.get("user") ?? 0);
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server);
    server.serializeAttachment({ userId });
    return new Response(null, { status: 101, webSocket: client });
  }

  override async webSocketMessage(ws: WebSocket, raw: string | ArrayBuffer): Promise<void> {
    const frame = JSON.parse(raw as string) as { clientMsgId: string; text: string };
    const { userId } = ws.deserializeAttachment() as { userId: number };
    const seq = ++this.#seq;
    const id = crypto.randomUUID();
    const now = Date.now();
    this.ctx.storage.sql.exec(
      "INSERT INTO messages (seq, id, user_id, text, sent_at) VALUES (?, ?, ?, ?, ?)",
      seq,
      id,
      userId,
      frame.text,
      now,
    );
    ws.send(JSON.stringify({ type: "ack", clientMsgId: frame.clientMsgId, seq }));
    const out = JSON.stringify({
      type: "message",
      seq,
      id,
      userId,
      nickname: "bench",
      text: frame.text,
      sentAt: new Date(now).toISOString(),
    });
    for (const socket of this.ctx.getWebSockets()) socket.send(out);
  }

  override async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    ws.close(code === 1005 || code === 1006 ? 1000 : code);
  }
}

/** `/rooms/<name>?user=<id>` upgrades into that room; anything else answers, for the harness's start check. */
export default {
  fetch(request, env) {
    const name = new URL(request.url).pathname.match(/^\/rooms\/([\w-]+)$/)?.[1];
    if (!name || request.headers.get("upgrade") !== "websocket") return new Response("broadcast baseline");
    return env.ROOM.get(env.ROOM.idFromName(name)).fetch(request);
  },
} satisfies ExportedHandler<Env>;
