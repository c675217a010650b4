// Choose which columns the grid shows and in which order (checkboxes and up/down buttons:
// usable with the keyboard, no dragging needed).
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { fieldLabel, type Field } from "../schema";

export function ColumnChooser({ fields, chosen, onChange }: { fields: Field[]; chosen: string[]; onChange: (columns: string[]) => void }) {
  const { t } = useTranslation();
  const [open, setOpen] = useState(false);
  const label = (name: string) => fieldLabel(name, fields.find((f) => f.name === name)?.schema);
  const others = fields.filter((f) => !chosen.includes(f.name) && f.kind !== "object" && f.kind !== "array");
  const move = (index: number, by: number) => {
    const next = [...chosen];
    const [item] = next.splice(index, 1);
    next.splice(index + by, 0, item);
    onChange(next);
  };
  return (
    <div className="popover-anchor">
      <button type="button" aria-expanded={open} onClick={() => setOpen(!open)} data-testid="columns">
        {t("grid.columns")}
      </button>
      {open && (
        <div className="popover" role="dialog" aria-label={t("grid.columnsTitle")}>
          <ul className="column-list">
            {chosen.map((name, index) => (
              <li key={name}>
                <label>
                  <input type="checkbox" checked disabled={chosen.length === 1} onChange={() => onChange(chosen.filter((c) => c !== name))} />
                  {label(name)}
                </label>
                <button type="button" disabled={index === 0} aria-label={t("grid.moveUp", { column: label(name) })} onClick={() => move(index, -1)}>
                  ↑
                </button>
                <button type="button" disabled={index === chosen.length - 1} aria-label={t("grid.moveDown", { column: label(name) })} onClick={() => move(index, 1)}>
                  ↓
                </button>
              </li>
            ))}
            {others.map((field) => (
              <li key={field.name}>
                <label>
                  <input type="checkbox" checked={false} onChange={() => onChange([...chosen, field.name])} data-testid={`column-${field.name}`} />
                  {label(field.name)}
                </label>
              </li>
            ))}
          </ul>
        </div>
      )}
    </div>
  );
}
