// The form designer: build a form (fields, sections, computed fields, rules, pipeline) without
// writing JSON Schema, try it live on a sample or a stored record (the server evaluates the
// draft, storing nothing), preview it as users will see it, edit the same definition as raw
// JSON, and publish it as the next version, seeing first what it would reject.
import { useEffect, useMemo, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { Problem, type FieldError } from "../api/client";
import { getForm, listForms, listRecords } from "../api/tend";
import { FormPreview } from "../components/RecordView";
import { ProblemNotice } from "../components/ProblemNotice";
import { useLoad } from "../hooks/useApi";
import { refName, useRefNames } from "../hooks/useRefNames";
import { Link, setQuery, useLocation } from "../router";
import { same } from "../diff";
import { recordTitle, type FormDefinition, type StoredForm, type TendRecord } from "../schema";
import { evaluateDraft, publish, refusal, type DraftEvaluation, type Refusal } from "../designer/api";
import { FieldsTab } from "../designer/FieldsTab";
import { PipelineTab } from "../designer/PipelineTab";
import { RulesTab } from "../designer/RulesTab";
import { VersionsTab } from "../designer/VersionsTab";
import { apply, blank, open, save, type DesignModel } from "../designer/model";

const TABS = ["fields", "rules", "pipeline", "preview", "json", "versions"] as const;
type Tab = (typeof TABS)[number];

interface Loaded {
  stored: StoredForm | null;
  forms: StoredForm[];
}

async function load(space: string, form: string, signal: AbortSignal): Promise<Loaded> {
  const forms = await listForms(space, signal);
  try {
    return { stored: await getForm(space, form, signal), forms };
  } catch (err) {
    if (err instanceof Problem && err.status === 404) return { stored: null, forms };
    throw err;
  }
}

export default function DesignerPage({ space, form }: { space: string; form: string }) {
  const { data, problem, reload } = useLoad((signal) => load(space, form, signal), [space, form]);
  if (problem) return <ProblemNotice problem={problem} onRetry={reload} />;
  if (!data) return <div className="skeleton" aria-busy="true" />;
  return <Designer space={space} form={form} initial={data.stored} forms={data.forms} />;
}

type Change = (model: DesignModel) => DesignModel;

type Publishing =
  | { state: "idle" }
  | { state: "busy" }
  | { state: "published"; version: number }
  | { state: "refused"; refusal: Refusal }
  | { state: "stale"; problem: Problem }
  | { state: "failed"; problem: Problem };

function Designer({ space, form, initial, forms }: { space: string; form: string; initial: StoredForm | null; forms: StoredForm[] }) {
  const { t } = useTranslation();
  const location = useLocation();
  const tab: Tab = (TABS as readonly string[]).includes(location.query.get("tab") ?? "") ? (location.query.get("tab") as Tab) : "fields";
  const [base, setBase] = useState<StoredForm | null>(initial);
  const [model, setModel] = useState<DesignModel>(() => (initial ? open(initial.definition) : blank()));
  const [selected, setSelected] = useState<string | null>(null);
  const definition = useMemo(() => save(model), [model]);
  const change = (...changes: Change[]) => setModel((m) => apply(m, ...changes));
  const dirty = !base || !same(base.definition, definition);

  // The sample the draft is tried on: a new record typed in the preview, or a stored one.
  const records = useLoad((signal) => (base ? listRecords(space, form, { limit: 50 }, signal).then((p) => p.items) : Promise.resolve([] as TendRecord[])), [space, form, base?.version]);
  const [sample, setSample] = useState<{ id?: string; data: Record<string, unknown> }>({ data: {} });
  const [evaluation, setEvaluation] = useState<DraftEvaluation | null>(null);
  const [definitionProblem, setDefinitionProblem] = useState<Problem | null>(null);
  useEffect(() => {
    const controller = new AbortController();
    const timer = window.setTimeout(() => {
      evaluateDraft(space, form, definition, sample.data, sample.id, controller.signal)
        .then((result) => {
          setEvaluation(result);
          setDefinitionProblem(null);
        })
        .catch((err: unknown) => {
          if (controller.signal.aborted || !(err instanceof Problem)) return;
          setEvaluation(null);
          setDefinitionProblem(err);
        });
    }, 350);
    return () => {
      window.clearTimeout(timer);
      controller.abort();
    };
  }, [space, form, definition, sample]);

  const fieldErrors = useMemo(() => {
    const byField: Record<string, string[]> = {};
    for (const error of definitionProblem?.errors ?? []) {
      const match = /^\/schema\/properties\/([^/]+)/.exec(error.path) ?? /^\/(?:computed|indexes)\/([^/]+)/.exec(error.path);
      const name = match && !/^\d+$/.test(match[1]) ? match[1] : null;
      if (name) (byField[name] ??= []).push(error.message);
    }
    return byField;
  }, [definitionProblem]);

  const [publishing, setPublishing] = useState<Publishing>({ state: "idle" });
  const doPublish = async (force: boolean) => {
    setPublishing({ state: "busy" });
    try {
      const stored = await publish(space, form, definition, base, force);
      setBase(stored);
      setPublishing({ state: "published", version: stored.version });
    } catch (err) {
      if (!(err instanceof Problem)) throw err;
      const refused = refusal(err);
      if (refused) setPublishing({ state: "refused", refusal: refused });
      else if (err.status === 412) setPublishing({ state: "stale", problem: err });
      else setPublishing({ state: "failed", problem: err });
    }
  };

  const title = model.title || base?.definition.title || form;
  const gridHref = `/s/${encodeURIComponent(space)}/${encodeURIComponent(form)}`;
  return (
    <div className="designer" data-testid="designer">
      <header className="page-header designer-header">
        <div>
          <div className="breadcrumb">
            <Link href="/">{t("nav.spaces")}</Link> / {space} {base && <> / <Link href={gridHref}>{base.definition.title ?? form}</Link></>}
          </div>
          <h1>{base ? t("designer.titleExisting", { form: title }) : t("designer.titleNew", { form })}</h1>
          <span className="muted small">
            {base ? t("designer.basedOn", { version: base.version }) : t("designer.notPublished")} · {dirty ? t("designer.unpublished") : t("designer.upToDate")}
          </span>
        </div>
        <span className="spacer" />
        <button type="button" className="primary" disabled={!dirty || publishing.state === "busy"} onClick={() => void doPublish(false)} data-testid="publish">
          {t("designer.publish")}
        </button>
      </header>

      <div className="form-settings">
        <label>
          {t("designer.formTitle")}
          <input value={model.title ?? ""} onChange={(e) => setModel((m) => ({ ...m, title: e.target.value || undefined }))} data-testid="form-title" />
        </label>
        <label className="grow">
          {t("designer.formDescription")}
          <input value={model.description ?? ""} onChange={(e) => setModel((m) => ({ ...m, description: e.target.value || undefined }))} data-testid="form-description" />
        </label>
        <label>
          {t("designer.sample")}
          <select
            value={sample.id ?? ""}
            onChange={(e) => {
              const record = records.data?.find((r) => r.id === e.target.value);
              setSample(record ? { id: record.id, data: record.data } : { data: {} });
            }}
            data-testid="sample-picker"
          >
            <option value="">{t("designer.newSample")}</option>
            {(records.data ?? []).map((r) => (
              <option key={r.id} value={r.id}>
                {recordTitle(r, base?.definition)}
              </option>
            ))}
          </select>
        </label>
      </div>

      {publishing.state === "published" && (
        <div className="notice ok-notice" role="status" data-testid="published">
          {t("designer.published", { version: publishing.version })} <Link href={gridHref}>{t("designer.openRecords")}</Link>
        </div>
      )}
      {publishing.state === "failed" && <PublishErrors problem={publishing.problem} />}
      {definitionProblem && (
        <div className="notice error" role="alert" data-testid="definition-errors">
          <div>
            <strong>{t("designer.definitionInvalid")}</strong>
            <PointerErrors errors={definitionProblem.errors.length > 0 ? definitionProblem.errors : [{ path: "", message: definitionProblem.detail }]} />
          </div>
        </div>
      )}

      <nav className="tabs" role="tablist" aria-label={t("designer.tabsLabel")}>
        {TABS.map((name) => (
          <button
            key={name}
            type="button"
            role="tab"
            aria-selected={tab === name}
            onClick={() => setQuery({ tab: name === "fields" ? null : name }, { replace: true })}
            data-testid={`tab-${name}`}
          >
            {t(`designer.tabs.${name}`)}
          </button>
        ))}
      </nav>

      <div role="tabpanel" className="tab-panel">
        {tab === "fields" && (
          <FieldsTab model={model} change={change} selected={selected} select={setSelected} forms={forms} evaluation={evaluation} fieldErrors={fieldErrors} />
        )}
        {tab === "rules" && <RulesTab model={model} change={change} evaluation={evaluation} errors={definitionProblem?.errors ?? []} />}
        {tab === "pipeline" && <PipelineTab model={model} change={change} errors={definitionProblem?.errors ?? []} />}
        {tab === "preview" && (
          <div className="preview-columns">
            <FormPreview
              space={space}
              definition={definition}
              forms={forms}
              data={withComputed(sample.data, evaluation, definition)}
              errors={evaluation?.errors ?? []}
              onChange={(data) => setSample((s) => ({ ...s, data }))}
            />
            <Outcome evaluation={evaluation} />
          </div>
        )}
        {tab === "json" && <JsonTab definition={definition} onChange={(d) => setModel(open(d))} />}
        {tab === "versions" && <VersionsTab space={space} form={form} latest={base?.version ?? 0} draft={definition} />}
      </div>

      {publishing.state === "refused" && (
        <ImpactDialog
          space={space}
          form={form}
          refusal={publishing.refusal}
          onCancel={() => setPublishing({ state: "idle" })}
          onForce={() => void doPublish(true)}
        />
      )}
      {publishing.state === "stale" && (
        <div className="modal-backdrop">
          <div className="modal" role="dialog" aria-modal="true" aria-labelledby="stale-title" data-testid="stale-dialog">
            <h2 id="stale-title">{t("designer.staleTitle")}</h2>
            <p>{t("designer.staleBody")}</p>
            <div className="modal-actions">
              <button type="button" onClick={() => setPublishing({ state: "idle" })}>
                {t("designer.cancel")}
              </button>
              <button type="button" className="primary" onClick={() => window.location.reload()}>
                {t("designer.reload")}
              </button>
            </div>
          </div>
        </div>
      )}
    </div>
  );
}

/** The sample as users would see it: what they typed, with the computed values and the stage the server gave. */
function withComputed(data: Record<string, unknown>, evaluation: DraftEvaluation | null, definition: FormDefinition): Record<string, unknown> {
  if (!evaluation) return data;
  const shown = { ...data };
  for (const c of evaluation.computed) {
    if (c.value === undefined || c.value === null) delete shown[c.field];
    else shown[c.field] = c.value;
  }
  const stage = definition.pipeline?.field;
  if (stage && shown[stage] === undefined && evaluation.record[stage] !== undefined) shown[stage] = evaluation.record[stage];
  return shown;
}

/** What the draft made of the sample: computed values, each rule's outcome, the errors a save would give. */
function Outcome({ evaluation }: { evaluation: DraftEvaluation | null }) {
  const { t } = useTranslation();
  if (!evaluation) return <aside className="outcome muted">{t("designer.noResult")}</aside>;
  return (
    <aside className="outcome" aria-label={t("designer.outcome")} data-testid="outcome">
      <h3>{t("designer.outcome")}</h3>
      <p className={evaluation.valid ? "ok" : "field-error"} data-testid="outcome-valid">
        {evaluation.valid ? t("designer.wouldSave") : t("designer.wouldRefuse", { count: evaluation.errors.length })}
      </p>
      {evaluation.computed.length > 0 && (
        <ul className="plain">
          {evaluation.computed.map((c) => (
            <li key={c.field}>
              <code>{c.field}</code> = {c.error ? <span className="field-error">{c.error.message}</span> : <code>{JSON.stringify(c.value ?? null)}</code>}
            </li>
          ))}
        </ul>
      )}
      {evaluation.errors.length > 0 && (
        <PointerErrors errors={evaluation.errors} className="plain" />
      )}
    </aside>
  );
}

/** The raw definition, editable: valid JSON replaces the model; anything else says why and waits. */
function JsonTab({ definition, onChange }: { definition: FormDefinition; onChange: (d: FormDefinition) => void }) {
  const { t } = useTranslation();
  const formatted = JSON.stringify(definition, null, 2);
  const [text, setText] = useState(formatted);
  const [error, setError] = useState<string | null>(null);
  const mine = useRef(formatted);
  useEffect(() => {
    // Changes made elsewhere (another tab) show here; the text being typed is left alone.
    if (formatted !== mine.current) {
      setText(formatted);
      mine.current = formatted;
      setError(null);
    }
  }, [formatted]);
  return (
    <section className="json-tab">
      <label htmlFor="definition-json">{t("designer.jsonLabel")}</label>
      <textarea
        id="definition-json"
        spellCheck={false}
        value={text}
        onChange={(e) => {
          setText(e.target.value);
          try {
            const parsed = JSON.parse(e.target.value) as FormDefinition;
            if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed) || typeof parsed.schema !== "object") {
              setError(t("designer.jsonNotDefinition"));
              return;
            }
            setError(null);
            mine.current = JSON.stringify(save(open(parsed)), null, 2);
            onChange(parsed);
          } catch (err) {
            setError(String(err instanceof Error ? err.message : err));
          }
        }}
        aria-invalid={error !== null}
        aria-describedby="definition-json-error"
        data-testid="definition-json"
      />
      <div id="definition-json-error" className="field-error" role={error ? "alert" : undefined}>
        {error}
      </div>
    </section>
  );
}

