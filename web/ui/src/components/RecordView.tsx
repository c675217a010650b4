// One record: its form rendered from the JSON Schema (@rjsf/core with the form's `ui` hints),
// saved with If-Match; the server's 422 shown at the fields its pointers name; a 412 opens the
// conflict dialog; the pipeline (stage bar, checklist, allowed moves); history; related records.
import { useCallback, useEffect, useMemo, useState, type ReactNode } from "react";
import { useTranslation } from "react-i18next";
import Form from "@rjsf/core";
import validator from "@rjsf/validator-ajv8";
import type { FieldTemplateProps, ObjectFieldTemplateProps, RJSFSchema, UiSchema, WidgetProps } from "@rjsf/utils";
import { api, formPath, Problem, type FieldError } from "../api/client";
import { getRecord, listForms, listRecords, patchRecord, transition } from "../api/tend";
import { flatChanges, mergePatch } from "../diff";
import { errorSchemaFrom } from "../errors";
import { formatInstant, formatValue } from "../format";
import { useLoad } from "../hooks/useApi";
import { personName, useMembers, useSpaceRole } from "../hooks/usePeople";
import { refName, useRefNames } from "../hooks/useRefNames";
import { Link } from "../router";
import { fieldLabel, fields as formFields, recordTitle, type Field, type StoredForm, type TendRecord } from "../schema";
import { ConflictDialog } from "./ConflictDialog";
import { ProblemNotice } from "./ProblemNotice";

type Data = Record<string, unknown>;

interface Context {
  space: string;
  forms: StoredForm[];
  /** `ui.sections`: titled groups of fields. */
  sections?: Section[];
}

interface Section {
  title: string;
  fields: string[];
}

export interface RecordViewProps {
  space: string;
  stored: StoredForm;
  /** A record id, or "new". */
  id: string;
  /** Values a new record starts with (a related record's reference). */
  prefill?: Data;
  onSaved?: (record: TendRecord) => void;
  onCreated?: (record: TendRecord) => void;
}

export function RecordView({ space, stored, id, prefill, onSaved, onCreated }: RecordViewProps) {
  const forms = useLoad((signal) => listForms(space, signal), [space]);
  const record = useLoad((signal) => (id === "new" ? Promise.resolve(null) : getRecord(space, stored.name, id, signal)), [space, stored.name, id]);
  if (record.problem) return <ProblemNotice problem={record.problem} onRetry={record.reload} />;
  if (record.loading || !forms.data) return <div className="skeleton" aria-busy="true" />;
  return (
    <Loaded
      key={record.data ? `${record.data.id}@${record.data.version}` : "new"}
      space={space}
      stored={stored}
      forms={forms.data}
      initial={record.data ?? null}
      prefill={prefill}
      onSaved={onSaved}
      onCreated={onCreated}
    />
  );
}

interface LoadedProps {
  space: string;
  stored: StoredForm;
  forms: StoredForm[];
  initial: TendRecord | null;
  prefill?: Data;
  onSaved?: (record: TendRecord) => void;
  onCreated?: (record: TendRecord) => void;
}

