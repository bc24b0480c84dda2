import { useState } from "preact/hooks";
import { api, call, startSession } from "../api/client";
import { useT } from "../i18n";
import { Link, navigate, usePath } from "../router";
import { ErrorNote, PageTitle } from "../ui";

/** Sign in and sign up share the form; sign-up also asks for a nickname. */
export function AuthPage(props: { mode: "signin" | "signup" }) {
  const t = useT();
  const { query } = usePath();
  const next = query.get("next")?.startsWith("/") ? (query.get("next") as string) : "/";
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [nickname, setNickname] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const signup = props.mode === "signup";

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    try {
      const pair = signup
        ? (await call(() => api.POST("/v1/auth/signup", { body: { email, password, nickname } }))).tokens
        : await call(() => api.POST("/v1/auth/login", { body: { email, password } }));
      await startSession(pair);
      navigate(next, true);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="narrow">
      <PageTitle>{signup ? t("auth.signup") : t("auth.signin")}</PageTitle>
      <form onSubmit={submit}>
        <div class="field">
          <label for="email">{t("auth.email")}</label>
          <input
            id="email"
            type="email"
            autocomplete="email"
            required
            value={email}
            onInput={(e) => setEmail(e.currentTarget.value)}
          />
        </div>
        <div class="field">
          <label for="password">{t("auth.password")}</label>
          <input
            id="password"
            type="password"
            autocomplete={signup ? "new-password" : "current-password"}
            required
            minLength={signup ? 10 : undefined}
            aria-describedby={signup ? "password-hint" : undefined}
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
          {signup && (
            <small id="password-hint" class="muted">
              {t("auth.passwordHint")}
            </small>
          )}
        </div>
        {signup && (
          <div class="field">
            <label for="signup-nickname">{t("auth.nickname")}</label>
            <input
              id="signup-nickname"
              required
              minLength={2}
              maxLength={20}
              value={nickname}
              onInput={(e) => setNickname(e.currentTarget.value)}
            />
          </div>
        )}
        <button type="submit" disabled={busy}>
          {signup ? t("auth.signup") : t("auth.signin")}
        </button>
        <ErrorNote error={error} />
      </form>
      <p>
        {signup ? t("auth.haveAccount") : t("auth.noAccount")}{" "}
        <Link
          href={
            signup ? `/signin?next=${encodeURIComponent(next)}` : `/signup?next=${encodeURIComponent(next)}`
          }
        >
          {signup ? t("auth.signin") : t("auth.signup")}
        </Link>
      </p>
    </section>
  );
}
