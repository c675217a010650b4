// The spaces home: each space, the pack it came from, its forms with their record counts.
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { countRecords, listForms, listSpaces } from "../api/tend";
import { ProblemNotice } from "../components/ProblemNotice";
import { SpaceNav } from "../components/SpaceNav";
import { useLoad } from "../hooks/useApi";
import { Link, navigate } from "../router";
import { formatNumber } from "../format";
import { dateFields, singleSelectFields, type Space, type StoredForm } from "../schema";

interface SpaceSummary {
  space: Space;
  forms: { form: StoredForm; count: number }[];
}

async function loadSummaries(signal: AbortSignal): Promise<SpaceSummary[]> {
  const spaces = await listSpaces(signal);
  return Promise.all(
    spaces.map(async (space) => {
      const forms = await listForms(space.name, signal);
      const counted = await Promise.all(forms.map(async (form) => ({ form, count: await countRecords(space.name, form.name, "", signal) })));
      return { space, forms: counted };
    }),
  );
}

export default function SpacesPage() {
  const { t, i18n } = useTranslation();
  const { data, problem, reload } = useLoad(loadSummaries, []);
  if (problem) return <ProblemNotice problem={problem} onRetry={reload} />;
  if (!data) return <div className="skeleton" aria-busy="true" />;
  return (
    <section>
      <h1>{t("spaces.title")}</h1>
      {data.length === 0 && <p className="empty-state">{t("spaces.empty")}</p>}
      {data.map(({ space, forms }) => (
        <article key={space.name} className="card space" data-testid={`space-${space.name}`}>
          <header>
            <h2>{space.title}</h2>
            <span className="muted">
              {space.template ? t("spaces.fromPack", { name: space.template.name, version: space.template.version }) : null}
              {space.copied_from ? t("spaces.copiedFrom", { space: space.copied_from.space }) : null}
            </span>
            <SpaceNav space={space.name} />
          </header>
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