function Loaded({ space, stored, forms, initial, prefill, onSaved, onCreated }: LoadedProps) {
  const { t, i18n } = useTranslation();
  const definition = stored.definition;
  const fields = useMemo(() => formFields(definition), [definition]);
  const [record, setRecord] = useState<TendRecord | null>(initial);
  const [formData, setFormData] = useState<Data>(initial?.data ?? prefill ?? {});
  const [errors, setErrors] = useState<FieldError[]>([]);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [conflict, setConflict] = useState<TendRecord | null>(null);
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);
  const [historyGeneration, setHistoryGeneration] = useState(0);

  const role = useSpaceRole(space);
  const readOnly = useMemo(() => readOnlyFields(definition, fields, role), [fields, definition, role]);
  const editable = (data: Data) => Object.fromEntries(Object.entries(data).filter(([k]) => !readOnly.has(k)));

  const accept = (next: TendRecord) => {
    setRecord(next);
    setFormData(next.data);
    setErrors([]);
    setProblem(null);
    setHistoryGeneration((g) => g + 1);
  };

  const save = async (data: Data, overVersion?: number) => {
    setBusy(true);
    setSaved(false);
    try {
      if (!record) {
        const created = await api<TendRecord>(formPath(space, stored.name, "/records"), { method: "POST", body: editable(data) });
        accept(created.body);
        onCreated?.(created.body);
      } else {
        const patch = mergePatch(editable(record.data), editable(data));
        const next = await patchRecord(space, stored.name, record.id, patch, overVersion ?? record.version);
        accept(next);
        onSaved?.(next);
      }
      setSaved(true);
    } catch (err) {
      if (!(err instanceof Problem)) throw err;
      if (err.status === 422) {
        setErrors(err.errors);
        setProblem(err.errors.length === 0 ? err : null);
      } else if (err.status === 412 && record) {
        setConflict(await getRecord(space, stored.name, record.id));
      } else setProblem(err);
    } finally {
      setBusy(false);
    }
  };

  const { general } = errorSchemaFrom(errors);
  // A record without a name of its own (an onboarding) is named after what it references.
  const refField = fields.find((f) => f.ref && record?.data[f.name]);
  useRefNames(space, refField && record ? [{ form: refField.ref as string, id: String(record.data[refField.name]) }] : []);
  const refTitle = refField && record ? refName(refField.ref as string, String(record.data[refField.name])) : undefined;
  const ownName = record && (record.data.name ?? record.data.title);
  const title = !record
    ? t("record.newTitle", { form: definition.title ?? stored.name })
    : ownName || !refTitle
      ? recordTitle(record, definition)
      : `${definition.title ?? stored.name} · ${refTitle}`;

  return (
    <div className="record" data-testid="record">
      <header className="record-header">
        <h2 data-testid="record-title">{title}</h2>
        {record && (
          <span className="muted small">
            v{record.version} · {formatInstant(record.updated_at, i18n.language)}
          </span>
        )}
      </header>
      {record && definition.pipeline && (
        <PipelinePanel space={space} stored={stored} record={record} onChange={accept} />
      )}
      {problem && <ProblemNotice problem={problem} />}
      {(errors.length > 0 || general.length > 0) && (
        <div className="notice error" role="alert" data-testid="save-errors">
          {t("record.invalid", { count: errors.length })}
          {general.map((message) => (
            <div key={message}>{message}</div>
          ))}
        </div>
      )}
      <RecordForm
        space={space}
        definition={definition}
        forms={forms}
        data={formData}
        errors={errors}
        onChange={(data) => {
          setFormData(data);
          setSaved(false);
        }}
        onSubmit={(data) => void save(data)}
      >
        <div className="form-actions">
          <button type="submit" className="primary" disabled={busy} data-testid="save-record">
            {record ? t("record.save") : t("record.create")}
          </button>
          {saved && (
            <span className="ok" role="status" data-testid="saved">
              {t("record.saved")}
            </span>
          )}
        </div>
      </RecordForm>
      {conflict && record && (
        <ConflictDialog
          fields={fields}
          base={record.data}
          mine={formData}
          theirs={conflict}
          onTakeTheirs={() => {
            accept(conflict);
            setConflict(null);
          }}
          onKeepMine={() => {
            const theirs = conflict;
            setConflict(null);
            setRecord(theirs);
            void (async () => {
              setBusy(true);
              try {
                const next = await patchRecord(space, stored.name, theirs.id, mergePatch(editable(theirs.data), editable(formData)), theirs.version);
                accept(next);
                setSaved(true);
              } catch (err) {
                if (err instanceof Problem && err.status === 422) setErrors(err.errors);
                else if (err instanceof Problem) setProblem(err);
              } finally {
                setBusy(false);
              }
            })();
          }}
        />
      )}
      {record && (
        <aside className="record-side">
          <Related space={space} stored={stored} forms={forms} record={record} />
          <History key={historyGeneration} space={space} form={stored.name} id={record.id} fields={fields} />
        </aside>
      )}
    </div>
  );
}

export interface FormPreviewProps {
  space: string;
  definition: StoredForm["definition"];
  forms: StoredForm[];
  data: Data;
  errors: FieldError[];
  onChange: (data: Data) => void;
}

/** A form as its users will see it, for a definition not stored yet (the designer's preview):
 * the same fields, widgets, sections and read-only computed fields as a record page, no saving. */
export function FormPreview(props: FormPreviewProps) {
  return (
    <div className="record" data-testid="form-preview">
      <RecordForm {...props}>
        <></>
      </RecordForm>
    </div>
  );
}

/** The fields users can't edit: computed ones, the pipeline's stage (moved by transitions),
 * and those the form's `access` makes read-only for the user's role in the space. */
