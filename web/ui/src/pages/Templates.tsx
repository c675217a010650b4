// The template gallery: a card per built-in pack with what it brings (forms, workflows,
// dashboards, views, sample records); "Use this template" makes a new space from it, with or
// without the sample data.
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { listPacks, type Named, type PackSummary } from "../api/templates";
import { listSpaces } from "../api/tend";
import { NewSpaceDialog } from "../components/NewSpaceDialog";
import { ProblemNotice } from "../components/ProblemNotice";
import { useLoad } from "../hooks/useApi";
import { navigate } from "../router";

async function load(signal: AbortSignal) {
  const [packs, spaces] = await Promise.all([listPacks(signal), listSpaces(signal)]);
  return { packs, spaces, taken: spaces.map((s) => s.name) };
}

export default function TemplatesPage() {
  const { t } = useTranslation();
  const { data, problem, reload } = useLoad(load, []);
  const [installing, setInstalling] = useState<PackSummary>();
  if (problem) return <ProblemNotice problem={problem} onRetry={reload} />;
  if (!data) return <div className="skeleton" aria-busy="true" />;
  return (
    <section className="templates-page">
      <header className="page-header">
        <h1>{t("templates.title")}</h1>
      </header>
      <p className="muted">{t("templates.intro")}</p>
      <div className="pack-grid">
        {data.packs.map((pack) => (
          <article key={pack.name} className="card pack" data-testid={`pack-${pack.name}`}>
            <header>
              <h2>{pack.title}</h2>
              <span className="muted small">{t("templates.version", { version: pack.version })}</span>
            </header>
            <p className="pack-description">{pack.description}</p>
            <dl className="pack-contents">
              <Contents label={t("templates.forms", { count: pack.forms.length })} items={pack.forms} />
              <Contents label={t("templates.workflows", { count: pack.workflows.length })} items={pack.workflows} />
              {pack.dashboards.length > 0 && <Contents label={t("templates.dashboards", { count: pack.dashboards.length })} items={pack.dashboards} />}
              {pack.views.length > 0 && <Contents label={t("templates.views", { count: pack.views.length })} items={pack.views} />}
            </dl>
            {data.spaces.some((space) => space.template?.name === pack.name) && (
              <p className="muted small" data-testid={`pack-in-use-${pack.name}`}>
                {t("templates.inUse")}{" "}
                {data.spaces
                  .filter((space) => space.template?.name === pack.name)
                  .map((space) => space.title)
                  .join(" · ")}
              </p>
            )}
            <footer>
              <span className="muted small">{pack.sample_records > 0 ? t("templates.sample", { count: pack.sample_records }) : t("templates.noSample")}</span>
              <span className="spacer" />
              <button type="button" className="primary" onClick={() => setInstalling(pack)} data-testid={`install-${pack.name}`}>
                {t("templates.use")}
              </button>
            </footer>
          </article>
        ))}
      </div>
      {installing && (
        <NewSpaceDialog
          source={{ template: installing.name, title: installing.title, sampleRecords: installing.sample_records }}
          taken={data.taken}
          onClose={() => setInstalling(undefined)}
          onCreated={(space) => navigate(`/?created=${encodeURIComponent(space.name)}`)}
        />
      )}
    </section>
  );
}

function Contents({ label, items }: { label: string; items: Named[] }) {
  return (
    <>
      <dt>{label}</dt>
      <dd>{items.map((item) => item.title ?? item.name).join(" · ")}</dd>
    </>
  );
}
