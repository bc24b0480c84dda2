import { useEffect, useState } from "preact/hooks";
import { api, call, type Schemas } from "../api/client";
import { useT } from "../i18n";
import { ErrorNote, formatDate, formatDateTime } from "../ui";

const POLL_MS = 10_000;

/**
 * The waitlist of sold-out days: join with a day and a quantity; when places free up the API holds
 * them for me for a while (the offer), and reserving the same day claims them.
 */
export function Waitlist(props: { festival: Schemas["Festival"]; quantity: number }) {
  const t = useT();
  const f = props.festival;
  const soldOut = f.days.filter((d) => d.remaining === 0);
  const [day, setDay] = useState(soldOut[0]?.date ?? "");
  const [entries, setEntries] = useState<Schemas["WaitlistEntry"][]>([]);
  const [error, setError] = useState<unknown>();
  const [round, setRound] = useState(0);
  const path = { festivalId: f.id };

  useEffect(() => {
    let live = true;
    const load = () =>
      call(() => api.GET("/v1/festivals/{festivalId}/waitlist/me", { params: { path } })).then(
        (r) => live && setEntries(r.items.filter((e) => e.status === "waiting" || e.status === "offered")),
        () => {},
      );
    void load();
    const timer = setInterval(load, POLL_MS);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, [f.id, round]);

  if (!soldOut.length && !entries.length) return null;
  const join = async (e: Event) => {
    e.preventDefault();
    try {
      await call(() =>
        api.POST("/v1/festivals/{festivalId}/waitlist", {
          params: { path },
          body: { day, quantity: props.quantity },
        }),
      );
      setError(undefined);
      setRound((r) => r + 1);
    } catch (err) {
      setError(err);
    }
  };
  return (
    <section class="queue" aria-labelledby="waitlist-title">
      <h2 id="waitlist-title">{t("waitlist.title")}</h2>
      <ul aria-live="polite">
        {entries.map((e) => (
          <li key={e.id}>
            {formatDate(e.day, t.lang)} · {t("fest.quantity")} {e.quantity} ·{" "}
            {e.offer
              ? `${t("waitlist.offer")} ${e.offer.quantity} · ${t("waitlist.until")} ${formatDateTime(e.offer.expiresAt, t.lang)}`
              : `${t("queue.position")}: ${e.position ?? "–"}`}
          </li>
        ))}
      </ul>
      {soldOut.length > 0 && (
        <form class="reserve" onSubmit={join}>
          <div class="field">
            <label for="waitlist-day">{t("fest.day")}</label>
            <select id="waitlist-day" value={day} onChange={(e) => setDay(e.currentTarget.value)}>
              {soldOut.map((d) => (
                <option key={d.date} value={d.date}>
                  {formatDate(d.date, t.lang)}
                </option>
              ))}
            </select>
          </div>
          <button type="submit" class="secondary">
            {t("waitlist.join")}
          </button>
        </form>
      )}
      <ErrorNote error={error} />
    </section>
  );
}
