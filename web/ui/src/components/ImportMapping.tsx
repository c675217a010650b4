// The wizard's mapping step: each column of the file to a field (or left out), the key that
// makes the import an upsert, and whether workflows run. The server's automatic match is the
// starting point; every choice here is sent back as an explicit mapping.
import { useTranslation } from "react-i18next";
import type { ColumnMatch } from "../api/imports";
import { fieldLabel, type Field } from "../schema";

export interface MappingChoice {
  mapping: ColumnMatch[];
  /** Upsert by this indexed field; empty: every row creates a record. */
  key: string;
  workflows: boolean;
  skipFailed: boolean;
}

/** Fields two or more columns fill (the server refuses such a mapping). */
export function duplicateFields(mapping: ColumnMatch[]): string[] {
  const seen = new Map<string, number>();
  for (const column of mapping) if (column.field) seen.set(column.field, (seen.get(column.field) ?? 0) + 1);
  return [...seen].filter(([, count]) => count > 1).map(([field]) => field);
}

export function ImportMapping({ fields, value, onChange }: { fields: Field[]; value: MappingChoice; onChange: (next: MappingChoice) => void }) {
  const { t } = useTranslation();
  const settable = fields.filter((f) => !f.computed);
  const duplicates = duplicateFields(value.mapping);
  const mappedFields = value.mapping.map((c) => c.field).filter((f): f is string => !!f);
  const keyCandidates = settable.filter((f) => f.indexed && mappedFields.includes(f.name));
  const label = (name: string) => fieldLabel(name, fields.find((f) => f.name === name)?.schema);
  const setField = (index: number, field: string) => {
    const mapping = value.mapping.map((column, i) => (i === index ? { ...column, field: field || null } : column));
    const key = mapping.some((c) => c.field === value.key) ? value.key : "";
    onChange({ ...value, mapping, key });
  };
  const used = mappedFields.length;
  return (
    <div className="import-mapping">
      <p className="muted">{t("import.mappingHelp", { used, total: value.mapping.length })}</p>
      <table className="mapping-table" data-testid="mapping-table">
        <thead>
          <tr>
            <th scope="col">{t("import.column")}</th>
            <th scope="col">{t("import.field")}</th>
          </tr>
        </thead>
        <tbody>
          {value.mapping.map((column, index) => {
            const duplicate = column.field !== null && duplicates.includes(column.field);
            const id = `map-${index}`;
            return (
              <tr key={`${column.header}-${index}`} data-testid={`mapping-row-${index}`} className={column.field ? undefined : "left-out"}>
                <th scope="row">
                  <label htmlFor={id}>{column.header || t("import.unnamedColumn", { n: index + 1 })}</label>
                </th>
                <td>
                  <select
                    id={id}
                    value={column.field ?? ""}
                    onChange={(e) => setField(index, e.target.value)}
                    aria-invalid={duplicate || undefined}
                    aria-describedby={duplicate ? `${id}-error` : undefined}
                    data-testid={`map-${column.header}`}
                  >
                    <option value="">{t("import.leaveOut")}</option>
                    {settable.map((f) => (
                      <option key={f.name} value={f.name}>
                        {f.schema.title ? `${f.schema.title} (${f.name})` : label(f.name)}
                      </option>
                    ))}
                  </select>
                  {duplicate && (
                    <div id={`${id}-error`} className="field-error" role="alert">
                      {t("import.mappedTwice", { field: label(column.field as string) })}
                    </div>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <fieldset className="import-options">
        <legend>{t("import.options")}</legend>
        <label>
          <span>{t("import.key")}</span>
          <select value={value.key} onChange={(e) => onChange({ ...value, key: e.target.value })} data-testid="import-key">
            <option value="">{t("import.noKey")}</option>
            {keyCandidates.map((f) => (
              <option key={f.name} value={f.name}>
                {label(f.name)}
              </option>
            ))}
          </select>
        </label>
        <p className="muted small">{t("import.keyHelp")}</p>
        <label className="check">
          <input type="checkbox" checked={value.workflows} onChange={(e) => onChange({ ...value, workflows: e.target.checked })} data-testid="import-workflows" />
          {t("import.workflows")}
        </label>
        <label className="check">
          <input type="checkbox" checked={value.skipFailed} onChange={(e) => onChange({ ...value, skipFailed: e.target.checked })} data-testid="import-skip-failed" />
          {t("import.skipFailed")}
        </label>
      </fieldset>
    </div>
  );
}