/** Errors as the server names them: a JSON pointer and its message. */
function PointerErrors({ errors, className }: { errors: FieldError[]; className?: string }) {
  return (
    <ul className={className}>
      {errors.map((e, i) => (
        <li key={i}>
          <code>{e.path || "/"}</code> {e.message}
        </li>
      ))}
    </ul>
  );
}

function PublishErrors({ problem }: { problem: Problem }) {
  const { t } = useTranslation();
  if (problem.errors.length === 0) return <ProblemNotice problem={problem} />;
  return (
    <div className="notice error" role="alert" data-testid="publish-errors">
      <div>
        <strong>{t("designer.publishFailed")}</strong>
        <PointerErrors errors={problem.errors} />
      </div>
    </div>
  );
}

function ImpactDialog({ space, form, refusal, onCancel, onForce }: { space: string; form: string; refusal: Refusal; onCancel: () => void; onForce: () => void }) {
  const { t } = useTranslation();
  const cancel = useRef<HTMLButtonElement>(null);
  useEffect(() => cancel.current?.focus(), []);
  useRefNames(space, refusal.examples.map((e) => ({ form, id: e.id })));
  return (
    <div className="modal-backdrop">
      <div
        className="modal"
        role="alertdialog"
        aria-modal="true"
        aria-labelledby="impact-title"
        onKeyDown={(e) => e.key === "Escape" && onCancel()}
        data-testid="impact-dialog"
      >
        <h2 id="impact-title">{t("designer.impactTitle", { count: refusal.failing })}</h2>
        <p>{t("designer.impactBody")}</p>
        <ul className="impact-examples">
          {refusal.examples.map((example) => (
            <li key={example.id}>
              <Link href={`/s/${encodeURIComponent(space)}/${encodeURIComponent(form)}/r/${encodeURIComponent(example.id)}`}>{refName(form, example.id) ?? example.id}</Link>
              <PointerErrors errors={example.errors} />
            </li>
          ))}
        </ul>
        {refusal.failing > refusal.examples.length && <p className="muted">{t("designer.impactMore", { count: refusal.failing - refusal.examples.length })}</p>}
        <div className="modal-actions">
          <button type="button" ref={cancel} onClick={onCancel} data-testid="impact-cancel">
            {t("designer.cancel")}
          </button>
          <button type="button" className="danger" onClick={onForce} data-testid="impact-force">
            {t("designer.force")}
          </button>
        </div>
      </div>
    </div>
  );
}
