// The app shell: a top bar (navigation, language) and the page the URL names.
import { useTranslation } from "react-i18next";
import { LANGUAGES } from "./i18n";
import { Link, useLocation } from "./router";

export function App() {
  const { t } = useTranslation();
  const location = useLocation();
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
          <Link href="/">{t("nav.spaces")}</Link>
        </nav>
        <LanguageSwitch />
      </header>
      <main id="main" className="page">
        <NotFound key={location.path} />
      </main>
    </div>
  );
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
