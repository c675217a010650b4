// The workflow builder: trigger → condition → ordered actions, each a form with pickers; the
// server's 422 pointers shown at the inputs they name and a saved version's warnings (a webhook
// endpoint not defined yet) beside them; a test panel that dry-runs the saved version on a
// record or a sample and runs it for real; enable/disable; versions with a diff.
import { useMemo, useState } from "react";
import { useTranslation } from "react-i18next";
import { Problem } from "../api/client";
import { listForms } from "../api/tend";
import { SpaceNav } from "../components/SpaceNav";
import { ProblemNotice } from "../components/ProblemNotice";
import { useLoad } from "../hooks/useApi";
import { same } from "../diff";
import { Link, setQuery, useLocation } from "../router";
import type { StoredForm } from "../schema";
import { getWorkflow, listEndpoints, listHooks, listMembers, saveWorkflow, spaceZone, type Member, type Named, type Saved } from "../workflow/api";
import { ActionEditor } from "../workflow/ActionEditor";
import { ConditionEditor } from "../workflow/ConditionEditor";
import { IssueSummary, Issues, IssuesContext, type IssueSet } from "../workflow/Issues";
import { TestPanel } from "../workflow/TestPanel";
import { TriggerEditor } from "../workflow/TriggerEditor";
import { VersionsPanel } from "../workflow/VersionsPanel";
import { ACTION_KINDS, blank, newAction, open, save, type ActionKind, type ActionState, type BuilderState, type StoredWorkflow } from "../workflow/model";
import { triggerSummary } from "../workflow/summary";

const TABS = ["build", "versions"] as const;
type Tab = (typeof TABS)[number];

interface Loaded {
  stored: StoredWorkflow | null;
  forms: StoredForm[];
  endpoints: Named[];
  hooks: Named[];
  members: Member[];
  zone: string | undefined;
}

async function load(space: string, name: string, signal: AbortSignal): Promise<Loaded> {
  // The pickers' lists are a help, not a need: one the caller may not read leaves its picker empty.
  const optional = <T,>(p: Promise<T[]>) => p.catch((err: unknown) => (err instanceof Problem && err.status !== 0 ? ([] as T[]) : Promise.reject(err)));
  const [forms, endpoints, hooks, members, zone] = await Promise.all([
    listForms(space, signal),
    optional(listEndpoints(space, signal)),
    optional(listHooks(space, signal)),
    optional(listMembers(space, signal)),
    spaceZone(space, signal).catch(() => undefined),
  ]);
  try {
    return { stored: await getWorkflow(space, name, undefined, signal), forms, endpoints, hooks, members, zone };
  } catch (err) {
    if (err instanceof Problem && err.status === 404) return { stored: null, forms, endpoints, hooks, members, zone };
    throw err;
  }
}

export default function WorkflowBuilderPage({ space, workflow }: { space: string; workflow: string }) {
  const { data, problem, reload } = useLoad((signal) => load(space, workflow, signal), [space, workflow]);
  return (
    <div className="workflow-builder" data-testid="workflow-builder">
      <SpaceNav space={space} />
      {problem && <ProblemNotice problem={problem} onRetry={reload} />}
      {!data && !problem && <div className="skeleton" aria-busy="true" />}
      {data && <Builder space={space} name={workflow} loaded={data} />}
    </div>
  );
}

type Saving = { state: "idle" } | { state: "busy" } | { state: "saved"; saved: Saved } | { state: "failed"; problem: Problem };

