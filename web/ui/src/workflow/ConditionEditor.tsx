// Step 2, when a run goes on: rows over the record's fields (the new value or the old one) that
// write the rhai `when`, shown under the rows; a code tab takes anything the rows cannot say.
import { lazy, Suspense, useState } from "react";
import { useTranslation } from "react-i18next";
import { fields as formFields, fieldLabel, type Field, type StoredForm } from "../schema";
import { Issues, useIssues } from "./Issues";
import { OPERATORS, takesValue, writeCondition, type ConditionRow } from "./condition";
import { toCode, toRows, type BuilderState } from "./model";

const ScriptEditor = lazy(() => import("../designer/ScriptEditor"));

export interface ConditionEditorProps {
  state: BuilderState;
  onChange: (state: BuilderState) => void;
  form: StoredForm | undefined;
}

export function ConditionEditor({ state, onChange, form }: ConditionEditorProps) {
  const { t } = useTranslation();
  const [cannot, setCannot] = useState(false);
  const list = form ? formFields(form.definition) : [];
  const condition = state.condition;
  const { errors } = useIssues("/when");
  const rows = condition?.rows ?? [];
  const setRows = (next: ConditionRow[]) => onChange({ ...state, condition: { join: condition?.join ?? "all", rows: next } });
  const update = (i: number, patch: Partial<ConditionRow>) => setRows(rows.map((r, j) => (j === i ? { ...r, ...patch } : r)));
  return (
    <div className="condition-editor">
      <div className="segmented" role="group" aria-label={t("workflows.condition.mode")}>
        <button
          type="button"
          aria-pressed={condition !== null}
          onClick={() => {
            const next = toRows(state);
            setCannot(next === null);
            if (next) onChange(next);
          }}
          data-testid="condition-rows"
        >
          {t("workflows.condition.builder")}
        </button>
        <button type="button" aria-pressed={condition === null} onClick={() => onChange(toCode(state))} data-testid="condition-code">
          {t("workflows.condition.code")}
        </button>
      </div>
      {cannot && condition === null && (
        <p className="field-warning" role="status" data-testid="condition-cannot">
          {t("workflows.condition.cannot")}
        </p>
      )}
      {condition && (
        <>
          {rows.length === 0 && <p className="muted">{t("workflows.condition.always")}</p>}
          {rows.length > 1 && (
            <label className="inline">
              {t("workflows.condition.join")}
              <select value={condition.join} onChange={(e) => onChange({ ...state, condition: { ...condition, join: e.target.value as "all" | "any" } })} data-testid="condition-join">
                <option value="all">{t("workflows.condition.all")}</option>
                <option value="any">{t("workflows.condition.any")}</option>
              </select>
            </label>
          )}
          {rows.map((row, i) => (
            <ConditionRowEditor key={i} index={i} row={row} fields={list} onChange={(patch) => update(i, patch)} onRemove={() => setRows(rows.filter((_, j) => j !== i))} />
          ))}
          <button type="button" onClick={() => setRows([...rows, { source: "record", field: list[0]?.name ?? "", op: "==", value: "" }])} data-testid="add-condition">
            {t("workflows.condition.add")}
          </button>
          {rows.length > 0 && (
            <p className="muted small">
              {t("workflows.condition.writes")} <code data-testid="condition-rhai">{writeCondition(condition)}</code>
            </p>
          )}
          {errors.map((e, i) => (
            <div key={i} className="field-error" role="alert" data-testid="error-/when">
              {e.message}
            </div>
          ))}
        </>
      )}
      {condition === null && (
        <>
          <Suspense fallback={<div className="skeleton small-skeleton" aria-busy="true" />}>
            <ScriptEditor
              value={state.code ?? ""}
              onChange={(code) => onChange({ ...state, code: code === "" ? undefined : code })}
              fields={list.map((f) => f.name)}
              problem={errors[0] ? { message: errors[0].message, ...lineColumn(errors[0].message) } : null}
              label={t("workflows.condition.code")}
              placeholder={t("workflows.condition.placeholder")}
              testId="condition-script"
            />
          </Suspense>
          <Issues at="/when" />
        </>
      )}
    </div>
  );
}