function readOnlyFields(definition: StoredForm["definition"], fields: Field[], role?: string | null): Set<string> {
  const names = new Set(fields.filter((f) => f.computed).map((f) => f.name));
  if (definition.pipeline) names.add(definition.pipeline.field);
  const roles = definition.access?.roles as Record<string, { fields?: Record<string, string> }> | undefined;
  for (const [field, rule] of Object.entries((role && roles?.[role]?.fields) || {})) if (rule === "read_only") names.add(field);
  return names;
}

/** The record form proper: the schema rendered by @rjsf with the form's `ui` hints, and the
 * server's errors at the fields their pointers name. */
function RecordForm({ space, definition, forms, data, errors, onChange, onSubmit, children }: FormPreviewProps & { onSubmit?: (data: Data) => void; children: ReactNode }) {
  const { t } = useTranslation();
  const fields = useMemo(() => formFields(definition), [definition]);
  const role = useSpaceRole(space);
  const readOnly = useMemo(() => readOnlyFields(definition, fields, role), [fields, definition, role]);
  const uiSchema = useMemo(() => buildUiSchema(definition, fields, readOnly, t("record.computed")), [definition, fields, readOnly, t]);
  const schema = useMemo(() => formSchema(definition.schema), [definition]);
  const { schema: errorSchema } = errorSchemaFrom(errors);
  const context: Context = { space, forms, sections: sectionsOf(definition) };
  return (
    <Form
      schema={schema}
      uiSchema={uiSchema}
      formData={data}
      validator={validator}
      noValidate
      noHtml5Validate
      showErrorList={false}
      extraErrors={errorSchema as never}
      formContext={context}
      widgets={WIDGETS}
      fields={{ hidden: () => null }}
      templates={{ FieldTemplate, ObjectFieldTemplate }}
      onChange={(e) => onChange(e.formData as Data)}
      onSubmit={(e) => onSubmit?.(e.formData as Data)}
    >
      {children}
    </Form>
  );
}

function sectionsOf(definition: StoredForm["definition"]): Section[] | undefined {
  const sections = definition.ui?.sections;
  return Array.isArray(sections) ? (sections as Section[]) : undefined;
}

/** Inputs of a given HTML type (`tel`, `email`, a number with a unit) for the designer's field kinds. */
function inputWidget(type: string, unit?: string) {
  return function InputWidget(props: WidgetProps) {
    const { BaseInputTemplate } = props.registry.templates;
    const input = <BaseInputTemplate {...props} type={type} />;
    return unit ? (
      <span className="with-unit">
        {input}
        <span className="muted">{unit}</span>
      </span>
    ) : (
      input
    );
  };
}

/** The root object's fields, grouped under the titles of `ui.sections` when it has any. */
function ObjectFieldTemplate(props: ObjectFieldTemplateProps) {
  const sections = (props.formContext as Context | undefined)?.sections;
  if (!sections || sections.length === 0 || props.idSchema.$id !== "root") {
    return <div>{props.properties.map((p) => (p.hidden ? null : <div key={p.name}>{p.content}</div>))}</div>;
  }
  const inSection = new Set(sections.flatMap((s) => s.fields));
  const loose = props.properties.filter((p) => !inSection.has(p.name));
  return (
    <div>
      {loose.map((p) => (p.hidden ? null : <div key={p.name}>{p.content}</div>))}
      {sections.map((section, i) => (
        <section key={`${i}-${section.title}`} className="form-section" aria-label={section.title}>
          <h3>{section.title}</h3>
          {props.properties
            .filter((p) => section.fields.includes(p.name) && !p.hidden)
            .map((p) => (
              <div key={p.name}>{p.content}</div>
            ))}
        </section>
      ))}
    </div>
  );
}

/** The schema @rjsf renders: the form's, each field given a readable title when it has none. */
function formSchema(schema: StoredForm["definition"]["schema"]): RJSFSchema {
  const properties = Object.fromEntries(
    Object.entries(schema.properties ?? {}).map(([name, property]) => [name, { ...property, title: fieldLabel(name, property) }]),
  );
  return { ...schema, properties } as RJSFSchema;
}

