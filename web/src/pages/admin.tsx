import { useEffect, useState } from "preact/hooks";
import { api, call, type Schemas } from "../api/client";
import { useT } from "../i18n";
import { Link } from "../router";
import { ErrorNote, Field, localInput, PageTitle, useLoad } from "../ui";
import { FestivalFields, type FestivalForm, splitTags } from "./festival-form";
import { StatusBadge } from "./festivals";

const inDays = (n: number) => new Date(Date.now() + n * 86_400_000).toISOString().slice(0, 10);

/** Organisers: create a festival (its days follow from the dates and the daily capacity). */
export function AdminPage() {
  const t = useT();
  const [form, setForm] = useState<FestivalForm & { capacity: string }>({
    title: "",
    description: "",
    category: "festival",
    region: "서울",
    venue: "",
    address: "",
    startDate: inDays(30),
    endDate: inDays(31),
    capacity: "1000",
    perUserLimit: "4",
    saleOpensAt: localInput(new Date()),
    saleClosesAt: localInput(new Date(Date.now() + 29 * 86_400_000)),
    tags: "",
  });
  const [created, setCreated] = useState<Schemas["Festival"]>();
  const [error, setError] = useState<unknown>();
  const set = (k: keyof typeof form) => (v: string) => setForm((f) => ({ ...f, [k]: v }));

  const submit = async (e: Event) => {
    e.preventDefault();
    try {
      const f = await call(() =>
        api.POST("/v1/festivals", {
          body: {
            title: form.title,
            description: form.description,
            category: form.category,
            region: form.region,
            venue: { name: form.venue, address: form.address || form.venue, lat: 37.5665, lng: 126.978 },
            startDate: form.startDate,
            endDate: form.endDate,
            timezone: "Asia/Seoul",
            capacity: Number(form.capacity),
            perUserLimit: Number(form.perUserLimit),
            saleOpensAt: new Date(form.saleOpensAt).toISOString(),
            saleClosesAt: new Date(form.saleClosesAt).toISOString(),
            imageUrl: null,
            tags: splitTags(form.tags),
          },
        }),
      );
      setCreated(f);
      setError(undefined);
    } catch (err) {
      setError(err);
    }
  };

  return (
    <section>
      <PageTitle>{t("admin.title")}</PageTitle>
      <p>
        <Link href="/admin/check-in">{t("admin.checkin")}</Link>
      </p>
      <form class="admin-form" onSubmit={submit}>
        <h2>{t("admin.create")}</h2>
        <FestivalFields form={form} set={set}>
          <Field
            id="f-capacity"
            label="admin.capacity"
            type="number"
            value={form.capacity}
            onInput={set("capacity")}
          />
        </FestivalFields>
        <button type="submit">{t("admin.create")}</button>
        <ErrorNote error={error} />
        <div aria-live="polite">
          {created && (
            <p class="success">
              {t("admin.created")} <Link href={`/festivals/${created.id}`}>{created.title}</Link>
            </p>
          )}
        </div>
      </form>
      {created && (
        <p class="links">
          <Link href={`/admin/festivals/${created.id}/sales`}>
            {t("admin.sales")} #{created.id}
          </Link>
          <Link href={`/admin/festivals/${created.id}`}>
            {t("admin.edit")} #{created.id}
          </Link>
        </p>
      )}
      <FestivalAdminList version={created?.id ?? 0} />
    </section>
  );
}

/** The festivals, found by text like the public search, each with its editor and its sale-day view. */
function FestivalAdminList(props: { version: number }) {
  const t = useT();
  const [draft, setDraft] = useState("");
  const [q, setQ] = useState("");
  const { data, error } = useLoad(
    () => call(() => api.GET("/v1/festivals", { params: { query: { q: q || undefined, limit: 20 } } })),
    [q, props.version],
  );
  return (
    <section class="admin-festivals" aria-labelledby="admin-festivals">
      <h2 id="admin-festivals">{t("admin.festivals")}</h2>
      <form
        class="search"
        aria-label={t("admin.festivals")}
        onSubmit={(e) => {
          e.preventDefault();
          setQ(draft.trim());
        }}
      >
        <label for="admin-q">{t("admin.find")}</label>
        <div class="row">
          <input id="admin-q" type="search" value={draft} onInput={(e) => setDraft(e.currentTarget.value)} />
          <button type="submit">{t("list.search")}</button>
        </div>
      </form>
      <ErrorNote error={error} />
      <ul class="admin-list">
        {data?.items.map((f) => (
          <li key={f.id}>
            <span class="muted">#{f.id}</span> {f.title}{" "}
            <StatusBadge status={f.status} cancelled={f.cancelled} />
            <span class="actions">
              {/* The title in each link's name: a screen reader's link list tells them apart. */}
              <Link href={`/admin/festivals/${f.id}`}>
                {t("admin.edit")}
                <span class="visually-hidden"> {f.title}</span>
              </Link>
              <Link href={`/admin/festivals/${f.id}/sales`}>
                {t("sales.title")}
                <span class="visually-hidden"> {f.title}</span>
              </Link>
            </span>
          </li>
        ))}
      </ul>
    </section>
  );
}

/** The waiting-room switch and its admission rate, as PATCH /sales takes them. */
export function SalesSettings(props: { festivalId: number; current?: Schemas["SalesView"] }) {
  const t = useT();
  const [queueEnabled, setQueueEnabled] = useState(props.current?.queue.enabled ?? false);
  const [rate, setRate] = useState(String(props.current?.queue.admissionRatePerMinute ?? 60));
  // The first sales view that arrives fills the form; later polls leave the organiser's edits alone.
  const [filled, setFilled] = useState(props.current !== undefined);
  useEffect(() => {
    if (filled || !props.current) return;
    setQueueEnabled(props.current.queue.enabled);
    setRate(String(props.current.queue.admissionRatePerMinute));
    setFilled(true);
  }, [props.current, filled]);
  const [view, setView] = useState<Schemas["SalesView"]>();
  const [error, setError] = useState<unknown>();
  const save = async (e: Event) => {
    e.preventDefault();
    try {
      setView(
        await call(() =>
          api.PATCH("/v1/festivals/{festivalId}/sales", {
            params: { path: { festivalId: props.festivalId } },
            body: { queueEnabled, admissionRatePerMinute: Number(rate) },
          }),
        ),
      );
      setError(undefined);
    } catch (err) {
      setError(err);
    }
  };
  return (
    <form class="admin-form" onSubmit={save}>
      <h2>
        {t("admin.sales")} #{props.festivalId}
      </h2>
      <div class="field checkbox">
        <input
          id={`queue-${props.festivalId}`}
          type="checkbox"
          checked={queueEnabled}
          onChange={(e) => setQueueEnabled(e.currentTarget.checked)}
        />
        <label for={`queue-${props.festivalId}`}>{t("admin.queueEnabled")}</label>
      </div>
      <Field
        id={`rate-${props.festivalId}`}
        label="admin.rate"
        type="number"
        value={rate}
        onInput={setRate}
      />
      <button type="submit">{t("admin.saveSettings")}</button>
      <ErrorNote error={error} />
      <p aria-live="polite" data-testid="sales-state">
        {view
          ? `${t("admin.queueEnabled")}: ${view.queue.enabled ? "✓" : "✗"} · ${t("queue.waiting")}: ${view.queue.waiting}`
          : ""}
      </p>
    </form>
  );
}
