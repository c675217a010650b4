// Step 3, what a run does, one form per action: set fields, create a record (field by field for
// the target form, each value from the record, typed in, or an expression), move the pipeline,
// assign from a pool, notify (a defined webhook endpoint, a URL, or an email with a template
// editor), or a script in CodeMirror.
import { lazy, Suspense } from "react";
import { useTranslation } from "react-i18next";
import { fields as formFields, fieldLabel, type Field, type StoredForm } from "../schema";
import { Issues } from "./Issues";
import { LiteralInput } from "./ConditionEditor";
import { readTemplate, valueSource, writeTemplate, writeValue, type ActionState, type Mapping, type Notify, type ValueSource } from "./model";
import type { Member, Named } from "./api";

const ScriptEditor = lazy(() => import("../designer/ScriptEditor"));

export interface ActionContext {
  forms: StoredForm[];
  /** The trigger's form (the record a run is about), if any. */
  form: StoredForm | undefined;
  endpoints: Named[];
  members: Member[];
}

export interface ActionEditorProps {
  index: number;
  action: ActionState;
  onChange: (action: ActionState) => void;
  context: ActionContext;
}

export function ActionEditor({ index, action, onChange, context }: ActionEditorProps) {
  const { t } = useTranslation();
  const at = `/actions/${index}`;
  const recordFields = context.form ? formFields(context.form.definition) : [];
  switch (action.kind) {
    case "set":
      return (
        <div className="mappings">
          {action.mappings.map((m, i) => (
            <MappingRow
              key={i}
              testId={`set-${index}-${i}`}
              mapping={m}
              targets={recordFields.filter((f) => !f.computed)}
              recordFields={recordFields}
              onChange={(next) => onChange({ ...action, mappings: action.mappings.map((x, j) => (j === i ? next : x)) })}
              onRemove={() => onChange({ ...action, mappings: action.mappings.filter((_, j) => j !== i) })}
              at={`${at}/set/${m.field}`}
            />
          ))}
          <button type="button" onClick={() => onChange({ ...action, mappings: [...action.mappings, { field: "", value: { mode: "typed", value: "" } }] })} data-testid={`set-add-${index}`}>
            {t("workflows.actions.addField")}
          </button>
        </div>
      );
    case "create": {
      const target = context.forms.find((f) => f.name === action.form);
      const targetFields = target ? formFields(target.definition).filter((f) => !f.computed) : [];
      const extra = action.mappings.filter((m) => !targetFields.some((f) => f.name === m.field));
      const mappingOf = (name: string) => action.mappings.find((m) => m.field === name);
      const put = (name: string, value: ValueSource | null) => {
        const rest = action.mappings.filter((m) => m.field !== name);
        onChange({ ...action, mappings: value ? [...rest, { field: name, value }] : rest });
      };
      return (
        <div className="mappings">
          <label>
            {t("workflows.actions.targetForm")}
            <select value={action.form} onChange={(e) => onChange({ ...action, form: e.target.value })} data-testid={`create-form-${index}`}>
              <option value="">{t("workflows.choose")}</option>
              {context.forms.map((f) => (
                <option key={f.name} value={f.name}>
                  {f.definition.title ?? f.name}
                </option>
              ))}
            </select>
            <Issues at={`${at}/create/form`} />
          </label>
          {targetFields.length > 0 && (
            <table className="create-mapping">
              <thead>
                <tr>
                  <th scope="col">{t("workflows.actions.targetField", { form: target?.definition.title ?? action.form })}</th>
                  <th scope="col">{t("workflows.actions.valueFrom")}</th>
                </tr>
              </thead>
              <tbody>
                {targetFields.map((f) => (
                  <tr key={f.name}>
                    <th scope="row">
                      {fieldLabel(f.name, f.schema)}
                      {target?.definition.schema.required?.includes(f.name) && <span className="required"> *</span>}
                    </th>
                    <td>
                      <ValueEditor value={mappingOf(f.name)?.value ?? null} target={f} recordFields={recordFields} onChange={(v) => put(f.name, v)} testId={`create-${index}-${f.name}`} allowUnset />
                      <Issues at={`${at}/create/data/${f.name}`} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {extra.map((m) => (
            <div key={m.field} className="mapping-row">
              <code>{m.field}</code>
              <ValueEditor value={m.value} target={undefined} recordFields={recordFields} onChange={(v) => put(m.field, v)} testId={`create-${index}-${m.field}`} allowUnset />
              <Issues at={`${at}/create/data/${m.field}`} />
            </div>
          ))}
        </div>
      );
    }
    case "transition": {
      const stages = context.form?.definition.pipeline?.stages ?? [];
      return (
        <label>
          {t("workflows.actions.stage")}
          <select value={action.to} onChange={(e) => onChange({ ...action, to: e.target.value })} data-testid={`transition-${index}`}>
            <option value="">{t("workflows.choose")}</option>
            {[...stages.map((s) => s.name), ...(action.to && !stages.some((s) => s.name === action.to) ? [action.to] : [])].map((name) => (
              <option key={name} value={name}>
                {stages.find((s) => s.name === name)?.title ?? name}
              </option>
            ))}
          </select>
          <Issues at={`${at}/transition`} under />
        </label>
      );
    }
    case "assign": {
      const assign = action.assign;
      const set = (patch: Partial<typeof assign>) => {
        const next = { ...assign, ...patch };
        if (next.open === undefined) delete next.open;
        onChange({ ...action, assign: next });
      };
      const pool = [...new Set([...context.members.map((m) => m.user_id), ...assign.pool])];
      return (
        <div className="assign">
          <div className="row">
            <label>
              {t("workflows.actions.assignField")}
              <select value={assign.field} onChange={(e) => set({ field: e.target.value })} data-testid={`assign-field-${index}`}>
                <option value="">{t("workflows.choose")}</option>
                {[...new Set([...recordFields.map((f) => f.name), ...(assign.field ? [assign.field] : [])])].map((n) => (
                  <option key={n} value={n}>
                    {fieldLabel(n, recordFields.find((f) => f.name === n)?.schema)}
                  </option>
                ))}
              </select>
            </label>
            <label>
              {t("workflows.actions.strategy")}
              <select value={assign.strategy ?? ""} onChange={(e) => set({ strategy: (e.target.value || undefined) as typeof assign.strategy })} data-testid={`assign-strategy-${index}`}>
                {assign.strategy === undefined && <option value="">{t("workflows.actions.roundRobin")}</option>}
                <option value="round_robin">{t("workflows.actions.roundRobin")}</option>
                <option value="least_open">{t("workflows.actions.leastOpen")}</option>
              </select>
            </label>
            {assign.strategy === "least_open" && (
              <label className="grow">
                {t("workflows.actions.openFilter")}
                <input className="mono" value={assign.open ?? ""} placeholder='status != "closed"' onChange={(e) => set({ open: e.target.value || undefined })} data-testid={`assign-open-${index}`} />
              </label>
            )}
          </div>
          <fieldset className="checks">
            <legend>{t("workflows.actions.pool")}</legend>
            {pool.map((id) => {
              const member = context.members.find((m) => m.user_id === id);
              return (
                <label key={id} className="check">
                  <input
                    type="checkbox"
                    checked={assign.pool.includes(id)}
                    onChange={(e) => set({ pool: e.target.checked ? [...assign.pool, id] : assign.pool.filter((p) => p !== id) })}
                    data-testid={`assign-pool-${index}-${id}`}
                  />
                  {member?.name ?? member?.email ?? id}
                </label>
              );
            })}
            {pool.length === 0 && <span className="muted">{t("workflows.actions.noMembers")}</span>}
          </fieldset>
          <Issues at={`${at}/assign`} under />
        </div>
      );
    }
    case "notify":
      return <NotifyEditor index={index} notify={action.notify} onChange={(notify) => onChange({ ...action, notify })} context={context} recordFields={recordFields} />;
    case "script":
      return (
        <>
          <Suspense fallback={<div className="skeleton small-skeleton" aria-busy="true" />}>
            <ScriptEditor
              value={action.script}
              onChange={(script) => onChange({ ...action, script })}
              fields={recordFields.map((f) => f.name)}
              label={t("workflows.actions.script", { n: index + 1 })}
              placeholder={t("workflows.actions.scriptPlaceholder")}
              testId={`script-${index}`}
            />
          </Suspense>
          <Issues at={`${at}/script`} under />
        </>
      );
    case "raw":
      return (
        <>
          <p className="muted small">{t("workflows.actions.raw")}</p>
          <pre className="raw-action">{JSON.stringify(action.value, null, 2)}</pre>
          <Issues at={at} under />
        </>
      );
  }
}

function MappingRow({
  mapping,
  targets,
  recordFields,
  onChange,
  onRemove,
  testId,
  at,
}: {
  mapping: Mapping;
  targets: Field[];
  recordFields: Field[];
  onChange: (m: Mapping) => void;
  onRemove: () => void;
  testId: string;
  at: string;
}) {
  const { t } = useTranslation();
  const target = targets.find((f) => f.name === mapping.field);
  return (
    <div className="mapping-row">
      <select value={mapping.field} aria-label={t("workflows.actions.field")} onChange={(e) => onChange({ ...mapping, field: e.target.value })} data-testid={`${testId}-field`}>
        <option value="">{t("workflows.choose")}</option>
        {[...new Set([...targets.map((f) => f.name), ...(mapping.field ? [mapping.field] : [])])].map((n) => (
          <option key={n} value={n}>
            {fieldLabel(n, targets.find((f) => f.name === n)?.schema)}
          </option>
        ))}
      </select>
      <span className="muted">=</span>
      <ValueEditor value={mapping.value} target={target} recordFields={recordFields} onChange={(v) => v && onChange({ ...mapping, value: v })} testId={testId} />
      <button type="button" className="link-button" onClick={onRemove} aria-label={t("workflows.remove")} data-testid={`${testId}-remove`}>
        ✕
      </button>
      <Issues at={at} />
    </div>
  );
}

interface ValueEditorProps {
  value: ValueSource | null;
  /** The field the value goes into (its kind shapes the typed-in input). */
  target: Field | undefined;
  recordFields: Field[];
  onChange: (value: ValueSource | null) => void;
  testId: string;
  allowUnset?: boolean;
}

/** Where a value comes from: a field of the record, typed in, or an expression (not set: none). */
export function ValueEditor({ value, target, recordFields, onChange, testId, allowUnset }: ValueEditorProps) {
  const { t } = useTranslation();
  const mode = value?.mode ?? "unset";
  const switchTo = (next: string) => {
    if (next === "unset") onChange(null);
    else if (next === "field") onChange({ mode: "field", field: recordFields[0]?.name ?? "id" });
    else if (next === "typed") onChange({ mode: "typed", value: target?.kind === "number" || target?.kind === "integer" ? 0 : "" });
    else if (next === "template") onChange({ mode: "template", text: value?.mode === "typed" ? String(value.value) : "" });
    else onChange({ mode: "expr", expr: value ? writeValue(value) : "" });
  };
  return (
    <span className="value-editor">
      <select value={mode} aria-label={t("workflows.value.mode")} onChange={(e) => switchTo(e.target.value)} data-testid={`${testId}-mode`}>
        {allowUnset && <option value="unset">{t("workflows.value.unset")}</option>}
        <option value="field">{t("workflows.value.field")}</option>
        <option value="typed">{t("workflows.value.typed")}</option>
        <option value="template">{t("workflows.value.template")}</option>
        <option value="expr">{t("workflows.value.expr")}</option>
      </select>
      {value?.mode === "field" && (
        <select value={value.field} aria-label={t("workflows.value.field")} onChange={(e) => onChange({ mode: "field", field: e.target.value })} data-testid={`${testId}-field`}>
          {[...new Set(["id", ...recordFields.map((f) => f.name), value.field])].map((n) => (
            <option key={n} value={n}>
              {n === "id" ? t("workflows.value.recordId") : fieldLabel(n, recordFields.find((f) => f.name === n)?.schema)}
            </option>
          ))}
        </select>
      )}
      {value?.mode === "typed" && <LiteralInput value={value.value} field={target} onChange={(v) => onChange({ mode: "typed", value: v })} testId={`${testId}-typed`} label={t("workflows.value.typed")} />}
      {value?.mode === "template" && (
        <>
          <input className="grow" value={value.text} aria-label={t("workflows.value.template")} onChange={(e) => onChange({ mode: "template", text: e.target.value })} data-testid={`${testId}-template`} />
          <InsertField recordFields={recordFields} onInsert={(placeholder) => onChange({ mode: "template", text: value.text + placeholder })} testId={`${testId}-insert`} />
        </>
      )}
      {value?.mode === "expr" && (
        <input
          className="mono grow"
          value={value.expr}
          aria-label={t("workflows.value.expr")}
          // An expression that reads as a field or a typed value switches to that picker.
          onChange={(e) => onChange({ mode: "expr", expr: e.target.value })}
          onBlur={(e) => onChange(valueSource(e.target.value))}
          data-testid={`${testId}-expr`}
        />
      )}
    </span>
  );
}

/** A picker that adds `${record.field}` to a template. */
function InsertField({ recordFields, onInsert, testId }: { recordFields: Field[]; onInsert: (placeholder: string) => void; testId: string }) {
  const { t } = useTranslation();
  return (
    <select
      value=""
      aria-label={t("workflows.actions.insertField")}
      onChange={(e) => {
        if (e.target.value) onInsert(`\${record.${e.target.value}}`);
      }}
      data-testid={testId}
    >
      <option value="">{t("workflows.actions.insertField")}</option>
      {recordFields.map((f) => (
        <option key={f.name} value={f.name}>
          {fieldLabel(f.name, f.schema)}
        </option>
      ))}
    </select>
  );
}

function TemplateEditor({ value, onChange, recordFields, multiline, testId, label }: { value: string; onChange: (expr: string) => void; recordFields: Field[]; multiline?: boolean; testId: string; label: string }) {
  const { t } = useTranslation();
  const text = readTemplate(value);
  if (text === null)
    return (
      <label>
        {label} <span className="muted small">({t("workflows.value.expr")})</span>
        <input className="mono" value={value} onChange={(e) => onChange(e.target.value)} data-testid={`${testId}-expr`} />
      </label>
    );
  const write = (inner: string) => onChange(writeTemplate(inner));
  return (
    <label className="template">
      <span className="template-label">
        {label}
        <InsertField recordFields={recordFields} onInsert={(placeholder) => write(text + placeholder)} testId={`${testId}-insert`} />
      </span>
      {multiline ? (
        <textarea rows={5} value={text} onChange={(e) => write(e.target.value)} data-testid={testId} />
      ) : (
        <input value={text} onChange={(e) => write(e.target.value)} data-testid={testId} />
      )}
    </label>
  );
}

type NotifyMode = "webhook" | "url" | "email";

function NotifyEditor({ index, notify, onChange, context, recordFields }: { index: number; notify: Notify; onChange: (n: Notify) => void; context: ActionContext; recordFields: Field[] }) {
  const { t } = useTranslation();
  const at = `/actions/${index}/notify`;
  const mode: NotifyMode = notify.email ? "email" : notify.url !== undefined ? "url" : "webhook";
  const switchTo = (next: NotifyMode) => {
    const { body } = notify;
    if (next === "webhook") onChange({ webhook: context.endpoints[0]?.name ?? "", ...(body !== undefined ? { body } : {}) });
    else if (next === "url") onChange({ url: "", ...(body !== undefined ? { body } : {}) });
    else onChange({ email: { to: "record.owner", subject: "`${record.name}`", body: "``" } });
  };
  const endpointNames = [...context.endpoints.map((e) => e.name), ...(notify.webhook && !context.endpoints.some((e) => e.name === notify.webhook) ? [notify.webhook] : [])];
  const email = notify.email;
  return (
    <div className="notify">
      <div className="row">
        <label>
          {t("workflows.actions.notifyBy")}
          <select value={mode} onChange={(e) => switchTo(e.target.value as NotifyMode)} data-testid={`notify-mode-${index}`}>
            <option value="webhook">{t("workflows.actions.webhook")}</option>
            <option value="url">{t("workflows.actions.url")}</option>
            <option value="email">{t("workflows.actions.email")}</option>
          </select>
        </label>
        {mode === "webhook" && (
          <label>
            {t("workflows.actions.endpoint")}
            <select value={notify.webhook ?? ""} onChange={(e) => onChange({ ...notify, webhook: e.target.value })} data-testid={`notify-webhook-${index}`}>
              <option value="">{t("workflows.choose")}</option>
              {endpointNames.map((name) => (
                <option key={name} value={name}>
                  {context.endpoints.some((e) => e.name === name) ? name : t("workflows.actions.undefinedEndpoint", { name })}
                </option>
              ))}
            </select>
            <Issues at={`${at}/webhook`} />
          </label>
        )}
        {mode === "url" && (
          <label className="grow">
            {t("workflows.actions.url")}
            <input type="url" value={notify.url ?? ""} onChange={(e) => onChange({ ...notify, url: e.target.value })} data-testid={`notify-url-${index}`} />
            <Issues at={`${at}/url`} />
          </label>
        )}
      </div>
      {mode !== "email" && (
        <label>
          {t("workflows.actions.body")}
          <input
            className="mono"
            value={notify.body ?? ""}
            placeholder={t("workflows.actions.bodyDefault")}
            onChange={(e) => {
              const { body: _body, ...rest } = notify;
              onChange(e.target.value === "" ? rest : { ...rest, body: e.target.value });
            }}
            data-testid={`notify-body-${index}`}
          />
          <Issues at={`${at}/body`} />
        </label>
      )}
      {email && (
        <div className="email">
          <div className="mapping-row">
            <span>{t("workflows.actions.emailTo")}</span>
            <ValueEditor value={valueSource(email.to)} target={undefined} recordFields={recordFields} onChange={(v) => v && onChange({ ...notify, email: { ...email, to: writeValue(v) } })} testId={`email-to-${index}`} />
            <Issues at={`${at}/email/to`} />
          </div>
          <TemplateEditor value={email.subject} onChange={(subject) => onChange({ ...notify, email: { ...email, subject } })} recordFields={recordFields} testId={`email-subject-${index}`} label={t("workflows.actions.emailSubject")} />
          <Issues at={`${at}/email/subject`} />
          <TemplateEditor value={email.body} onChange={(body) => onChange({ ...notify, email: { ...email, body } })} recordFields={recordFields} multiline testId={`email-body-${index}`} label={t("workflows.actions.emailBody")} />
          <Issues at={`${at}/email`} />
          <Issues at={`${at}/email/body`} />
        </div>
      )}
    </div>
  );
}