function buildUiSchema(definition: StoredForm["definition"], fields: Field[], readOnly: Set<string>, computedHelp: string): UiSchema {
  const ui: UiSchema = { "ui:submitButtonOptions": { norender: true } };
  if (definition.ui?.order) ui["ui:order"] = [...definition.ui.order, "*"];
  const widgets = (definition.ui?.widgets ?? {}) as Record<string, string>;
  const help = (definition.ui?.help ?? {}) as Record<string, string>;
  for (const field of fields) {
    const entry: Record<string, unknown> = {};
    if (readOnly.has(field.name)) entry["ui:readonly"] = true;
    if (field.computed && !field.schema.description) entry["ui:help"] = computedHelp;
    if (help[field.name]) entry["ui:help"] = help[field.name];
    if (widgets[field.name]) entry["ui:widget"] = widgets[field.name];
    if (field.ref) {
      entry["ui:widget"] = "ref";
      entry["ui:options"] = { form: field.ref };
    }
    if (field.person && field.kind === "string") entry["ui:widget"] = "person";
    if (definition.pipeline && field.name === "checklist" && field.kind === "object") entry["ui:field"] = "hidden";
    if (field.kind === "object" && field.name !== "checklist") entry["ui:field"] = "hidden";
    ui[field.name] = entry;
  }
  return ui;
}

/** Each field wrapped with stable test ids, its label, help and errors. */
function FieldTemplate(props: FieldTemplateProps) {
  const { id, classNames, label, required, children, rawErrors, rawHelp, rawDescription, hidden, displayLabel, schema } = props;
  if (hidden) return <div className="hidden">{children}</div>;
  const name = id.replace(/^root_?/, "");
  if (id === "root") return <div className={classNames}>{children}</div>;
  const errorId = `${id}__error`;
  const isBoolean = schema.type === "boolean";
  return (
    <div className={`field ${classNames ?? ""} ${rawErrors?.length ? "has-error" : ""}`} data-testid={`field-${name}`}>
      {displayLabel && !isBoolean && (
        <label htmlFor={id}>
          {label}
          {required ? " *" : ""}
        </label>
      )}
      {children}
      {rawDescription && <small className="muted">{rawDescription}</small>}
      {rawHelp && <small className="muted">{rawHelp}</small>}
      {rawErrors && rawErrors.length > 0 && (
        <div id={errorId} className="field-error" role="alert" data-testid={`field-error-${name}`}>
          {rawErrors.join(" ")}
        </div>
      )}
    </div>
  );
}

const WIDGETS = {
  ref: RefWidget,
  currency: inputWidget("number"),
  percent: inputWidget("number", "%"),
  phone: inputWidget("tel"),
  person: PersonWidget,
};

/** Person fields hold a user id: the space's members by name, and the value as it is when it
 * names nobody among them (an email from before people, say). */
function PersonWidget(props: WidgetProps) {
  const { t } = useTranslation();
  const { id, value, onChange, readonly, disabled, required, formContext } = props;
  const members = useMembers((formContext as Context).space);
  const current = typeof value === "string" ? value : "";
  const listed = members?.some((m) => m.user_id === current);
  return (
    <select
      id={id}
      value={current}
      disabled={readonly || disabled || !members}
      required={required}
      onChange={(e) => onChange(e.target.value === "" ? undefined : e.target.value)}
    >
      <option value="">{t("record.none")}</option>
      {current && !listed && <option value={current}>{personName(current) ?? current}</option>}
      {(members ?? []).map((m) => (
        <option key={m.user_id} value={m.user_id}>
          {m.name ? `${m.name}${m.email ? ` (${m.email})` : ""}` : m.user_id}
        </option>
      ))}
    </select>
  );
}

