import { useEffect, useLayoutEffect, useMemo, useRef, useState } from "preact/hooks";
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
  const sentinel = useRef<HTMLLIElement>(null);

  useEffect(() => {
    call(() => api.POST("/v1/festivals/{id}/chat/members", { params: { path: { id: props.id } } })).then(
      () => void conn.connect(),
      setJoinError,
    );
    return () => conn.close();
  }, [conn, props.id]);

  const firstSeq = state.messages[0]?.seq ?? 0;
  const lastSeq = state.messages.at(-1)?.seq ?? 0;
  // What the list looked like after the last render, for the reading position below.
  const seen = useRef({ first: 0, last: 0, pending: 0, height: 0, atBottom: true });
  // The reader stays where they are: history prepended above moves the scroll by exactly its height,
  // so the lines on screen do not jump; a new line at the end scrolls into view only for a reader
  // already at the bottom, or when it is one's own. (Browser scroll anchoring is off for this list in
  // the CSS, so the two cannot both adjust.)
  useLayoutEffect(() => {
    const el = list.current;
    const was = seen.current;
    if (!el) return;
    if (was.first && firstSeq < was.first) el.scrollTop += el.scrollHeight - was.height;
    else if (state.pending.length > was.pending || (lastSeq !== was.last && was.atBottom))
      el.scrollTop = el.scrollHeight;
  }, [firstSeq, lastSeq, state.pending.length]);
  useLayoutEffect(() => {
    const el = list.current;
    Object.assign(seen.current, {
      first: firstSeq,
      last: lastSeq,
      pending: state.pending.length,
      height: el?.scrollHeight ?? 0,
    });
  });

  // History loads upward as you scroll: when the top of the list comes near, the page before it is
  // fetched. Observed again after every page, so a short page that leaves the top in view loads on.
  useEffect(() => {
    const root = list.current;
    const el = sentinel.current;
    if (!root || !el || !state.hasOlder || state.loadingOlder) return;
    const io = new IntersectionObserver(
      (entries) => {
        if (entries.some((e) => e.isIntersecting)) void conn.loadOlder();
      },
      { root, rootMargin: "200px 0px 0px 0px" },
    );
    io.observe(el);
    return () => io.disconnect();
  }, [conn, state.hasOlder, state.loadingOlder, firstSeq]);

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
      {state.pinned && (
        <p class="pinned" role="note">
          📢 <strong>{t("chat.announcement")}</strong> {state.pinned.text}
        </p>
      )}
      <ol
        class="messages"
        ref={list}
        aria-label={t("chat.messages")}
        aria-busy={state.loadingOlder}
        // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must be reachable by keyboard
        tabIndex={0}
        onScroll={(e) => {
          const el = e.currentTarget;
          seen.current.atBottom = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
        }}
      >
        {state.hasOlder && (
          // The sentinel the observer watches; its button is the same action for keyboards and for
          // browsers that do not scroll the list.
          <li class="older" ref={sentinel}>
            <button
              type="button"
              class="secondary"
              disabled={state.loadingOlder}
              onClick={() => void conn.loadOlder()}
            >
              {state.loadingOlder ? t("loading") : `↑ ${t("chat.older")}`}
            </button>
          </li>
        )}
        {state.messages.map((m) => (
          <li
            key={m.seq}
            class={[m.userId === me ? "mine" : "", m.kind ?? "", m.deleted ? "deleted" : ""].join(" ").trim()}
            data-seq={m.seq}
          >
            <span class="who">{m.nickname}</span>{" "}
            <span class="text">{m.deleted ? t("chat.deleted") : m.text}</span>{" "}
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
        {latest && latest.userId !== me && !latest.deleted ? `${latest.nickname}: ${latest.text}` : ""}
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
