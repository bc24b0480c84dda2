import { CLOSE } from "../../../durable-objects/chat-room/contract/close-codes";
import type {
  ChatMessage,
  ClientFrame,
  OnlineUser,
  ServerFrame,
} from "../../../durable-objects/chat-room/contract/protocol";
import { ApiError, api, call, sessionStore } from "../api/client";
import { createStore } from "../store";

export type { ChatMessage, OnlineUser };

export interface Pending {
  clientMsgId: string;
  text: string;
}

export interface ChatState {
  status: "connecting" | "open" | "offline";
  /** Ordered by seq, each seq once: replays and resumes merge into it, so nothing shows twice. */
  messages: ChatMessage[];
  pending: Pending[];
  online: OnlineUser[];
  typing: { userId: number; nickname: string; until: number }[];
  /** Whether older history exists before the first message held. */
  hasOlder: boolean;
  /** A page of older history is on its way: the list does not ask for the same page twice. */
  loadingOlder: boolean;
  /** The organiser's pinned announcement, shown above the messages. */
  pinned?: ChatMessage | null;
  /** The last chat error frame (rate limit, too long…), for the page to say. */
  error?: { code: string; message: string };
}

const RECONNECT_MAX_MS = 10_000;

/**
 * One festival room's live connection. The browser cannot send an Authorization header on a
 * WebSocket, so the token rides in the subprotocol list (`somsom.chat.v1, bearer.<jwt>`). After any
 * drop it reconnects with `?after=<last seq held>`, and the welcome carries exactly what it missed
 * (or says the gap is too long: then it comes from the history), so nothing arrives twice;
 * unacknowledged sends are sent again with the same clientMsgId, which the room stores only once.
 */
export class ChatConnection {
  readonly state = createStore<ChatState>({
    status: "connecting",
    messages: [],
    pending: [],
    online: [],
    typing: [],
    hasOlder: false,
    loadingOlder: false,
  });
  private ws?: WebSocket;
  private closed = false;
  private attempts = 0;
  private retryTimer?: ReturnType<typeof setTimeout>;
  private lastTypingSent = 0;
  private readonly festivalId: number;

  constructor(festivalId: number) {
    this.festivalId = festivalId;
    addEventListener("online", this.onOnline);
    addEventListener("offline", this.onOffline);
  }

  private patch(p: Partial<ChatState>) {
    this.state.set({ ...this.state.get(), ...p });
  }

  private get lastSeq() {
    return this.state.get().messages.at(-1)?.seq ?? 0;
  }

  private onOnline = () => {
    clearTimeout(this.retryTimer);
    this.attempts = 0;
    void this.connect();
  };

  /** The browser knows it lost the network before the socket does: say so and stop waiting on it. */
  private onOffline = () => {
    clearTimeout(this.retryTimer);
    this.ws?.close();
    this.ws = undefined;
    this.patch({ status: "offline" });
  };

  async connect() {
    if (this.closed || (this.ws && this.ws.readyState <= WebSocket.OPEN)) return;
    if (!navigator.onLine) {
      this.patch({ status: "offline" });
      return;
    }
    this.patch({ status: "connecting" });
    // A fresh access token (the call refreshes an expired one): the upgrade cannot answer 401 in a way
    // the browser shows.
    try {
      await call(() => api.GET("/v1/me"));
    } catch {
      // Offline or signed out: the socket attempt below fails and retries.
    }
    const token = sessionStore.get()?.accessToken ?? "";
    const url = new URL(`/v1/festivals/${this.festivalId}/chat`, location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    if (this.lastSeq) url.searchParams.set("after", String(this.lastSeq));
    const ws = new WebSocket(url, ["somsom.chat.v1", `bearer.${token}`]);
    this.ws = ws;
    ws.onmessage = (e) => this.onFrame(JSON.parse(String(e.data)) as ServerFrame);
    ws.onclose = (e) => {
      if (this.ws !== ws) return;
      this.ws = undefined;
      this.patch({ status: "offline" });
      // An expired token: reconnect now (connect() refreshes it). Left, signed out, banned or refused
      // as abusive: reconnecting would only be refused again.
      if (e.code === CLOSE.tokenExpired.code) this.attempts = 0;
      else if (
        e.code === CLOSE.left.code ||
        e.code === CLOSE.sessionRevoked.code ||
        e.code === CLOSE.banned.code ||
        e.code === CLOSE.abuse.code
      ) {
        this.patch({ error: { code: `chat.closed.${e.code}`, message: e.reason } });
        return;
      }
      this.scheduleReconnect();
    };
  }

  private scheduleReconnect() {
    if (this.closed || !navigator.onLine) return;
    const delay = Math.min(RECONNECT_MAX_MS, 500 * 2 ** this.attempts++) * (0.5 + Math.random() / 2);
    this.retryTimer = setTimeout(() => void this.connect(), delay);
  }

  private sendFrame(frame: ClientFrame) {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(frame));
  }

  private merge(incoming: ChatMessage[]) {
    const bySeq = new Map(this.state.get().messages.map((m) => [m.seq, m]));
    for (const m of incoming) bySeq.set(m.seq, m);
    return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
  }

