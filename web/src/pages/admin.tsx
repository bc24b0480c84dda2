import { useEffect, useState } from "preact/hooks";
import { api, call, type Schemas } from "../api/client";
import { type MessageKey, useT } from "../i18n";
import { Link } from "../router";
import { ErrorNote, PageTitle } from "../ui";

const inDays = (n: number) => new Date(Date.now() + n * 86_400_000).toISOString().slice(0, 10);
/** datetime-local wants local "YYYY-MM-DDTHH:mm". */
const localInput = (d: Date) =>
  new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);

function Field(props: {
  id: string;
  label: MessageKey;
  value: string;
  onInput: (v: string) => void;
  type?: "text" | "number" | "date" | "datetime-local";
  required?: boolean;
}) {
  const t = useT();
  return (
    <div class="field">
      <label for={props.id}>{t(props.label)}</label>
      <input
        id={props.id}
        // Preact types each input type separately; a union of them does not narrow, so name one.
        type={(props.type ?? "text") as "text"}
        required={props.required ?? true}
        value={props.value}
        onInput={(e) => props.onInput(e.currentTarget.value)}
      />
    </div>
  );
}

/** Organisers: create a festival (its days follow from the dates and the daily capacity). */
export function AdminPage() {
  const t = useT();
  const [form, setForm] = useState({
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
  const set = (k: keyof typeof form) => (v: string) => setForm({ ...form, [k]: v });

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
            tags: form.tags
              .split(",")
              .map((s) => s.trim())
              .filter(Boolean),
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
        <Field id="f-title" label="admin.titleKo" value={form.title} onInput={set("title")} />
        <div class="field">
          <label for="f-description">{t("admin.description")}</label>
          <textarea
            id="f-description"
            value={form.description}
            onInput={(e) => set("description")(e.currentTarget.value)}
          />
        </div>
        <Field id="f-category" label="admin.category" value={form.category} onInput={set("category")} />
        <Field id="f-region" label="admin.region" value={form.region} onInput={set("region")} />
        <Field id="f-venue" label="admin.venue" value={form.venue} onInput={set("venue")} />
        <Field
          id="f-start"
          label="admin.startDate"
          type="date"
          value={form.startDate}
          onInput={set("startDate")}
        />
        <Field id="f-end" label="admin.endDate" type="date" value={form.endDate} onInput={set("endDate")} />
        <Field
          id="f-capacity"
          label="admin.capacity"
          type="number"
          value={form.capacity}
          onInput={set("capacity")}
        />
        <Field
          id="f-limit"
          label="admin.perUserLimit"
          type="number"
          value={form.perUserLimit}
          onInput={set("perUserLimit")}
        />
        <Field
          id="f-opens"
          label="admin.saleOpensAt"
          type="datetime-local"
          value={form.saleOpensAt}
          onInput={set("saleOpensAt")}
        />
        <Field
          id="f-closes"
          label="admin.saleClosesAt"
          type="datetime-local"
          value={form.saleClosesAt}
          onInput={set("saleClosesAt")}
        />
        <Field id="f-tags" label="admin.tags" value={form.tags} onInput={set("tags")} required={false} />
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
        <p>
          <Link href={`/admin/festivals/${created.id}/sales`}>
            {t("admin.sales")} #{created.id}
          </Link>
        </p>
      )}
      <SalesLookup />
    </section>
  );
}

function SalesLookup() {
  const t = useT();
  const [id, setId] = useState("");
  const n = Number(id);
  return (
    <div>
      <div class="field">
        <label for="sales-festival">{t("admin.festivalId")}</label>
        <input
          id="sales-festival"
          type="number"
          min={1}
          value={id}
          onInput={(e) => setId(e.currentTarget.value)}
        />
      </div>
      {n > 0 && (
        <p>
          <Link href={`/admin/festivals/${n}/sales`}>
            {t("admin.sales")} #{n}
          </Link>
        </p>
      )}
    </div>
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

/** The gate: a typed (or scanner-typed) check-in code for a festival. */
export function CheckInPage() {
  const t = useT();
  const [festivalId, setFestivalId] = useState("");
  const [code, setCode] = useState("");
  const [ok, setOk] = useState<string>();
  const [error, setError] = useState<unknown>();
  const submit = async (e: Event) => {
    e.preventDefault();
    try {
      await call(() =>
        api.POST("/v1/festivals/{festivalId}/check-ins", {
          params: { path: { festivalId: Number(festivalId) } },
          body: { code: code.trim() },
        }),
      );
      setOk(code.trim());
      setCode("");
      setError(undefined);
    } catch (err) {
      setOk(undefined);
      setError(err);
    }
  };
  return (
    <section class="narrow">
      <PageTitle>{t("admin.checkin")}</PageTitle>
      <form onSubmit={submit}>
        <Field
          id="ci-festival"
          label="admin.festivalId"
          type="number"
          value={festivalId}
          onInput={setFestivalId}
        />
        <Field id="ci-code" label="admin.checkinCode" value={code} onInput={setCode} />
        <button type="submit">{t("admin.checkin")}</button>
      </form>
      <div aria-live="assertive">
        {ok && (
          <p class="success">
            {t("admin.checkinOk")} <code>{ok}</code>
          </p>
        )}
      </div>
      <ErrorNote error={error} />
    </section>
  );
}
