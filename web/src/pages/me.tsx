import { useEffect, useState } from "preact/hooks";
import { renderSVG } from "uqr";
import { api, call, type Schemas, sessionStore, signOutLocally } from "../api/client";
import { useT } from "../i18n";
import { Link, navigate } from "../router";
import { useStore } from "../store";
import { ErrorNote, formatDate, PageTitle, useLoad } from "../ui";

type Reservation = Schemas["Reservation"];

/** The check-in code as a QR image (an SVG data URL, so it needs no script or canvas). */
function CheckInQr(props: { code: string; label: string }) {
  const svg = renderSVG(props.code, { ecc: "M", border: 2 });
  return (
    <figure class="qr">
      <img
        src={`data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`}
        alt={`${props.label}: ${props.code}`}
        width={180}
        height={180}
      />
      <figcaption>
        <code>{props.code}</code>
      </figcaption>
    </figure>
  );
}

function useFestivalTitles(ids: number[]) {
  const [titles, setTitles] = useState<Record<number, string>>({});
  const key = [...new Set(ids)].sort().join(",");
  useEffect(() => {
    for (const id of new Set(ids)) {
      if (titles[id]) continue;
      void call(() => api.GET("/v1/festivals/{festivalId}", { params: { path: { festivalId: id } } })).then(
        (f) => setTitles((prev) => ({ ...prev, [id]: f.title })),
        () => {},
      );
    }
  }, [key]);
  return titles;
}

export function MePage() {
  const t = useT();
  const session = useStore(sessionStore);
  const { data, error, reload } = useLoad(
    () => call(() => api.GET("/v1/me/reservations", { params: { query: { limit: 50 } } })),
    [session?.profile.id],
  );
  const titles = useFestivalTitles(data?.items.map((r) => r.festivalId) ?? []);
  const [actionError, setActionError] = useState<unknown>();

  const cancel = async (r: Reservation) => {
    if (!confirm(t("me.cancelConfirm"))) return;
    try {
      await call(() => api.POST("/v1/reservations/{id}/cancel", { params: { path: { id: r.id } } }));
      setActionError(undefined);
      reload();
    } catch (err) {
      setActionError(err);
    }
  };

  return (
    <section>
      <PageTitle>{t("me.title")}</PageTitle>
      <ErrorNote error={error ?? actionError} />
      {data && !data.items.length && <p>{t("me.none")}</p>}
      <ul class="cards">
        {data?.items.map((r) => (
          <li key={r.id} class="card reservation" data-testid={`reservation-${r.id}`}>
            <h2>
              <Link href={`/festivals/${r.festivalId}`}>{titles[r.festivalId] ?? `#${r.festivalId}`}</Link>
            </h2>
            <p>
              {formatDate(r.day, t.lang)} · {t("fest.quantity")} {r.quantity}
            </p>
            {r.status === "cancelled" && <p class="badge badge-cancelled">{t("me.cancelled")}</p>}
            {r.status === "checked_in" && <p class="badge">{t("me.checkedIn")}</p>}
            {r.status === "confirmed" && r.checkInCode && (
              <CheckInQr code={r.checkInCode} label={t("me.code")} />
            )}
            {r.status === "confirmed" && (
              <button type="button" class="danger" onClick={() => void cancel(r)}>
                {t("me.cancel")}
              </button>
            )}
          </li>
        ))}
      </ul>
      {session && <Profile profile={session.profile} />}
    </section>
  );
}

function Profile(props: { profile: Schemas["Profile"] }) {
  const t = useT();
  const [nickname, setNickname] = useState(props.profile.nickname);
  const [reminders, setReminders] = useState(props.profile.notifications.reminders);
  const [hours, setHours] = useState(props.profile.notifications.reminderOffsetsHours.join(", "));
  const [saved, setSaved] = useState(false);
  const [error, setError] = useState<unknown>();
  const save = async (e: Event) => {
    e.preventDefault();
    try {
      const reminderOffsetsHours = hours
        .split(",")
        .map((h) => Number(h.trim()))
        .filter((h) => Number.isInteger(h) && h > 0);
      const profile = await call(() =>
        api.PATCH("/v1/me", { body: { nickname, notifications: { reminders, reminderOffsetsHours } } }),
      );
      const s = sessionStore.get();
      if (s) sessionStore.set({ ...s, profile });
      setSaved(true);
      setError(undefined);
    } catch (err) {
      setSaved(false);
      setError(err);
    }
  };
  // The API asks for the password again: an access token alone must not delete the account.
  const [deletePassword, setDeletePassword] = useState("");
  const remove = async () => {
    if (!confirm(t("me.deleteConfirm"))) return;
    try {
      await call(() => api.DELETE("/v1/me", { body: { password: deletePassword } }));
      signOutLocally();
      navigate("/", true);
    } catch (err) {
      setError(err);
    }
  };
  return (
    <form class="profile" onSubmit={save}>
      <h2>{t("me.profile")}</h2>
      <p class="muted">{props.profile.email}</p>
      <div class="field">
        <label for="nickname">{t("me.nickname")}</label>
        <input
          id="nickname"
          value={nickname}
          required
          minLength={2}
          maxLength={20}
          onInput={(e) => setNickname(e.currentTarget.value)}
        />
      </div>
      <div class="field checkbox">
        <input
          id="reminders"
          type="checkbox"
          checked={reminders}
          onChange={(e) => setReminders(e.currentTarget.checked)}
        />
        <label for="reminders">{t("me.reminders")}</label>
      </div>
      <div class="field">
        <label for="reminder-hours">{t("me.reminderHours")}</label>
        <input
          id="reminder-hours"
          inputMode="numeric"
          value={hours}
          onInput={(e) => setHours(e.currentTarget.value)}
        />
      </div>
      <button type="submit">{t("me.save")}</button>
      <p aria-live="polite">{saved ? t("me.saved") : ""}</p>
      <ErrorNote error={error} />
      <div class="field">
        <label for="delete-password">{t("me.deletePassword")}</label>
        <input
          id="delete-password"
          type="password"
          autocomplete="current-password"
          value={deletePassword}
          onInput={(e) => setDeletePassword(e.currentTarget.value)}
        />
      </div>
      <p>
        <button type="button" class="danger" disabled={!deletePassword} onClick={() => void remove()}>
          {t("me.delete")}
        </button>
      </p>
    </form>
  );
}
