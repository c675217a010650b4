// The spaces home: each space, the pack it came from, its forms with their record counts; a
// superadmin copies a space for another department, anyone exports one as a template pack.
import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import type { Me } from "../App";
import { api } from "../api/client";
import { packHref } from "../api/templates";
import { countRecords, listForms, listSpaces } from "../api/tend";
import { NewSpaceDialog } from "../components/NewSpaceDialog";
import { ProblemNotice } from "../components/ProblemNotice";
import { SpaceNav } from "../components/SpaceNav";
import { useLoad } from "../hooks/useApi";
import { Link, navigate, useLocation } from "../router";
import { formatNumber } from "../format";
import { dateFields, singleSelectFields, type Space, type StoredForm } from "../schema";

interface SpaceSummary {
  space: Space;
  forms: { form: StoredForm; count: number }[];
}

async function loadSummaries(signal: AbortSignal): Promise<{ spaces: SpaceSummary[]; me: Me }> {
  const [spaces, me] = await Promise.all([listSpaces(signal), api<Me>("/api/v1/auth/me", { signal })]);
  const summaries = await Promise.all(
    spaces.map(async (space) => {
      const forms = await listForms(space.name, signal);
      const counted = await Promise.all(forms.map(async (form) => ({ form, count: await countRecords(space.name, form.name, "", signal) })));
      return { space, forms: counted };
    }),
  );
  return { spaces: summaries, me: me.body };
}

export default function SpacesPage() {
  const { t, i18n } = useTranslation();
  const { data: loaded, problem, reload } = useLoad(loadSummaries, []);
  const [copying, setCopying] = useState<Space>();
  const created = useLocation().query.get("created");
  useEffect(() => {
    if (created && loaded) document.querySelector(`[data-testid="space-${CSS.escape(created)}"]`)?.scrollIntoView({ block: "center" });
  }, [created, loaded]);
  if (problem) return <ProblemNotice problem={problem} onRetry={reload} />;
  if (!loaded) return <div className="skeleton" aria-busy="true" />;
  const data = loaded.spaces;
  // Making spaces is for superadmins whose token or session reaches every space.
  const mayCreate = loaded.me.superadmin === true && !loaded.me.space;
  return (
    <section>
      <header className="page-header spaces-header">
        <h1>{t("spaces.title")}</h1>
        <span className="spacer" />
        {mayCreate && (
          <Link href="/templates" data-testid="spaces-templates">
            {t("spaceCopy.browseTemplates")}
          </Link>
        )}
      </header>
      {data.length === 0 && (
        <div className="empty-state">
          <p>{t("spaces.empty")}</p>
          {mayCreate && (
            <Link href="/templates" className="button primary">
              {t("spaceCopy.browseTemplates")}
            </Link>
          )}
        </div>
      )}
      {data.map(({ space, forms }) => (
        <article key={space.name} className={`card space ${created === space.name ? "just-created" : ""}`} data-testid={`space-${space.name}`}>
          <header>
            <h2>{space.title}</h2>
            <span className="muted">
              {space.template ? t("spaces.fromPack", { name: space.template.name, version: space.template.version }) : null}
              {space.copied_from ? t("spaces.copiedFrom", { space: space.copied_from.space }) : null}
            </span>
            {created === space.name && <span className="badge">{t("spaceCopy.created")}</span>}
            <span className="spacer" />
            <span className="space-actions">
              {mayCreate && (
                <button type="button" className="link-button" onClick={() => setCopying(space)} data-testid={`copy-space-${space.name}`}>
                  {t("spaceCopy.copyAction")}
                </button>
              )}
              <a href={packHref(space.name)} download={`${space.name}.zip`} data-testid={`export-pack-${space.name}`}>
                {t("spaceCopy.exportAction")}
              </a>
            </span>
          </header>
          <SpaceNav space={space.name} />
          {forms.length === 0 ? (
            <p className="muted">{t("spaces.noForms")}</p>
          ) : (
            <table className="forms-table">
              <caption className="visually-hidden">{t("spaces.forms")}</caption>
              <tbody>
                {forms.map(({ form, count }) => {
                  const base = `/s/${encodeURIComponent(space.name)}/${encodeURIComponent(form.name)}`;
                  return (
                    <tr key={form.name}>
                      <th scope="row">
                        <Link href={base} data-testid={`form-${form.name}`}>
                          {form.definition.title ?? form.name}
                        </Link>
                        {form.definition.description && <div className="muted small">{form.definition.description}</div>}
                      </th>
                      <td className="num" data-testid={`count-${form.name}`}>
                        {t("spaces.records", { n: formatNumber(count, i18n.language) })}
                      </td>
                      <td className="actions">
                        {(form.definition.pipeline || singleSelectFields(form.definition).length > 0) && (
                          <Link href={`${base}/board`}>{t("spaces.board")}</Link>
                        )}
                        {dateFields(form.definition).length > 0 && <Link href={`${base}/calendar`}>{t("spaces.calendar")}</Link>}
                        <Link href={`${base}/design`} data-testid={`design-${form.name}`}>
                          {t("spaces.design")}
                        </Link>
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          )}
          <NewForm space={space.name} taken={forms.map((f) => f.form.name)} />
        </article>
      ))}
      {copying && (
        <NewSpaceDialog
          source={{ fromSpace: copying.name, title: copying.title }}
          taken={data.map((d) => d.space.name)}
          onClose={() => setCopying(undefined)}
          onCreated={(space) => {
            setCopying(undefined);
            navigate(`/?created=${encodeURIComponent(space.name)}`);
            reload();
          }}
        />
      )}
    </section>
  );
}

const FORM_NAME = /^[a-z][a-z0-9_-]{0,62}$/;

/** Names a new form and opens it in the designer. */
function NewForm({ space, taken }: { space: string; taken: string[] }) {
  const { t } = useTranslation();
  const [name, setName] = useState("");
  const valid = FORM_NAME.test(name) && !taken.includes(name);
  return (
    <form
      className="new-form"
      onSubmit={(e) => {
        e.preventDefault();
        if (valid) navigate(`/s/${encodeURIComponent(space)}/${encodeURIComponent(name)}/design`);
      }}
    >
      <label>
        {t("spaces.newFormName")}
        <input value={name} onChange={(e) => setName(e.target.value.trim())} placeholder="account" aria-describedby={`new-form-help-${space}`} data-testid={`new-form-name-${space}`} />
      </label>
      <button type="submit" disabled={!valid} data-testid={`new-form-${space}`}>
        {t("spaces.newForm")}
      </button>
      <small id={`new-form-help-${space}`} className="muted">
        {name && taken.includes(name) ? t("spaces.newFormTaken") : t("spaces.newFormHelp")}
      </small>
    </form>
  );
}
