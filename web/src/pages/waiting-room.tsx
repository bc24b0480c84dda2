import { useEffect, useState } from "preact/hooks";
import { ApiError, api, call, type Schemas } from "../api/client";
import { useT } from "../i18n";
import { ErrorNote } from "../ui";

const POLL_MS = 2_000;

/**
 * The waiting room: shown when the festival sells through a queue (the API said so, or I am
 * already in line). The position is polled; once admitted the token goes to the reserve form.
 */
export function WaitingRoom(props: {
  festivalId: number;
  active: boolean;
  onAdmitted: (token: string) => void;
}) {
  const t = useT();
  const [status, setStatus] = useState<Schemas["QueueStatus"]>();
  const [error, setError] = useState<unknown>();
  // Bumped by joining, so polling starts again.
  const [round, setRound] = useState(0);
  const path = { festivalId: props.festivalId };

  useEffect(() => {
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = async () => {
      try {
        const s = await call(() => api.GET("/v1/festivals/{festivalId}/queue/me", { params: { path } }));
        if (!live) return;
        setStatus(s);
        setError(undefined);
        if (s.admission) props.onAdmitted(s.admission.token);
        else timer = setTimeout(poll, POLL_MS);
      } catch (err) {
        if (!live) return;
        // Not in line (or no queue): nothing to show until the reserve call asks for the queue.
        if (err instanceof ApiError && ["queue.not_joined", "queue.disabled"].includes(err.code))
          setStatus(undefined);
        else setError(err);
      }
    };
    void poll();
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [props.festivalId, props.active, round]);

  const join = async () => {
    try {
      setStatus(await call(() => api.POST("/v1/festivals/{festivalId}/queue", { params: { path } })));
      setError(undefined);
      setRound((r) => r + 1);
    } catch (err) {
      setError(err);
    }
  };

  if (!props.active && !status) return null;
  return (
    <section class="queue" aria-labelledby="queue-title">
      <h2 id="queue-title">{t("queue.title")}</h2>
      <div aria-live="polite" aria-atomic="true">
        {!status && (
          <button type="button" onClick={join}>
            {t("queue.join")}
          </button>
        )}
        {status?.status === "pre_queue" && <p>{t("queue.preQueue")}</p>}
        {status?.status === "waiting" && (
          <p>
            {t("queue.position")}: <strong data-testid="queue-position">{status.position ?? "–"}</strong> ·{" "}
            {t("queue.waiting")}: {status.waiting}
            {status.estimatedWaitSeconds !== null &&
              ` · ${t("queue.eta")}: ${status.estimatedWaitSeconds}${t("queue.seconds")}`}
          </p>
        )}
        {status?.status === "admitted" && <p class="success">{t("queue.admitted")}</p>}
      </div>
      <ErrorNote error={error} />
    </section>
  );
}
