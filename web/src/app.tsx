import type { JSX } from "preact";
import { useEffect, useState } from "preact/hooks";
import { restoreSession, sessionStore, signOut } from "./api/client";
import { setLang, useT } from "./i18n";
import { AdminPage } from "./pages/admin";
import { AuthPage } from "./pages/auth";
import { ChatPage } from "./pages/chat";
import { CheckInPage } from "./pages/check-in";
import { FestivalPage } from "./pages/festival";
import { FestivalEditPage } from "./pages/festival-edit";
import { FestivalsPage } from "./pages/festivals";
import { InboxPage, unreadStore, useUnreadPolling } from "./pages/inbox";
import { MePage } from "./pages/me";
import { SalesPage } from "./pages/sales";
import { Link, match, navigate, usePath } from "./router";
import { useStore } from "./store";
import { PageTitle } from "./ui";

type Params = Record<string, string>;
const ROUTES: [string, (p: Params) => JSX.Element][] = [
  ["/", () => <FestivalsPage />],
  ["/festivals/:id", (p) => <FestivalPage id={Number(p.id)} key={p.id} />],
  ["/festivals/:id/chat", (p) => <ChatPage id={Number(p.id)} key={p.id} />],
  ["/me", () => <MePage />],
  ["/inbox", () => <InboxPage />],
  ["/signin", () => <AuthPage mode="signin" key="signin" />],
  ["/signup", () => <AuthPage mode="signup" key="signup" />],
  ["/admin", () => <AdminPage />],
  ["/admin/check-in", () => <CheckInPage />],
  ["/admin/festivals/:id", (p) => <FestivalEditPage id={Number(p.id)} key={p.id} />],
  ["/admin/festivals/:id/sales", (p) => <SalesPage id={Number(p.id)} key={p.id} />],
];

function Page() {
  const t = useT();
  const { path } = usePath();
  const session = useStore(sessionStore);
  const needsSession = /^\/(me|inbox|admin)|\/chat$/.test(path);
  useEffect(() => {
    if (needsSession && !session) navigate(`/signin?next=${encodeURIComponent(path)}`, true);
  }, [path, session]);
  if (needsSession && !session) return null;

  for (const [pattern, render] of ROUTES) {
    const params = match(pattern, path);
    if (params) return render(params);
  }
  return <PageTitle>{t("notFound")}</PageTitle>;
}

export function App() {
  const t = useT();
  const session = useStore(sessionStore);
  const [ready, setReady] = useState(false);
  const unread = useStore(unreadStore);
  useUnreadPolling();
  useEffect(() => {
    document.documentElement.lang = t.lang;
    void restoreSession().finally(() => setReady(true));
  }, []);
  useEffect(() => {
    document.title = t("app.name");
  }, [t.lang]);

  return (
    <>
      <a class="skip" href="#main">
        {t.lang === "ko" ? "본문으로 건너뛰기" : "Skip to content"}
      </a>
      <header>
        <Link href="/" class="brand">
          {t("app.name")}
        </Link>
        <nav aria-label={t("nav.main")}>
          <Link href="/">{t("nav.festivals")}</Link>
          {session && <Link href="/me">{t("nav.me")}</Link>}
          {session && (
            <Link href="/inbox">
              {t("inbox.title")}
              {unread > 0 && (
                <span class="badge count">
                  {unread}
                  <span class="visually-hidden"> {t("inbox.unread")}</span>
                </span>
              )}
            </Link>
          )}
          {session?.profile.role === "admin" && <Link href="/admin">{t("nav.admin")}</Link>}
          {!session && <Link href="/signin">{t("nav.signin")}</Link>}
          {!session && <Link href="/signup">{t("nav.signup")}</Link>}
          {session && (
            <button
              type="button"
              class="link"
              onClick={() => {
                void signOut();
                navigate("/");
              }}
            >
              {t("nav.signout")}
            </button>
          )}
          <a href="/v1/docs">{t("nav.docs")}</a>
          <button
            type="button"
            class="link"
            lang={t.lang === "ko" ? "en" : "ko"}
            onClick={() => setLang(t.lang === "ko" ? "en" : "ko")}
          >
            {t("nav.lang")}
          </button>
        </nav>
      </header>
      <main id="main">{ready ? <Page /> : <p aria-live="polite">{t("loading")}</p>}</main>
    </>
  );
}
