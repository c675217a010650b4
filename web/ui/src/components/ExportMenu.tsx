// The grid's export button: the current view (its filter, sort and visible columns) as a CSV,
// XLSX or NDJSON file. Each choice is a plain download link: the browser streams the file from
// the server with the session cookie, and nothing is held in the page.
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { exportUrl, type ExportFormat } from "../api/imports";

const FORMATS: ExportFormat[] = ["csv", "xlsx", "ndjson"];

export function ExportMenu({ space, form, view }: { space: string; form: string; view: { filter: string; sort: string; columns: string[] } }) {
  const { t } = useTranslation();
  const [open, setOpen] = useState(false);
  return (
    <div className="popover-anchor">
      <button type="button" aria-expanded={open} aria-haspopup="menu" onClick={() => setOpen(!open)} data-testid="export">
        {t("export.button")}
      </button>
      {open && (
        <div className="popover export-menu" role="menu" aria-label={t("export.title")}>
          <p className="muted small">{view.filter ? t("export.filtered") : t("export.all")}</p>
          {FORMATS.map((format) => (
            <a
              key={format}
              role="menuitem"
              href={exportUrl(space, form, format, view)}
              download={`${form}.${format}`}
              onClick={() => setOpen(false)}
              data-testid={`export-${format}`}
            >
              {t(`export.${format}`)}
            </a>
          ))}
        </div>
      )}
    </div>
  );
}
