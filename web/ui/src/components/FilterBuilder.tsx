// The filter builder: conditions as chips (field, operator, value) joined by `and`. It edits
// the same filter string the raw box shows, so either can be used and both stay in the URL.
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { conditionToFilter, fromFilter, operatorsFor, toFilter, type Condition, type Operator } from "../filter";
import { fieldLabel, type Field } from "../schema";

export interface FilterBuilderProps {
  fields: Field[];
  filter: string;
  onChange: (filter: string) => void;
}

export function FilterBuilder({ fields, filter, onChange }: FilterBuilderProps) {
  const { t } = useTranslation();
  const conditions = fromFilter(filter);
  const [draft, setDraft] = useState<Condition | null>(null);
  const filterable = fields.filter((f) => f.kind !== "object" && f.kind !== "array");
  const fieldOf = (name: string) => fields.find((f) => f.name === name);

  const startDraft = () => {
    const first = filterable[0];
    if (first) setDraft({ field: first.name, op: operatorsFor(first)[0], value: "" });
  };
  const addDraft = (event: FormEvent) => {
    event.preventDefault();
    if (!draft) return;
    onChange(toFilter([...(conditions ?? []), draft], fields));
    setDraft(null);
  };
  const remove = (index: number) => onChange(toFilter((conditions ?? []).filter((_, i) => i !== index), fields));
  const draftField = draft ? fieldOf(draft.field) : undefined;

  return (
    <div className="filter-builder" data-testid="filter-builder">
      {conditions?.map((condition, index) => {
        const text = `${fieldLabel(condition.field, fieldOf(condition.field)?.schema)} ${t(`ops.${condition.op}`)} ${condition.value}`;
        return (
          <span className="chip" key={`${index}-${conditionToFilter(condition, fieldOf(condition.field))}`} data-testid="filter-chip">
            {text}
            <button type="button" aria-label={t("grid.remove", { what: text })} onClick={() => remove(index)}>
              ×
            </button>
          </span>
        );
      })}
      {draft ? (
        <form className="chip-editor" onSubmit={addDraft} data-testid="condition-editor">
          <label>
            <span className="visually-hidden">{t("grid.field")}</span>
            <select
              value={draft.field}
              data-testid="condition-field"
              onChange={(e) => {
                const field = fieldOf(e.target.value);
                setDraft({ field: e.target.value, op: operatorsFor(field)[0], value: "" });
              }}
            >
              {filterable.map((f) => (
                <option key={f.name} value={f.name}>
                  {fieldLabel(f.name, f.schema)}
                </option>
              ))}
            </select>
          </label>
          <label>
            <span className="visually-hidden">{t("grid.operator")}</span>
            <select value={draft.op} data-testid="condition-op" onChange={(e) => setDraft({ ...draft, op: e.target.value as Operator })}>
              {operatorsFor(draftField).map((op) => (
                <option key={op} value={op}>
                  {t(`ops.${op}`)}
                </option>
              ))}
            </select>
          </label>
          <label>
            <span className="visually-hidden">{t("grid.value")}</span>
            {draftField?.kind === "enum" && draft.op !== "in" ? (
              <select value={draft.value} data-testid="condition-value" onChange={(e) => setDraft({ ...draft, value: e.target.value })}>
                <option value="" />
                {draftField.options.map((o) => (
                  <option key={o} value={o}>
                    {o}
                  </option>
                ))}
              </select>
            ) : draftField?.kind === "boolean" ? (
              <select value={draft.value} data-testid="condition-value" onChange={(e) => setDraft({ ...draft, value: e.target.value })}>
                <option value="" />
                <option value="true">true</option>
                <option value="false">false</option>
              </select>
            ) : (
              <input
                data-testid="condition-value"
                type={draftField?.kind === "date" ? "date" : draftField?.kind === "number" || draftField?.kind === "integer" ? "number" : "text"}
                value={draft.value}
                onChange={(e) => setDraft({ ...draft, value: e.target.value })}
              />
            )}
          </label>
          <button type="submit" className="primary" data-testid="condition-add">
            {t("grid.apply")}
          </button>
          <button type="button" onClick={() => setDraft(null)}>
            {t("grid.cancel")}
          </button>
        </form>
      ) : (
        conditions !== null && (
          <button type="button" onClick={startDraft} data-testid="add-condition">
            + {t("grid.addCondition")}
          </button>
        )
      )}
      {filter && (
        <button type="button" className="link-button" onClick={() => onChange("")} data-testid="clear-filter">
          {t("grid.clear")}
        </button>
      )}
    </div>
  );
}