function Builder({ space, name, loaded }: { space: string; name: string; loaded: Loaded }) {
  const { t, i18n } = useTranslation();
  const location = useLocation();
  const tab: Tab = location.query.get("tab") === "versions" ? "versions" : "build";
  const [opened, setOpened] = useState<StoredWorkflow | null>(loaded.stored);
  const [state, setState] = useState<BuilderState>(() => (loaded.stored ? open(loaded.stored.definition) : blank(loaded.forms[0]?.name ?? "")));
  const [saving, setSaving] = useState<Saving>({ state: "idle" });
  const [adding, setAdding] = useState<Exclude<ActionKind, "raw">>("create");
  const definition = useMemo(() => save(state), [state]);
  const dirty = !opened || !same(opened.definition, definition);
  const form = loaded.forms.find((f) => f.name === state.trigger.form);
  const enabled = state.enabled !== false;

  const issues: IssueSet = {
    errors: saving.state === "failed" ? (saving.problem.errors.length > 0 ? saving.problem.errors : []) : [],
    warnings: saving.state === "saved" ? saving.saved.warnings : [],
  };

  const store = async (next: BuilderState) => {
    setSaving({ state: "busy" });
    try {
      const saved = await saveWorkflow(space, name, save(next), opened);
      setOpened(saved);
      setState(open(saved.definition));
      setSaving({ state: "saved", saved });
    } catch (err) {
      if (!(err instanceof Problem)) throw err;
      setSaving({ state: "failed", problem: err });
    }
  };
  const setActions = (actions: ActionState[]) => setState((s) => ({ ...s, actions }));
  const move = (i: number, by: number) => {
    const actions = [...state.actions];
    const [item] = actions.splice(i, 1);
    actions.splice(i + by, 0, item);
    setActions(actions);
  };
  const place = (path: string) => {
    const parts = path.split("/").filter(Boolean);
    if (parts[0] === "trigger") return [t("workflows.steps.trigger"), ...parts.slice(1)].join(" › ");
    if (parts[0] === "when") return t("workflows.steps.condition");
    if (parts[0] === "actions" && parts[1] !== undefined) return [t("workflows.actions.step", { n: Number(parts[1]) + 1 }), ...parts.slice(2)].join(" › ");
    return parts.join(" › ");
  };

  const listHref = `/space/${encodeURIComponent(space)}/workflows`;
  return (
    <IssuesContext.Provider value={issues}>
      <header className="page-header">
        <div>
          <div className="breadcrumb">
            <Link href="/">{t("nav.spaces")}</Link> / {space} / <Link href={listHref}>{t("workflows.title")}</Link>
          </div>
          <h1>{state.title || name}</h1>
          <span className="muted small" data-testid="workflow-status">
            {opened ? t("workflows.basedOn", { version: opened.version }) : t("workflows.notSaved")} · {dirty ? t("workflows.unsaved") : t("workflows.upToDate")}
          </span>
        </div>
        <span className="spacer" />
        <label className="switch">
          <input
            type="checkbox"
            role="switch"
            checked={enabled}
            onChange={(e) => {
              const next = { ...state, enabled: e.target.checked };
              setState(next);
              // An enabled switch of a saved, unchanged workflow takes effect at once.
              if (opened && !dirty) void store(next);
            }}
            data-testid="workflow-enabled"
          />
          {enabled ? t("workflows.enabled") : t("workflows.disabled")}
        </label>
        <button type="button" className="primary" disabled={!dirty || saving.state === "busy"} onClick={() => void store(state)} data-testid="save-workflow">
          {t("workflows.save")}
        </button>
      </header>

      {saving.state === "saved" && (
        <div className="notice ok-notice" role="status" data-testid="workflow-saved">
          {t("workflows.saved", { version: saving.saved.version })}
        </div>
      )}
      {saving.state === "failed" && issues.errors.length === 0 && <ProblemNotice problem={saving.problem} />}
      <IssueSummary issues={issues} place={place} />

      <div className="form-settings">
        <label>
          {t("workflows.titleLabel")}
          <input value={state.title ?? ""} onChange={(e) => setState((s) => ({ ...s, title: e.target.value || undefined }))} data-testid="workflow-title" />
          <Issues at="/title" />
        </label>
        <label className="grow">
          {t("workflows.description")}
          <input value={state.description ?? ""} onChange={(e) => setState((s) => ({ ...s, description: e.target.value || undefined }))} data-testid="workflow-description" />
        </label>
      </div>

      <nav className="tabs" role="tablist" aria-label={t("workflows.tabs.label")}>
        {TABS.map((name) => (
          <button key={name} type="button" role="tab" aria-selected={tab === name} onClick={() => setQuery({ tab: name === "build" ? null : name }, { replace: true })} data-testid={`tab-${name}`}>
            {t(`workflows.tabs.${name}`)}
          </button>
        ))}
      </nav>

      {tab === "versions" && <VersionsPanel space={space} name={name} latest={opened?.version ?? 0} draft={definition} />}
      {tab === "build" && (
        <div className="builder-columns">
          <div className="steps">
            <section className="card step" data-testid="step-trigger">
              <h2>
                <span className="step-number">1</span> {t("workflows.steps.trigger")}
              </h2>
              <p className="muted small" data-testid="trigger-summary">
                {triggerSummary(state.trigger, t, i18n.language)}
              </p>
              <TriggerEditor trigger={state.trigger} onChange={(trigger) => setState((s) => ({ ...s, trigger }))} forms={loaded.forms} hooks={loaded.hooks} spaceZone={loaded.zone} />
              <Issues at="/trigger" />
            </section>
            <section className="card step" data-testid="step-condition">
              <h2>
                <span className="step-number">2</span> {t("workflows.steps.condition")}
              </h2>
              <ConditionEditor state={state} onChange={setState} form={form} />
            </section>
            <section className="card step" data-testid="step-actions">
              <h2>
                <span className="step-number">3</span> {t("workflows.steps.actions")}
              </h2>
              {state.actions.length === 0 && <p className="muted">{t("workflows.actions.none")}</p>}
              <ol className="action-list">
                {state.actions.map((action, i) => (
                  <li key={i} className="action-card" data-testid={`action-${i}`}>
                    <header>
                      <strong>
                        {t("workflows.actions.step", { n: i + 1 })} · {t(`workflows.actionKinds.${action.kind}`)}
                      </strong>
                      <span className="spacer" />
                      <button type="button" className="link-button" disabled={i === 0} onClick={() => move(i, -1)} aria-label={t("workflows.actions.up", { n: i + 1 })} data-testid={`action-up-${i}`}>
                        ↑
                      </button>
                      <button
                        type="button"
                        className="link-button"
                        disabled={i === state.actions.length - 1}
                        onClick={() => move(i, 1)}
                        aria-label={t("workflows.actions.down", { n: i + 1 })}
                        data-testid={`action-down-${i}`}
                      >
                        ↓
                      </button>
                      <button type="button" className="link-button" onClick={() => setActions(state.actions.filter((_, j) => j !== i))} aria-label={t("workflows.actions.remove", { n: i + 1 })} data-testid={`action-remove-${i}`}>
                        ✕
                      </button>
                    </header>
                    <ActionEditor
                      index={i}
                      action={action}
                      onChange={(next) => setActions(state.actions.map((a, j) => (j === i ? next : a)))}
                      context={{ forms: loaded.forms, form, endpoints: loaded.endpoints, members: loaded.members }}
                    />
                    <Issues at={`/actions/${i}`} />
                  </li>
                ))}
              </ol>
              <div className="row add-action">
                <label>
                  <span className="visually-hidden">{t("workflows.actions.kind")}</span>
                  <select value={adding} onChange={(e) => setAdding(e.target.value as typeof adding)} data-testid="add-action-kind">
                    {ACTION_KINDS.map((k) => (
                      <option key={k} value={k}>
                        {t(`workflows.actionKinds.${k}`)}
                      </option>
                    ))}
                  </select>
                </label>
                <button type="button" onClick={() => setActions([...state.actions, newAction(adding)])} data-testid="add-action">
                  {t("workflows.actions.add")}
                </button>
              </div>
              <Issues at="/actions" />
            </section>
          </div>
          <TestPanel space={space} workflow={name} form={form} dirty={dirty} saved={opened !== null} event={state.trigger.on?.[0]} />
        </div>
      )}
    </IssuesContext.Provider>
  );
}