/** The position a rhai error message names (`... (line 1, column 5)`), if any. */
export function lineColumn(message: string): { line?: number; column?: number } {
  const m = /line (\d+), column (\d+)/.exec(message) ?? /line (\d+), position (\d+)/.exec(message);
  return m ? { line: Number(m[1]), column: Number(m[2]) } : {};
}

function ConditionRowEditor({ index, row, fields, onChange, onRemove }: { index: number; row: ConditionRow; fields: Field[]; onChange: (patch: Partial<ConditionRow>) => void; onRemove: () => void }) {
  const { t } = useTranslation();
  const field = fields.find((f) => f.name === row.field);
  const names = [...new Set([...fields.map((f) => f.name), row.field])].filter((n) => n !== "");
  return (
    <div className="condition-row" data-testid={`condition-${index}`}>
      <select value={row.source} aria-label={t("workflows.condition.source")} onChange={(e) => onChange({ source: e.target.value as ConditionRow["source"] })} disabled={row.op === "changed"} data-testid={`condition-source-${index}`}>
        <option value="record">{t("workflows.condition.new")}</option>
        <option value="old">{t("workflows.condition.old")}</option>
      </select>
      <select value={row.field} aria-label={t("workflows.condition.field")} onChange={(e) => onChange({ field: e.target.value })} data-testid={`condition-field-${index}`}>
        {row.field === "" && <option value="">{t("workflows.choose")}</option>}
        {names.map((n) => (
          <option key={n} value={n}>
            {fieldLabel(n, fields.find((f) => f.name === n)?.schema)}
          </option>
        ))}
      </select>
      <select
        value={row.op}
        aria-label={t("workflows.condition.operator")}
        onChange={(e) => {
          const op = e.target.value as ConditionRow["op"];
          onChange(takesValue(op) ? { op, value: row.value ?? "" } : { op, value: undefined, source: op === "changed" ? "record" : row.source });
        }}
        data-testid={`condition-op-${index}`}
      >
        {OPERATORS.map((op) => (
          <option key={op} value={op}>
            {t(`workflows.operators.${op}`)}
          </option>
        ))}
      </select>
      {takesValue(row.op) && <LiteralInput value={row.value ?? null} field={field} onChange={(value) => onChange({ value })} testId={`condition-value-${index}`} label={t("workflows.condition.value")} />}
      <button type="button" className="link-button" onClick={onRemove} aria-label={t("workflows.remove")} data-testid={`condition-remove-${index}`}>
        ✕
      </button>
    </div>
  );
}

export interface LiteralInputProps {
  value: string | number | boolean | null;
  field: Field | undefined;
  onChange: (value: string | number | boolean) => void;
  testId: string;
  label: string;
}

/** A typed-in value as the field takes it: a number, a choice, yes/no, or text. */
export function LiteralInput({ value, field, onChange, testId, label }: LiteralInputProps) {
  const { t } = useTranslation();
  const kind = field?.kind ?? (typeof value === "number" ? "number" : typeof value === "boolean" ? "boolean" : "string");
  if (kind === "number" || kind === "integer")
    return (
      <input
        type="number"
        className="narrow"
        aria-label={label}
        value={typeof value === "number" ? value : ""}
        onChange={(e) => onChange(e.target.value === "" ? "" : Number(e.target.value))}
        data-testid={testId}
      />
    );
  if (kind === "boolean")
    return (
      <select aria-label={label} value={String(value === true)} onChange={(e) => onChange(e.target.value === "true")} data-testid={testId}>
        <option value="true">{t("workflows.yes")}</option>
        <option value="false">{t("workflows.no")}</option>
      </select>
    );
  if (kind === "enum" && field)
    return (
      <select aria-label={label} value={String(value ?? "")} onChange={(e) => onChange(e.target.value)} data-testid={testId}>
        <option value="">{t("workflows.choose")}</option>
        {[...new Set([...field.options, ...(typeof value === "string" && value !== "" ? [value] : [])])].map((o) => (
          <option key={o} value={o}>
            {o}
          </option>
        ))}
      </select>
    );
  const type = kind === "date" ? "date" : "text";
  return <input type={type} aria-label={label} value={value === null || value === undefined ? "" : String(value)} onChange={(e) => onChange(e.target.value)} data-testid={testId} />;
}
