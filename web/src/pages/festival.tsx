import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError, api, call, type Schemas, sessionStore } from "../api/client";
import { useT } from "../i18n";
import { Link } from "../router";
import { useStore } from "../store";
import { ErrorNote, formatDate, formatDateTime, PageTitle, useLoad } from "../ui";
import { StatusBadge } from "./festivals";
import { WaitingRoom } from "./waiting-room";
import { Waitlist } from "./waitlist";

/** Remaining places move with every reservation; the API caches them for 2 s, so 5 s is fresh enough. */
const REFRESH_MS = 5_000;

export function FestivalPage(props: { id: number }) {
  const t = useT();
  const session = useStore(sessionStore);
  const {
    data: f,
    error,
    reload,
  } = useLoad(
    () => call(() => api.GET("/v1/festivals/{festivalId}", { params: { path: { festivalId: props.id } } })),
    [props.id],
  );
  useEffect(() => {
    const timer = setInterval(reload, REFRESH_MS);
    return () => clearInterval(timer);
  });

  if (!f) return error ? <ErrorNote error={error} /> : <p aria-live="polite">{t("loading")}</p>;
  return (
    <section>
      <PageTitle>{f.title}</PageTitle>
      <p>
        <StatusBadge status={f.status} cancelled={f.cancelled} /> {f.category} · {f.region}
      </p>
      <dl class="facts">
        <dt>{t("fest.venue")}</dt>
        <dd>
          {f.venue.name}, {f.venue.address}
        </dd>
        <dt>{t("fest.sale")}</dt>
        <dd>
          {formatDateTime(f.saleOpensAt, t.lang)} – {formatDateTime(f.saleClosesAt, t.lang)}
        </dd>
        <dt>{t("fest.perUser")}</dt>
        <dd>{f.perUserLimit}</dd>
      </dl>
      {f.cancelled && (
        <p class="error" data-testid="festival-cancelled">
          {t("fest.cancelledNote")}
        </p>
      )}
      {session?.profile.role === "admin" && (
        <p>
          <Link href={`/admin/festivals/${f.id}`}>{t("fest.edit")}</Link>
        </p>
      )}
      {f.description && <p class="description">{f.description}</p>}
      <h2>{t("fest.days")}</h2>
      <table class="days">
        <thead>
          <tr>
            <th scope="col">{t("fest.day")}</th>
            <th scope="col">{t("fest.remaining")}</th>
          </tr>
        </thead>
        <tbody>
          {f.days.map((d) => (
            <tr key={d.date}>
              <td>{formatDate(d.date, t.lang)}</td>
              <td data-testid={`remaining-${d.date}`}>
                {d.remaining > 0 ? `${d.remaining} / ${d.capacity}` : t("fest.soldOut")}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {/* A cancelled festival takes no reservations (the API refuses them): no form to fail in. */}
      {f.cancelled ? null : session ? (
        <ReserveForm festival={f} onReserved={reload} />
      ) : (
        <p>
          <Link href={`/signin?next=/festivals/${f.id}`}>{t("fest.signinToReserve")}</Link>
        </p>
      )}
      {session && (
        <p>
          <Link class="button secondary" href={`/festivals/${f.id}/chat`}>
            {t("fest.chat")}
          </Link>
        </p>
      )}
    </section>
  );
}

function ReserveForm(props: { festival: Schemas["Festival"]; onReserved: () => void }) {
  const t = useT();
  const f = props.festival;
  const open = f.days.filter((d) => d.remaining > 0);
  const [day, setDay] = useState(open[0]?.date ?? f.days[0]?.date ?? "");
  const [quantity, setQuantity] = useState(1);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const [done, setDone] = useState(false);
  const [needsQueue, setNeedsQueue] = useState(false);
  const [admission, setAdmission] = useState<string | undefined>();
  // One key per intended reservation: a retry after a lost answer repeats it and gets the first result.
  const key = useRef(crypto.randomUUID());
  useEffect(() => {
    key.current = crypto.randomUUID();
  }, [day, quantity]);

  const reserve = async (e?: Event) => {
    e?.preventDefault();
    setBusy(true);
    setDone(false);
    try {
      await call(() =>
        api.POST("/v1/festivals/{festivalId}/reservations", {
          params: {
            path: { festivalId: f.id },
            header: { "idempotency-key": key.current, "x-admission-token": admission },
          },
          body: { day, quantity },
        }),
      );
      key.current = crypto.randomUUID();
      setError(undefined);
      setDone(true);
      setAdmission(undefined);
      setNeedsQueue(false);
      props.onReserved();
    } catch (err) {
      // A definite answer is remembered under its key: the next try (say, with an admission) needs a
      // new key. Lost answers, 409 (in flight), 429 and 5xx keep it, so a retry cannot reserve twice.
      if (
        err instanceof ApiError &&
        err.status >= 400 &&
        err.status < 500 &&
        ![409, 429].includes(err.status)
      )
        key.current = crypto.randomUUID();
      if (err instanceof ApiError && err.code.startsWith("queue.admission")) setNeedsQueue(true);
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <form class="reserve" onSubmit={reserve}>
        <div class="field">
          <label for="day">{t("fest.day")}</label>
          <select id="day" value={day} onChange={(e) => setDay(e.currentTarget.value)}>
            {f.days.map((d) => (
              <option key={d.date} value={d.date}>
                {formatDate(d.date, t.lang)}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="quantity">{t("fest.quantity")}</label>
          <input
            id="quantity"
            type="number"
            min={1}
            max={f.perUserLimit}
            value={quantity}
            onInput={(e) => setQuantity(Number(e.currentTarget.value) || 1)}
          />
        </div>
        <button type="submit" disabled={busy || !day || (needsQueue && !admission)}>
          {t("fest.reserve")}
        </button>
      </form>
      <div aria-live="polite">
        {done && (
          <p class="success">
            {t("fest.reserved")} <Link href="/me">{t("nav.me")}</Link>
          </p>
        )}
      </div>
      <ErrorNote error={error} />
      <Waitlist festival={f} quantity={quantity} />
      <WaitingRoom
        festivalId={f.id}
        active={needsQueue}
        onAdmitted={(token) => {
          setAdmission(token);
          setNeedsQueue(true);
          setError(undefined);
        }}
      />
    </>
  );
}