  private onFrame(frame: ServerFrame) {
    switch (frame.type) {
      case "welcome": {
        const had = this.lastSeq;
        this.attempts = 0;
        const first = frame.messages[0]?.seq;
        // `resumed` (a server that read our `after`): the welcome holds exactly the gap, or says it is
        // too long for it. Without it (a first connect, or a server of the previous version) the
        // welcome's recent messages are the view, and after a drop `resume` fills the gap.
        this.patch({
          status: "open",
          online: frame.online,
          // A room of the previous version sends no `pinned`: keep what we had.
          ...(frame.pinned !== undefined ? { pinned: frame.pinned } : {}),
          messages:
            had && frame.resumed === undefined ? this.state.get().messages : this.merge(frame.messages),
          hasOlder: had ? this.state.get().hasOlder : first !== undefined && first > 1,
        });
        if (frame.resumed === false) void this.fillGap(had);
        else if (had && frame.resumed === undefined && frame.lastSeq > had)
          this.sendFrame({ type: "resume", afterSeq: had });
        for (const p of this.state.get().pending) this.sendFrame({ type: "send", ...p });
        this.markRead();
        break;
      }
      case "message": {
        const { type: _, ...m } = frame;
        const had = this.lastSeq;
        this.patch({ messages: this.merge([m]), ...(m.kind === "announcement" ? { pinned: m } : {}) });
        // A jump in seq is a frame lost on the way (a room's shard out of reach for long): the room
        // replays the gap from its buffer, or says it is too old and the history fills it.
        if (had && m.seq > had + 1) this.sendFrame({ type: "resume", afterSeq: had });
        this.markRead();
        break;
      }
      case "deleted": {
        const { messages, pinned } = this.state.get();
        this.patch({
          messages: messages.map((m) => (m.seq === frame.seq ? { ...m, text: "", deleted: true } : m)),
          ...(pinned?.seq === frame.seq ? { pinned: null } : {}),
        });
        break;
      }
      case "ack":
        this.patch({ pending: this.state.get().pending.filter((p) => p.clientMsgId !== frame.clientMsgId) });
        break;
      case "presence": {
        const others = this.state.get().online.filter((u) => u.userId !== frame.userId);
        this.patch({
          online:
            frame.event === "joined"
              ? [...others, { userId: frame.userId, nickname: frame.nickname }]
              : others,
        });
        break;
      }
      case "typing": {
        const who = this.state.get().online.find((u) => u.userId === frame.userId);
        const rest = this.state.get().typing.filter((x) => x.userId !== frame.userId && x.until > Date.now());
        this.patch({
          typing: [
            ...rest,
            { userId: frame.userId, nickname: who?.nickname ?? "", until: Date.now() + 3_000 },
          ],
        });
        break;
      }
      case "error":
        if (frame.code === "resume.too_old") void this.fillGap();
        else {
          if (frame.clientMsgId)
            this.patch({
              pending: this.state.get().pending.filter((p) => p.clientMsgId !== frame.clientMsgId),
            });
          this.patch({ error: { code: frame.code, message: frame.message } });
        }
        break;
    }
  }

  /** The gap is older than the room's buffer: read it from history, newest page first, down to what we hold. */
  private async fillGap(had = this.lastSeq) {
    let before: number | undefined;
    const got: ChatMessage[] = [];
    for (;;) {
      const page = await call(() =>
        api.GET("/v1/festivals/{id}/messages", {
          params: { path: { id: this.festivalId }, query: { before, limit: 100 } },
        }),
      );
      got.push(...page.items.filter((m): m is ChatMessage => m !== null && m.seq > had));
      const oldest = page.items.at(-1)?.seq;
      if (!page.nextCursor || oldest === undefined || oldest <= had + 1) break;
      before = oldest;
    }
    this.patch({ messages: this.merge(got) });
  }

  /**
   * The page of history just before the first message held. It merges by seq like everything else,
   * so a page that overlaps a resume or a live message cannot repeat one.
   */
  async loadOlder() {
    const { hasOlder, loadingOlder, messages } = this.state.get();
    if (!hasOlder || loadingOlder) return;
    this.patch({ loadingOlder: true });
    try {
      const page = await call(() =>
        api.GET("/v1/festivals/{id}/messages", {
          params: { path: { id: this.festivalId }, query: { before: messages[0]?.seq, limit: 50 } },
        }),
      );
      // The OpenAPI document marks ChatMessage nullable (it is reused as a room's nullable lastMessage).
      const items = page.items.filter((m): m is ChatMessage => m !== null);
      this.patch({ messages: this.merge(items), hasOlder: page.nextCursor !== null, loadingOlder: false });
    } catch (err) {
      const e = err instanceof ApiError ? err : new ApiError(0, { code: "unknown" });
      this.patch({ loadingOlder: false, error: { code: e.code, message: e.message } });
    }
  }

  send(text: string) {
    const p = { clientMsgId: crypto.randomUUID(), text };
    this.patch({ pending: [...this.state.get().pending, p], error: undefined });
    this.sendFrame({ type: "send", ...p });
  }

  typing() {
    if (Date.now() - this.lastTypingSent < 2_000) return;
    this.lastTypingSent = Date.now();
    this.sendFrame({ type: "typing" });
  }

  private markRead() {
    if (this.lastSeq && document.visibilityState === "visible")
      this.sendFrame({ type: "read", seq: this.lastSeq });
  }

  close() {
    this.closed = true;
    clearTimeout(this.retryTimer);
    removeEventListener("online", this.onOnline);
    removeEventListener("offline", this.onOffline);
    this.ws?.close();
  }
}
