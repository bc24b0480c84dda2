import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { api, call, sessionStore } from "../api/client";
import { ChatConnection } from "../chat/connection";
import { errorText, useT } from "../i18n";
import { Link } from "../router";
import { useStore } from "../store";
import { ErrorNote, PageTitle, useLoad } from "../ui";

const timeOf = (iso: string, lang: string) =>
  new Date(iso).toLocaleTimeString(lang === "ko" ? "ko-KR" : "en-GB", { hour: "2-digit", minute: "2-digit" });

/** A festival's live chat room: joins (idempotent), connects, and keeps the view gap-free. */
export function ChatPage(props: { id: number }) {
  const t = useT();
  const session = useStore(sessionStore);
  const festival = useLoad(
    () => call(() => api.GET("/v1/festivals/{festivalId}", { params: { path: { festivalId: props.id } } })),
    [props.id],
  );
  const [joinError, setJoinError] = useState<unknown>();
  const conn = useMemo(() => new ChatConnection(props.id), [props.id]);
  const state = useStore(conn.state);
  const [text, setText] = useState("");
  const list = useRef<HTMLOListElement>(null);

  useEffect(() => {
    call(() => api.POST("/v1/festivals/{id}/chat/members", { params: { path: { id: props.id } } })).then(
      () => void conn.connect(),
      setJoinError,
    );
    return () => conn.close();
  }, [conn, props.id]);

  // Keep the newest message in view as messages arrive.
  useEffect(() => {
    const el = list.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [state.messages.length]);

  const send = (e: Event) => {
    e.preventDefault();
    const body = text.trim();
    if (!body) return;
    conn.send(body);
    setText("");
  };
  const me = session?.profile.id;
  const latest = state.messages.at(-1);
  const typing = state.typing.filter((x) => x.until > Date.now() && x.userId !== me);

  return (
    <section class="chat">
      <PageTitle>
        {t("chat.title")}
        {festival.data ? `: ${festival.data.title}` : ""}
      </PageTitle>
      <p>
        <Link href={`/festivals/${props.id}`}>← {festival.data?.title ?? `#${props.id}`}</Link>
      </p>
      <ErrorNote error={joinError} />
      <p class={`status status-${state.status}`} role="status" data-testid="chat-status">
        {state.status === "open"
          ? `${t("chat.connected")} · ${t("chat.online")} ${state.online.length}`
          : state.status === "offline"
            ? t("chat.offline")
            : t("chat.connecting")}
      </p>
      {state.hasOlder && (
        <button type="button" class="secondary" onClick={() => void conn.loadOlder()}>
          ↑ {t("chat.older")}
        </button>
      )}
      {/* biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must be reachable by keyboard */}
      <ol class="messages" ref={list} aria-label={t("chat.messages")} tabIndex={0}>
        {state.messages.map((m) => (
          <li key={m.seq} class={m.userId === me ? "mine" : ""} data-seq={m.seq}>
            <span class="who">{m.nickname}</span> <span class="text">{m.text}</span>{" "}
            <time dateTime={m.sentAt}>{timeOf(m.sentAt, t.lang)}</time>
          </li>
        ))}
        {state.pending.map((p) => (
          <li key={p.clientMsgId} class="mine pending">
            <span class="text">{p.text}</span> <span class="muted">({t("chat.pending")})</span>
          </li>
        ))}
      </ol>
      {/* Screen readers hear each new message once, not the whole list again. */}
      <p class="visually-hidden" aria-live="polite">
        {latest && latest.userId !== me ? `${latest.nickname}: ${latest.text}` : ""}
      </p>
      <p class="muted typing" aria-live="polite">
        {typing.length ? `${typing.map((x) => x.nickname).join(", ")} ${t("chat.typing")}` : ""}
      </p>
      {state.error && (
        <p class="error" role="alert">
          {errorText(t.lang, state.error)}
        </p>
      )}
      <form class="composer" onSubmit={send}>
        <label for="chat-input" class="visually-hidden">
          {t("chat.input")}
        </label>
        <input
          id="chat-input"
          autocomplete="off"
          maxLength={1000}
          value={text}
          placeholder={t("chat.input")}
          onInput={(e) => {
            setText(e.currentTarget.value);
            conn.typing();
          }}
        />
        <button type="submit">{t("chat.send")}</button>
      </form>
    </section>
  );
}
