import { useEffect, useState } from "preact/hooks";
import { api, call, type Schemas } from "../api/client";
import { useT } from "../i18n";
import { ErrorNote, PageTitle } from "../ui";
import { SalesSettings } from "./admin";

const POLL_MS = 2_000;
/** Two minutes of samples at one per poll. */
const KEEP = 60;

interface Sample {
  at: number;
  reserved: number;
  waiting: number;
  admitted: number;
}

const fmt = (v: number) => (Number.isInteger(v) ? String(v) : v.toFixed(1));

function LineChart(props: { label: string; values: number[]; unit?: string }) {
  const w = 320;
  const h = 90;
  const max = Math.max(1, ...props.values);
  const step = props.values.length > 1 ? w / (props.values.length - 1) : w;
  const points = props.values.map(
    (v, i) => `${(i * step).toFixed(1)},${(h - (v / max) * (h - 6)).toFixed(1)}`,
  );
  const last = props.values.at(-1) ?? 0;
  return (
    <figure class="chart" data-samples={props.values.length}>
      <figcaption>
        {props.label}: <strong>{fmt(last)}</strong>
        {props.unit ?? ""} <span class="muted">(max {fmt(max)})</span>
      </figcaption>
      <svg
        viewBox={`0 0 ${w} ${h}`}
        role="img"
        aria-label={`${props.label}: ${fmt(last)}`}
        preserveAspectRatio="none"
      >
        <polyline points={points.join(" ")} fill="none" stroke="currentColor" stroke-width="2" />
      </svg>
    </figure>
  );
}

/** Sale day for organisers: live charts from GET /sales, and the waiting-room settings beside them. */
export function SalesPage(props: { id: number }) {
  const t = useT();
  const [view, setView] = useState<Schemas["SalesView"]>();
  const [samples, setSamples] = useState<Sample[]>([]);
  const [error, setError] = useState<unknown>();

  useEffect(() => {
    let live = true;
    const poll = async () => {
      try {
        const v = await call(() =>
          api.GET("/v1/festivals/{festivalId}/sales", { params: { path: { festivalId: props.id } } }),
        );
        if (!live) return;
        setView(v);
        setError(undefined);
        const reserved = v.waitlist.days.reduce((n, d) => n + d.reserved, 0);
        setSamples((prev) =>
          [
            ...prev,
            { at: Date.now(), reserved, waiting: v.queue.waiting, admitted: v.queue.admittedTotal },
          ].slice(-KEEP),
        );
      } catch (err) {
        if (live) setError(err);
      }
    };
    void poll();
    const timer = setInterval(poll, POLL_MS);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, [props.id]);

  // Confirmed reservations per second between two polls (places, as the days count them).
  const perSecond = samples
    .slice(1)
    .map((s, i) =>
      Math.max(
        0,
        (s.reserved - (samples[i] as Sample).reserved) / ((s.at - (samples[i] as Sample).at) / 1000),
      ),
    );
  return (
    <section>
      <PageTitle>
        {t("sales.title")} #{props.id}
      </PageTitle>
      <ErrorNote error={error} />
      <div class="sales">
        <div class="charts">
          <LineChart label={t("sales.perSecond")} values={perSecond} unit="/s" />
          <LineChart label={t("queue.waiting")} values={samples.map((s) => s.waiting)} />
          <LineChart label={t("sales.admitted")} values={samples.map((s) => s.admitted)} />
          {view && (
            <table class="days">
              <caption>{t("fest.remaining")}</caption>
              <thead>
                <tr>
                  <th scope="col">{t("fest.day")}</th>
                  <th scope="col">{t("fest.remaining")}</th>
                  <th scope="col">{t("queue.waiting")}</th>
                </tr>
              </thead>
              <tbody>
                {view.waitlist.days.map((d) => (
                  <tr key={d.day}>
                    <td>{d.day}</td>
                    <td>
                      <meter
                        min={0}
                        max={d.capacity}
                        value={d.capacity - d.reserved - d.held}
                        aria-hidden="true"
                      />{" "}
                      {d.capacity - d.reserved - d.held} / {d.capacity}
                    </td>
                    <td>{d.waiting}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
        <SalesSettings festivalId={props.id} current={view} />
      </div>
    </section>
  );
}