/** `x-ref` fields: the referenced record's name with a link, and a search to pick another. */
function RefWidget(props: WidgetProps) {
  const { t } = useTranslation();
  const { id, value, onChange, readonly, disabled, options, formContext, label } = props;
  const context = formContext as Context;
  const form = String(options.form ?? "");
  const [query, setQuery] = useState("");
  const [results, setResults] = useState<TendRecord[]>([]);
  useRefNames(context.space, value ? [{ form, id: String(value) }] : []);
  const target = context.forms.find((f) => f.name === form);
  const searchField = ["name", "title"].find((f) => target?.definition.schema.properties?.[f]);
  useEffect(() => {
    if (!query.trim() || !searchField) {
      setResults([]);
      return;
    }
    const controller = new AbortController();
    const timer = window.setTimeout(() => {
      listRecords(context.space, form, { filter: `${searchField} contains ${JSON.stringify(query.trim())}`, limit: 8 }, controller.signal)
        .then((page) => setResults(page.items))
        .catch(() => setResults([]));
    }, 200);
    return () => {
      window.clearTimeout(timer);
      controller.abort();
    };
  }, [query, form, searchField, context.space]);
  const name = value ? refName(form, String(value)) ?? String(value).slice(0, 8) : "";
  return (
    <div className="ref-widget">
      {value ? (
        <Link href={`/s/${encodeURIComponent(context.space)}/${encodeURIComponent(form)}/r/${encodeURIComponent(String(value))}`} data-testid={`ref-link-${id}`}>
          {t("record.openLink", { what: name })}
        </Link>
      ) : (
        <span className="muted">{t("record.none")}</span>
      )}
      {!readonly && !disabled && (
        <>
          <input
            id={id}
            type="search"
            value={query}
            aria-label={`${label}: ${t("record.pick", { form: target?.definition.title ?? form })}`}
            placeholder={t("record.pick", { form: target?.definition.title ?? form })}
            onChange={(e) => setQuery(e.target.value)}
          />
          {results.length > 0 && (
            <ul className="picker" role="listbox" aria-label={label}>
              {results.map((r) => (
                <li key={r.id} role="option" aria-selected={r.id === value}>
                  <button
                    type="button"
                    onClick={() => {
                      onChange(r.id);
                      setQuery("");
                    }}
                  >
                    {recordTitle(r, target?.definition)}
                  </button>
                </li>
              ))}
            </ul>
          )}
        </>
      )}
    </div>
  );
}

interface HistoryEvent {
  seq: number;
  kind: string;
  before: Data | null;
  after: Data | null;
  actor: string;
  at: string;
}

function History({ space, form, id, fields }: { space: string; form: string; id: string; fields: Field[] }) {
  const { t, i18n } = useTranslation();
  // Who made each change, by name: actors are `user:<id>`.
  useMembers(space);
  const history = useLoad(
    async (signal) => (await api<{ items: HistoryEvent[] }>(formPath(space, form, `/records/${encodeURIComponent(id)}/history?limit=200`), { signal })).body.items,
    [space, form, id],
  );
  const show = (name: string, value: unknown) => {
    const text = formatValue(value, fields.find((f) => f.name === name), i18n.language);
    return text === "" ? t("record.none") : text;
  };
  return (
    <section className="history" aria-labelledby="history-title">
      <h3 id="history-title">{t("record.history")}</h3>
      {history.problem && <ProblemNotice problem={history.problem} onRetry={history.reload} />}
      {history.data?.length === 0 && <p className="muted">{t("record.noHistory")}</p>}
      <ol className="timeline" data-testid="history">
        {[...(history.data ?? [])].reverse().map((event) => {
          const diff = event.kind === "created" ? [] : flatChanges(event.before, event.after);
          return (
            <li key={event.seq} data-testid="history-entry" data-kind={event.kind}>
              <div className="when">
                <strong>{t(`record.kinds.${event.kind}`, { defaultValue: event.kind.replace(/_/g, " ") })}</strong>{" "}
                <span className="muted">
                  {formatInstant(event.at, i18n.language)} · {t("record.by", { who: personName(event.actor) ?? event.actor })}
                </span>
              </div>
              {diff.length > 0 && (
                <ul className="changes">
                  {diff.map((c) => (
                    <li key={c.field}>
                      {t("record.changed", { field: fieldLabel(c.field.replace(".", " · "), fields.find((f) => f.name === c.field)?.schema), before: show(c.field, c.before), after: show(c.field, c.after) })}
                    </li>
                  ))}
                </ul>
              )}
            </li>
          );
        })}
      </ol>
    </section>
  );
}

