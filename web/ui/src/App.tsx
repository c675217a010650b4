// The app shell: who is signed in, a top bar (navigation, language, sign out) and the page
// the URL names. Pages load lazily, so the first visit downloads only the shell and its page.
import { lazy, Suspense, useCallback, useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { api, Problem, SIGNED_OUT } from "./api/client";
import { LANGUAGES } from "./i18n";
import { forgetSignedIn } from "./hooks/usePeople";
import { Link, match, navigate, useLocation } from "./router";
import { SignIn } from "./pages/SignIn";
import { ProblemNotice } from "./components/ProblemNotice";

const SpacesPage = lazy(() => import("./pages/Spaces"));
const GridPage = lazy(() => import("./pages/Grid"));
const RecordPage = lazy(() => import("./pages/RecordPage"));
const BoardPage = lazy(() => import("./pages/Board"));
const CalendarPage = lazy(() => import("./pages/Calendar"));
const MyWorkPage = lazy(() => import("./pages/MyWork"));
const AccountPage = lazy(() => import("./pages/Account"));
const DashboardsPage = lazy(() => import("./pages/Dashboards"));
const ImportPage = lazy(() => import("./pages/Import"));
const DesignerPage = lazy(() => import("./pages/Designer"));
const WorkflowsPage = lazy(() => import("./pages/Workflows"));
const WorkflowBuilderPage = lazy(() => import("./pages/WorkflowBuilder"));
const RunsPage = lazy(() => import("./pages/Runs"));
const TimersPage = lazy(() => import("./pages/Timers"));
const DeliveriesPage = lazy(() => import("./pages/Deliveries"));
const IntegrationsPage = lazy(() => import("./pages/Integrations"));
const TemplatesPage = lazy(() => import("./pages/Templates"));
const UpcomingPage = lazy(() => import("./pages/Upcoming"));

export interface Me {
  caller: string;
  token_id: string;
  role: string;
  via: "session" | "token";
  /** The user signed in; none for a bootstrap token's session. */
  user?: { id: string; name: string; email: string } | null;
  superadmin?: boolean;
  /** The one space a token is narrowed to, if it is. */
  space?: string | null;
}

type Auth = { state: "loading" } | { state: "signed-out" } | { state: "signed-in"; me: Me } | { state: "error"; problem: Problem };

export function App() {
  const { t } = useTranslation();
  const location = useLocation();
  const [auth, setAuth] = useState<Auth>({ state: "loading" });
  const currentSpace = spaceOf(location.path);

  const loadMe = useCallback(() => {
    api<Me>("/api/v1/auth/me")
      .then(({ body }) => setAuth({ state: "signed-in", me: body }))
      .catch((err: unknown) => {
        if (err instanceof Problem && err.status === 401) setAuth({ state: "signed-out" });
        else if (err instanceof Problem) setAuth({ state: "error", problem: err });
      });
  }, []);
  useEffect(loadMe, [loadMe]);
  useEffect(() => {
    const signedOut = () => setAuth({ state: "signed-out" });
    window.addEventListener(SIGNED_OUT, signedOut);
    return () => window.removeEventListener(SIGNED_OUT, signedOut);
  }, []);

  const signOut = async () => {
    try {
      await api("/api/v1/auth/session", { method: "DELETE" });
    } finally {
      forgetSignedIn();
      setAuth({ state: "signed-out" });
      navigate("/signin");
    }
  };

  let content;
  if (auth.state === "loading") content = <p className="muted">{t("app.loading")}</p>;
  else if (auth.state === "error") content = <ProblemNotice problem={auth.problem} onRetry={loadMe} />;
  else if (auth.state === "signed-out" || location.path === "/signin")
    content = (
      <SignIn
        linkInvalid={location.query.get("link") === "invalid"}
        onSignedIn={(me) => {
          forgetSignedIn();
          setAuth({ state: "signed-in", me });
          if (location.path === "/signin") navigate("/", { replace: true });
        }}
      />
    );
  else
    content = (
      <Suspense fallback={<div className="skeleton" aria-busy="true" />}>
        {location.path === "/account" ? <AccountPage me={auth.me} /> : route(location.path)}
      </Suspense>
    );

  return (
    <div className="app">
      <a className="skip" href="#main">
        {t("app.skipToContent")}
      </a>
      <header className="topbar">
        <Link className="brand" href="/">
          {t("app.name")}
        </Link>
        <nav aria-label={t("app.name")}>
          {auth.state === "signed-in" && (
            <>
              <Link href="/" aria-current={location.path === "/" ? "page" : undefined} data-testid="nav-spaces">
                {t("nav.spaces")}
              </Link>
              {currentSpace && (
                <Link
                  href={`/d/${encodeURIComponent(currentSpace)}`}
                  aria-current={location.path.startsWith("/d/") ? "page" : undefined}
                  data-testid="nav-dashboards"
                >
                  {t("nav.dashboards")}
                </Link>
              )}
              <Link href="/my-work" aria-current={location.path === "/my-work" ? "page" : undefined} data-testid="nav-my-work">
                {t("nav.myWork")}
              </Link>
              {auth.me.superadmin && !auth.me.space && (
                <Link href="/templates" aria-current={location.path === "/templates" ? "page" : undefined} data-testid="nav-templates">
                  {t("templates.nav")}
                </Link>
              )}
            </>
          )}
        </nav>
        {auth.state === "signed-in" && (
          <Link className="muted small" href="/account" aria-current={location.path === "/account" ? "page" : undefined} data-testid="nav-account">
            {t("nav.signedInAs", { who: auth.me.user?.name ?? auth.me.caller })}
          </Link>
        )}
        <LanguageSwitch />
        {auth.state === "signed-in" && (
          <button type="button" className="link-button" onClick={() => void signOut()} data-testid="sign-out">
            {t("nav.signOut")}
          </button>
        )}
      </header>
      <main id="main" className="page">
        {content}
      </main>
    </div>
  );
}

/** The space a path is in (`/s/:space/...`, `/d/:space/...` or `/space/:space/...`), if any. */
function spaceOf(path: string): string | undefined {
  const [, kind, space] = path.split("/");
  return (kind === "s" || kind === "d" || kind === "space") && space ? decodeURIComponent(space) : undefined;
}

function route(path: string) {
  if (path === "/") return <SpacesPage />;
  if (path === "/my-work") return <MyWorkPage />;
  if (path === "/templates") return <TemplatesPage />;
  let params = match("/space/:space/upcoming", path);
  if (params) return <UpcomingPage key={params.space} space={params.space} />;
  params = match("/d/:space", path);
  if (params) return <DashboardsPage key={params.space} space={params.space} />;
  params = match("/d/:space/:dashboard", path);
  if (params) return <DashboardsPage key={`${params.space}/${params.dashboard}`} space={params.space} dashboard={params.dashboard} />;
  params = match("/space/:space/workflows", path);
  if (params) return <WorkflowsPage key={params.space} space={params.space} />;
  params = match("/space/:space/workflows/:workflow", path);
  if (params) return <WorkflowBuilderPage key={`${params.space}/${params.workflow}`} space={params.space} workflow={params.workflow} />;
  params = match("/space/:space/runs", path);
  if (params) return <RunsPage key={params.space} space={params.space} />;
  params = match("/space/:space/runs/:id", path);
  if (params) return <RunsPage key={`${params.space}/${params.id}`} space={params.space} id={params.id} />;
  params = match("/space/:space/timers", path);
  if (params) return <TimersPage key={params.space} space={params.space} />;
  params = match("/space/:space/deliveries", path);
  if (params) return <DeliveriesPage key={params.space} space={params.space} />;
  params = match("/space/:space/deliveries/:id", path);
  if (params) return <DeliveriesPage key={`${params.space}/${params.id}`} space={params.space} id={params.id} />;
  params = match("/space/:space/integrations", path);
  if (params) return <IntegrationsPage key={params.space} space={params.space} />;
  params = match("/s/:space/:form", path);
  if (params) return <GridPage key={`${params.space}/${params.form}`} space={params.space} form={params.form} />;
  params = match("/s/:space/:form/board", path);
  if (params) return <BoardPage key={`${params.space}/${params.form}`} space={params.space} form={params.form} />;
  params = match("/s/:space/:form/calendar", path);
  if (params) return <CalendarPage key={`${params.space}/${params.form}`} space={params.space} form={params.form} />;
  params = match("/s/:space/:form/import", path);
  if (params) return <ImportPage key={`${params.space}/${params.form}`} space={params.space} form={params.form} />;
  params = match("/s/:space/:form/design", path);
  if (params) return <DesignerPage key={`${params.space}/${params.form}`} space={params.space} form={params.form} />;
  params = match("/s/:space/:form/r/:id", path);
  if (params) return <RecordPage key={params.id} space={params.space} form={params.form} id={params.id} />;
  return <NotFound />;
}

export function LanguageSwitch() {
  const { t, i18n } = useTranslation();
  return (
    <label className="language">
      <span>{t("app.language")}</span>
      <select data-testid="language" value={i18n.language} onChange={(e) => void i18n.changeLanguage(e.target.value)}>
        {LANGUAGES.map((l) => (
          <option key={l.code} value={l.code}>
            {l.label}
          </option>
        ))}
      </select>
    </label>
  );
}

function NotFound() {
  const { t } = useTranslation();
  return (
    <section className="empty">
      <h1>{t("notFound.title")}</h1>
      <p>{t("notFound.body")}</p>
      <Link href="/">{t("notFound.home")}</Link>
    </section>
  );
}
