import { useEffect, useRef, useState } from "preact/hooks";
import { api, call, type Schemas } from "../api/client";
import { type MessageKey, useT } from "../i18n";
import { Link, navigate, usePath } from "../router";
import { ErrorNote, formatDate, PageTitle } from "../ui";

type Summary = Schemas["FestivalSummary"];
const STATUSES = ["upcoming", "on_sale", "ongoing", "ended"] as const;
type Status = (typeof STATUSES)[number];
const statusKey = (s: Status | "cancelled"): MessageKey => `status.${s}`;

export function StatusBadge(props: { status: Status; cancelled: boolean }) {
  const t = useT();
  const s = props.cancelled ? "cancelled" : props.status;
  return <span class={`badge badge-${s}`}>{t(statusKey(s))}</span>;
}

/** Festival list and search: text (Korean or English), status filter, pages loaded as you scroll. */
export function FestivalsPage() {
  const t = useT();
  const { query } = usePath();
  const q = query.get("q") ?? "";
  const status = (query.get("status") ?? "") as Status | "";
  const [draft, setDraft] = useState(q);
  const [items, setItems] = useState<Summary[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<unknown>();
  const sentinel = useRef<HTMLDivElement>(null);
  const generation = useRef(0);

  const load = async (after: string | null) => {
    const gen = generation.current;
    setLoading(true);
    try {
      const page = await call(() =>
        api.GET("/v1/festivals", {
          params: {
            query: {
              q: q || undefined,
              status: status || undefined,
              cursor: after ?? undefined,
              limit: 12,
            },
          },
        }),
      );
      if (gen !== generation.current) return;
      setItems((prev) => (after ? [...prev, ...page.items] : page.items));
      setCursor(page.nextCursor);
      setError(undefined);
    } catch (err) {
      if (gen === generation.current) setError(err);
    } finally {
      if (gen === generation.current) setLoading(false);
    }
  };

  useEffect(() => {
    generation.current++;
    setDraft(q);
    setItems([]);
    setCursor(null);
    void load(null);
  }, [q, status]);

  // Infinite scroll: the next page loads when the end of the list comes into view.
  useEffect(() => {
    const el = sentinel.current;
    if (!el || !cursor || loading) return;
    const io = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) void load(cursor);
    });
    io.observe(el);
    return () => io.disconnect();
  });

  const search = (e: Event) => {
    e.preventDefault();
    const p = new URLSearchParams();
    if (draft.trim()) p.set("q", draft.trim());
    if (status) p.set("status", status);
    navigate(`/${p.size ? `?${p}` : ""}`);
  };

  return (
    <section>
      <PageTitle>{t("list.title")}</PageTitle>
      <form class="search" aria-label={t("list.title")} onSubmit={search}>
        <label for="q">{t("list.search")}</label>
        <div class="row">
          <input
            id="q"
            type="search"
            value={draft}
            placeholder={t("list.searchPlaceholder")}
            onInput={(e) => setDraft(e.currentTarget.value)}
          />
          <button type="submit">{t("list.search")}</button>
        </div>
        <label for="status">{t("list.status")}</label>
        <select
          id="status"
          value={status}
          onChange={(e) => {
            const p = new URLSearchParams();
            if (q) p.set("q", q);
            if (e.currentTarget.value) p.set("status", e.currentTarget.value);
            navigate(`/${p.size ? `?${p}` : ""}`);
          }}
        >
          <option value="">{t("list.any")}</option>
          {STATUSES.map((s) => (
            <option key={s} value={s}>
              {t(statusKey(s))}
            </option>
          ))}
        </select>
      </form>
      <ErrorNote error={error} />
      <p class="muted" aria-live="polite">
        {loading && !items.length ? t("loading") : !items.length && !error ? t("list.empty") : ""}
      </p>
      <ul class="cards" aria-label={t("list.title")}>
        {items.map((f) => (
          <li key={f.id} class="card">
            <Link href={`/festivals/${f.id}`}>
              <h2>{f.title}</h2>
            </Link>
            <p class="muted">
              {formatDate(f.startDate, t.lang)}
              {f.endDate !== f.startDate ? ` – ${formatDate(f.endDate, t.lang)}` : ""} · {f.region}
            </p>
            <p>
              <StatusBadge status={f.status} cancelled={f.cancelled} /> {f.venue.name}
            </p>
            <p class="tags">
              {f.tags.map((tag) => (
                <span key={tag} class="tag">
                  #{tag}
                </span>
              ))}
            </p>
          </li>
        ))}
      </ul>
      <div ref={sentinel} />
      {cursor && (
        <button type="button" class="secondary" disabled={loading} onClick={() => void load(cursor)}>
          {loading ? t("loading") : t("list.more")}
        </button>
      )}
    </section>
  );
}