/** Records of other forms whose `x-ref` points at this one, with a prefilled "new". */
function Related({ space, stored, forms, record }: { space: string; stored: StoredForm; forms: StoredForm[]; record: TendRecord }) {
  const { t } = useTranslation();
  const links = useMemo(
    () =>
      forms.flatMap((other) =>
        formFields(other.definition)
          .filter((f) => f.ref === stored.name)
          .map((f) => ({ form: other, field: f.name })),
      ),
    [forms, stored.name],
  );
  const related = useLoad(
    (signal) =>
      Promise.all(
        links.map(async (link) => ({
          ...link,
          items: (await listRecords(space, link.form.name, { filter: `${link.field} = ${JSON.stringify(record.id)}`, limit: 10 }, signal)).items,
        })),
      ),
    [space, record.id, links],
  );
  if (links.length === 0) return null;
  return (
    <section className="related" aria-labelledby="related-title">
      <h3 id="related-title">{t("record.related")}</h3>
      {related.data?.map(({ form, field, items }) => {
        const base = `/s/${encodeURIComponent(space)}/${encodeURIComponent(form.name)}`;
        return (
          <div key={`${form.name}.${field}`} className="related-group" data-testid={`related-${form.name}`}>
            <h4>
              {form.definition.title ?? form.name} <span className="muted">({items.length})</span>
            </h4>
            <ul>
              {items.map((item) => (
                <li key={item.id}>
                  <Link href={`${base}/r/${item.id}`}>{recordTitle(item, form.definition)}</Link>
                  {item.stage && <span className="muted"> · {item.stage}</span>}
                </li>
              ))}
            </ul>
            <Link className="small" href={`${base}?record=new&prefill=${encodeURIComponent(`${field}:${record.id}`)}`}>
              + {t("record.newRelated", { form: form.definition.title ?? form.name })}
            </Link>
          </div>
        );
      })}
    </section>
  );
}

/** Stage bar, the current stage's checklist (ticked optimistically) and the allowed moves. */
function PipelinePanel({ space, stored, record, onChange }: { space: string; stored: StoredForm; record: TendRecord; onChange: (r: TendRecord) => void }) {
  const { t } = useTranslation();
  const pipeline = stored.definition.pipeline;
  const [refusal, setRefusal] = useState<string | null>(null);
  const [checklist, setChecklist] = useState<Record<string, boolean>>((record.data.checklist as Record<string, boolean>) ?? {});
  useEffect(() => setChecklist((record.data.checklist as Record<string, boolean>) ?? {}), [record]);
  const tick = useCallback(
    async (item: string, value: boolean) => {
      const previous = checklist;
      setChecklist({ ...checklist, [item]: value });
      try {
        onChange(await patchRecord(space, stored.name, record.id, { checklist: { [item]: value } }, record.version));
      } catch (err) {
        setChecklist(previous);
        setRefusal(err instanceof Problem ? err.detail : String(err));
      }
    },
    [checklist, space, stored.name, record, onChange],
  );
  if (!pipeline) return null;
  const current = String(record.data[pipeline.field] ?? record.stage ?? "");
  const stage = pipeline.stages.find((s) => s.name === current);
  const moves = pipeline.transitions?.[current] ?? pipeline.stages.map((s) => s.name).filter((s) => s !== current);
  const stageTitle = (name: string) => pipeline.stages.find((s) => s.name === name)?.title ?? name;
  const move = async (to: string) => {
    setRefusal(null);
    try {
      onChange(await transition(space, stored.name, record, to));
    } catch (err) {
      setRefusal(err instanceof Problem ? err.detail : String(err));
    }
  };
  return (
    <section className="pipeline" aria-label={t("record.stage")} data-testid="pipeline">
      <ol className="stage-bar">
        {pipeline.stages.map((s) => (
          <li key={s.name} aria-current={s.name === current ? "step" : undefined} className={s.name === current ? "current" : undefined}>
            {stageTitle(s.name)}
          </li>
        ))}
      </ol>
      {stage?.checklist && stage.checklist.length > 0 && (
        <fieldset className="checklist">
          <legend>{t("record.checklist", { stage: stageTitle(current) })}</legend>
          {stage.checklist.map((item) => (
            <label key={item.id}>
              <input type="checkbox" checked={checklist[item.id] === true} onChange={(e) => void tick(item.id, e.target.checked)} data-testid={`check-${item.id}`} />
              {item.label}
            </label>
          ))}
        </fieldset>
      )}
      {moves.length > 0 && (
        <div className="moves" role="group" aria-label={t("record.moves")}>
          {moves.map((to) => (
            <button key={to} type="button" onClick={() => void move(to)} data-testid={`move-${to}`}>
              {t("record.moveTo", { stage: stageTitle(to) })}
            </button>
          ))}
        </div>
      )}
      {refusal && (
        <p className="notice error" role="alert" data-testid="move-refused">
          {t("record.moveRefused", { detail: refusal })}
        </p>
      )}
    </section>
  );
}
