import { useEffect, useRef, useState } from "preact/hooks";
import { api, call, type Schemas } from "../api/client";
import { useT } from "../i18n";
import { Link } from "../router";
import { ErrorNote, formatDate, localInput, PageTitle, useLoad } from "../ui";
import { FestivalFields, type FestivalForm, splitTags } from "./festival-form";
import { StatusBadge } from "./festivals";

type Festival = Schemas["Festival"];
type Update = Schemas["UpdateFestival"];
/** The API's limit on a festival's length; the days table never draws more rows than can be saved. */
const MAX_DAYS = 92;

const formOf = (f: Festival): FestivalForm => ({
  title: f.title,
  description: f.description,
  category: f.category,
  region: f.region,
  venue: f.venue.name,
  address: f.venue.address,
  startDate: f.startDate,
  endDate: f.endDate,
  perUserLimit: String(f.perUserLimit),
  saleOpensAt: localInput(new Date(f.saleOpensAt)),
  saleClosesAt: localInput(new Date(f.saleClosesAt)),
  tags: f.tags.join(", "),
});

const capsOf = (f: Festival) => Object.fromEntries(f.days.map((d) => [d.date, String(d.capacity)]));

const addDays = (day: string, n: number) =>
  new Date(Date.parse(`${day}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);

function datesBetween(start: string, end: string): string[] {
  const iso = /^\d{4}-\d{2}-\d{2}$/;
  if (!iso.test(start) || !iso.test(end) || Number.isNaN(Date.parse(start))) return [];
  const out: string[] = [];
  for (let d = start; d <= end && out.length < MAX_DAYS; d = addDays(d, 1)) out.push(d);
  return out;
}

/**
 * Only what the organiser changed, as PATCH wants it. The capacity goes as a map of every date in
 * the range whenever a date or a day's capacity moved: dates left out of the range are dropped by
 * the API (refused while they hold reservations), new ones take the capacity typed for them.
 */
function changes(f: Festival, form: FestivalForm, caps: Record<string, string>, newDay: string): Update {
  const was = formOf(f);
  const body: Update = {};
  for (const k of ["title", "description", "category", "region", "startDate", "endDate"] as const)
    if (form[k] !== was[k]) body[k] = form[k];
  if (form.venue !== was.venue || form.address !== was.address)
    body.venue = { ...f.venue, name: form.venue, address: form.address || form.venue };
  if (form.perUserLimit !== was.perUserLimit) body.perUserLimit = Number(form.perUserLimit);
  if (form.saleOpensAt !== was.saleOpensAt) body.saleOpensAt = new Date(form.saleOpensAt).toISOString();
  if (form.saleClosesAt !== was.saleClosesAt) body.saleClosesAt = new Date(form.saleClosesAt).toISOString();
  if (splitTags(form.tags).join(",") !== f.tags.join(",")) body.tags = splitTags(form.tags);
  const dates = datesBetween(form.startDate, form.endDate);
  const before = capsOf(f);
  const moved = dates.join() !== f.days.map((d) => d.date).join() || dates.some((d) => caps[d] !== before[d]);
  if (moved) body.capacity = Object.fromEntries(dates.map((d) => [d, Number(caps[d] ?? newDay)]));
  return body;
}

/** Organisers: change a festival and its days, or cancel it. */
export function FestivalEditPage(props: { id: number }) {
  const t = useT();
  const { data, error } = useLoad(
    () => call(() => api.GET("/v1/festivals/{festivalId}", { params: { path: { festivalId: props.id } } })),
    [props.id],
  );
  if (!data) return error ? <ErrorNote error={error} /> : <p aria-live="polite">{t("loading")}</p>;
  return <FestivalEditor festival={data} />;
}

function FestivalEditor(props: { festival: Festival }) {
  const t = useT();
  const [f, setF] = useState(props.festival);
  const [form, setForm] = useState(() => formOf(props.festival));
  const [caps, setCaps] = useState(() => capsOf(props.festival));
  const [saved, setSaved] = useState<"saved" | "unchanged">();
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const set = (k: keyof FestivalForm) => (v: string) => {
    setForm((prev) => ({ ...prev, [k]: v }));
    setSaved(undefined);
  };
  // A day added to the range starts with the last day's capacity, the likeliest wish; it stays editable.
  const newDay = String(f.days.at(-1)?.capacity ?? 100);
  const dates = datesBetween(form.startDate, form.endDate);
  const reservedOn = Object.fromEntries(f.days.map((d) => [d.date, d.capacity - d.remaining]));

  const save = async (e: Event) => {
    e.preventDefault();
    const body = changes(f, form, caps, newDay);
    if (!Object.keys(body).length) {
      setSaved("unchanged");
      return;
    }
    setBusy(true);
    try {
      const next = await call(() =>
        api.PATCH("/v1/festivals/{festivalId}", { params: { path: { festivalId: f.id } }, body }),
      );
      setF(next);
      setForm(formOf(next));
      setCaps(capsOf(next));
      setSaved("saved");
      setError(undefined);
    } catch (err) {
      setSaved(undefined);
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section>
      <PageTitle>
        {t("admin.editTitle")}: {f.title}
      </PageTitle>
      <p class="links">
        <StatusBadge status={f.status} cancelled={f.cancelled} />
        <Link href={`/festivals/${f.id}`}>{t("admin.viewFestival")}</Link>
        <Link href={`/admin/festivals/${f.id}/sales`}>{t("sales.title")}</Link>
        <Link href={`/admin/check-in?festival=${f.id}`}>{t("admin.checkin")}</Link>
      </p>
      {f.cancelled && (
        <p class="error" role="status">
          {t("admin.cancelledNote")}
        </p>
      )}
      <form onSubmit={save}>
        <fieldset class="admin-form" disabled={f.cancelled}>
          <legend class="visually-hidden">{t("admin.editTitle")}</legend>
          <FestivalFields form={form} set={set} />
          <h2 id="days-title">{t("admin.days")}</h2>
          <table class="days" aria-labelledby="days-title">
            <thead>
              <tr>
                <th scope="col">{t("fest.day")}</th>
                <th scope="col">{t("admin.dayReserved")}</th>
                <th scope="col">{t("admin.dayCapacity")}</th>
                <th scope="col">
                  <span class="visually-hidden">{t("admin.removeDay")}</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {dates.map((d, i) => (
                <tr key={d}>
                  <th scope="row">
                    {formatDate(d, t.lang)}
                    {caps[d] === undefined && (
                      <>
                        {" "}
                        <span class="badge">{t("admin.newDay")}</span>
                      </>
                    )}
                  </th>
                  <td>{reservedOn[d] ?? 0}</td>
                  <td>
                    <input
                      class="capacity"
                      type="number"
                      min={0}
                      required
                      aria-label={`${formatDate(d, t.lang)} ${t("admin.dayCapacity")}`}
                      value={caps[d] ?? newDay}
                      onInput={(e) => {
                        const v = e.currentTarget.value;
                        setCaps((prev) => ({ ...prev, [d]: v }));
                        setSaved(undefined);
                      }}
                    />
                  </td>
                  <td>
                    {/* The days are one range: only its first or last day can leave it. */}
                    {dates.length > 1 && (i === 0 || i === dates.length - 1) && (
                      <button
                        type="button"
                        class="secondary"
                        onClick={() =>
                          i === 0
                            ? set("startDate")(addDays(form.startDate, 1))
                            : set("endDate")(addDays(form.endDate, -1))
                        }
                      >
                        {t("admin.remove")}
                        <span class="visually-hidden"> {formatDate(d, t.lang)}</span>
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <p class="muted">{t("admin.daysHelp")}</p>
          <button type="submit" disabled={busy}>
            {t("admin.save")}
          </button>
          <ErrorNote error={error} />
          <p aria-live="polite" class={saved === "saved" ? "success" : "muted"}>
            {saved === "saved" ? t("admin.saved") : saved === "unchanged" ? t("admin.noChanges") : ""}
          </p>
        </fieldset>
      </form>
      {!f.cancelled && <CancelFestival festival={f} onCancelled={setF} />}
    </section>
  );
}

/** Cancelling cannot be undone (every reservation is cancelled and its holder told): it asks first. */
function CancelFestival(props: { festival: Festival; onCancelled: (f: Festival) => void }) {
  const t = useT();
  const [asking, setAsking] = useState(false);
  const [reason, setReason] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const reasonInput = useRef<HTMLTextAreaElement>(null);
  const startButton = useRef<HTMLButtonElement>(null);
  const [wasAsking, setWasAsking] = useState(false);
  // Focus follows the step: into the question when it opens, back to its button when it closes.
  useEffect(() => {
    if (asking) reasonInput.current?.focus();
    else if (wasAsking) startButton.current?.focus();
    setWasAsking(asking);
  }, [asking]);

  const cancel = async () => {
    setBusy(true);
    try {
      const f = await call(() =>
        api.POST("/v1/festivals/{festivalId}/cancel", {
          params: { path: { festivalId: props.festival.id } },
          body: { reason: reason.trim() || undefined },
        }),
      );
      props.onCancelled(f);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="danger-zone" aria-labelledby="cancel-title">
      <h2 id="cancel-title">{t("admin.cancelTitle")}</h2>
      <p>{t("admin.cancelHelp")}</p>
      {asking ? (
        <div>
          <div class="field">
            <label for="cancel-reason">{t("admin.cancelReason")}</label>
            <textarea
              id="cancel-reason"
              ref={reasonInput}
              maxLength={500}
              value={reason}
              onInput={(e) => setReason(e.currentTarget.value)}
            />
          </div>
          <p class="links">
            <button type="button" class="danger" disabled={busy} onClick={() => void cancel()}>
              {t("admin.cancelConfirm")}
            </button>
            <button type="button" class="secondary" disabled={busy} onClick={() => setAsking(false)}>
              {t("admin.cancelKeep")}
            </button>
          </p>
        </div>
      ) : (
        <button type="button" class="danger" ref={startButton} onClick={() => setAsking(true)}>
          {t("admin.cancelStart")}
        </button>
      )}
      <ErrorNote error={error} />
    </section>
  );
}
