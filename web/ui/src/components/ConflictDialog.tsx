// The 412 dialog: someone saved the record since it was opened. It shows what they changed
// (their value next to yours) and offers the two ways forward.
import { useEffect, useRef } from "react";
import { useTranslation } from "react-i18next";
import { changes } from "../diff";
import { formatValue } from "../format";
import { fieldLabel, type Field, type TendRecord } from "../schema";

export interface ConflictDialogProps {
  fields: Field[];
  /** The data as it was when the form was opened. */
  base: Record<string, unknown>;
  /** The data as edited here. */
  mine: Record<string, unknown>;
  /** The record as it is now on the server. */
  theirs: TendRecord;
  onKeepMine: () => void;
  onTakeTheirs: () => void;
}

export function ConflictDialog({ fields, base, mine, theirs, onKeepMine, onTakeTheirs }: ConflictDialogProps) {
  const { t, i18n } = useTranslation();
  const first = useRef<HTMLButtonElement>(null);
  useEffect(() => first.current?.focus(), []);
  const changed = changes(base, theirs.data);
  const show = (name: string, value: unknown) => {
    const text = formatValue(value, fields.find((f) => f.name === name), i18n.language);
    return text === "" ? t("record.none") : text;
  };
  return (
    <div className="modal-backdrop">
      <div className="modal" role="dialog" aria-modal="true" aria-labelledby="conflict-title" data-testid="conflict-dialog">
        <h2 id="conflict-title">{t("record.conflictTitle")}</h2>
        <p>{t("record.conflictBody", { theirs: theirs.version })}</p>
        <table className="conflict-table">
          <thead>
            <tr>
              <th scope="col">{t("record.conflictField")}</th>
              <th scope="col">{t("record.conflictTheirs")}</th>
              <th scope="col">{t("record.conflictYours")}</th>
            </tr>
          </thead>
          <tbody>
            {changed.map(({ field, after }) => (
              <tr key={field} data-testid={`conflict-${field}`}>
                <th scope="row">{fieldLabel(field, fields.find((f) => f.name === field)?.schema)}</th>
                <td>{show(field, after)}</td>
                <td>{show(field, mine[field])}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <div className="modal-actions">
          <button type="button" ref={first} onClick={onTakeTheirs} data-testid="take-theirs">
            {t("record.takeTheirs")}
          </button>
          <button type="button" className="primary" onClick={onKeepMine} data-testid="keep-mine">
            {t("record.keepMine")}
          </button>
        </div>
      </div>
    </div>
  );
}
