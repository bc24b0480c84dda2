import { useEffect, useState } from "preact/hooks";
import { api, call, sessionStore } from "../api/client";
import { useT } from "../i18n";
import { Link } from "../router";
import { createStore, useStore } from "../store";
import { ErrorNote, formatDateTime, PageTitle, useLoad } from "../ui";

/** Unread notifications, for the badge in the menu; polled while signed in. */
export const unreadStore = createStore(0);
const POLL_MS = 30_000;

export function useUnreadPolling() {
  const session = useStore(sessionStore);
  useEffect(() => {
    if (!session) {
      unreadStore.set(0);
      return;
    }
    const poll = () =>
      call(() => api.GET("/v1/me/notifications/unread-count")).then(
        (r) => unreadStore.set(r.unreadCount),
        () => {},
      );
    void poll();
    const timer = setInterval(poll, POLL_MS);
    return () => clearInterval(timer);
  }, [session?.profile.id]);
}

/** Notifications and my chat rooms (with unread message counts). */
export function InboxPage() {
  const t = useT();
  const notes = useLoad(
    () => call(() => api.GET("/v1/me/notifications", { params: { query: { limit: 50 } } })),
    [],
  );
  const rooms = useLoad(() => call(() => api.GET("/v1/me/chat-rooms")), []);
  const [error, setError] = useState<unknown>();
  const readAll = async () => {
    try {
      await call(() => api.POST("/v1/me/notifications/read-all", { body: {} }));
      unreadStore.set(0);
      notes.reload();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <section>
      <PageTitle>{t("inbox.title")}</PageTitle>
      <h2>{t("inbox.rooms")}</h2>
      <ErrorNote error={rooms.error} />
      {rooms.data && !rooms.data.items.length && <p class="muted">{t("inbox.noRooms")}</p>}
      <ul class="cards">
        {rooms.data?.items.map((r) => (
          <li key={r.roomId} class="card">
            <Link href={`/festivals/${r.festivalId}/chat`}>{r.name}</Link>
            {r.unreadCount > 0 && (
              <span class="badge count">
                {r.unreadCount}
                <span class="visually-hidden"> {t("inbox.unread")}</span>
              </span>
            )}
            {r.lastMessage && (
              <p class="muted">
                {r.lastMessage.nickname}: {r.lastMessage.text}
              </p>
            )}
          </li>
        ))}
      </ul>
      <h2>{t("inbox.notifications")}</h2>
      <ErrorNote error={notes.error ?? error} />
      {notes.data && notes.data.unreadCount > 0 && (
        <button type="button" class="secondary" onClick={() => void readAll()}>
          {t("inbox.readAll")}
        </button>
      )}
      {notes.data && !notes.data.items.length && <p class="muted">{t("inbox.none")}</p>}
      <ul class="cards">
        {notes.data?.items.map((n) => (
          <li key={n.id} class={`card${n.readAt ? "" : " unread"}`}>
            <h3>{n.title}</h3>
            <p>{n.body}</p>
            <p class="muted">
              <time dateTime={n.createdAt}>{formatDateTime(n.createdAt, t.lang)}</time>
              {!n.readAt && ` · ${t("inbox.unread")}`}
            </p>
          </li>
        ))}
      </ul>
    </section>
  );
}
