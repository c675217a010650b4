// A space's workflows: what starts each one, whether it is on, how its last run ended, and a
// way to start a new one in the builder.
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { SpaceNav } from "../components/SpaceNav";
import { ProblemNotice } from "../components/ProblemNotice";
import { useLoad } from "../hooks/useApi";
import { formatInstant } from "../format";
import { Link, navigate } from "../router";
import { lastRun, listWorkflows, type Run } from "../workflow/api";
import { triggerKind, type StoredWorkflow } from "../workflow/model";
import { triggerSummary } from "../workflow/summary";

interface Row {
  workflow: StoredWorkflow;
  last: Run | null;
}

async function load(space: string, signal: AbortSignal): Promise<Row[]> {
  const workflows = await listWorkflows(space, signal);
  return Promise.all(workflows.map(async (workflow) => ({ workflow, last: await lastRun(space, workflow.name, signal).catch(() => null) })));
}

export const workflowHref = (space: string, name: string) => `/space/${encodeURIComponent(space)}/workflows/${encodeURIComponent(name)}`;

export default function WorkflowsPage({ space }: { space: string }) {
  const { t, i18n } = useTranslation();
  const { data, problem, reload } = useLoad((signal) => load(space, signal), [space]);
  return (
    <div className="workflows-page" data-testid="workflows-page">
      <SpaceNav space={space} />
      <header className="page-header">
        <div>
          <div className="breadcrumb">
            <Link href="/">{t("nav.spaces")}</Link> / {space}
          </div>
          <h1>{t("workflows.title")}</h1>
        </div>
        <span className="spacer" />
        <NewWorkflow space={space} taken={data?.map((r) => r.workflow.name) ?? []} />
      </header>
      {problem && <ProblemNotice problem={problem} onRetry={reload} />}
      {!data && !problem && <div className="skeleton" aria-busy="true" />}
      {data && data.length === 0 && <p className="empty-state">{t("workflows.empty")}</p>}
      {data && data.length > 0 && (
        <table className="forms-table workflows-table card" data-testid="workflows-table">
          <thead>
            <tr>
              <th scope="col">{t("workflows.columns.name")}</th>
              <th scope="col">{t("workflows.columns.trigger")}</th>
              <th scope="col">{t("workflows.columns.state")}</th>
              <th scope="col">{t("workflows.columns.lastRun")}</th>
              <th scope="col" className="num">
                {t("workflows.columns.version")}
              </th>
            </tr>
          </thead>
          <tbody>
            {data.map(({ workflow, last }) => {
              const enabled = workflow.definition.enabled !== false;
              return (
                <tr key={workflow.name} data-testid={`workflow-row-${workflow.name}`}>
                  <th scope="row">
                    <Link href={workflowHref(space, workflow.name)} data-testid={`open-workflow-${workflow.name}`}>
                      {workflow.definition.title ?? workflow.name}
                    </Link>
                    <div className="muted small">
                      <code>{workflow.name}</code>
                    </div>
                  </th>
                  <td>
                    <span className="badge">{t(`workflows.kinds.${triggerKind(workflow.definition.trigger)}`)}</span> {triggerSummary(workflow.definition.trigger, t, i18n.language)}
                  </td>
                  <td>
                    <span className={`badge ${enabled ? "state-on" : "state-off"}`} data-testid={`workflow-state-${workflow.name}`}>
                      {enabled ? t("workflows.enabled") : t("workflows.disabled")}
                    </span>
                  </td>
                  <td data-testid={`workflow-last-${workflow.name}`}>
                    {last ? (
                      <>
                        <span className={`badge run-${last.status}`}>{t(`workflows.status.${last.status}`)}</span>{" "}
                        <span className="muted small">{formatInstant(last.started_at, i18n.language)}</span>
                      </>
                    ) : (
                      <span className="muted">{t("workflows.neverRan")}</span>
                    )}
                  </td>
                  <td className="num">{workflow.version}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </div>
  );
}

/** A name for a new workflow (the API's name rules: lowercase, digits, `-` and `_`), then the builder. */
function NewWorkflow({ space, taken }: { space: string; taken: string[] }) {
  const { t } = useTranslation();
  const [name, setName] = useState("");
  const valid = /^[a-z][a-z0-9_-]{0,62}$/.test(name);
  const exists = taken.includes(name);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (valid && !exists) navigate(workflowHref(space, name));
  };
  return (
    <form className="inline new-workflow" onSubmit={submit}>
      <label>
        <span className="visually-hidden">{t("workflows.newName")}</span>
        <input value={name} placeholder={t("workflows.newName")} onChange={(e) => setName(e.target.value.trim())} aria-invalid={name !== "" && (!valid || exists)} aria-describedby="new-workflow-help" data-testid="new-workflow-name" />
      </label>
      <button type="submit" className="primary" disabled={!valid || exists} data-testid="new-workflow">
        {t("workflows.new")}
      </button>
      <small id="new-workflow-help" className={name !== "" && (!valid || exists) ? "field-error" : "muted"}>
        {exists ? t("workflows.nameTaken") : t("workflows.nameHelp")}
      </small>
    </form>
  );
}
