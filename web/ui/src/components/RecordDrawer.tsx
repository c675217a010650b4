// The record drawer that opens over the grid (`?record=<id>` or `?record=new`); Escape closes it.
import { useEffect, useRef } from "react";
import { useTranslation } from "react-i18next";
import { Link, setQuery, useLocation } from "../router";
import type { StoredForm } from "../schema";
import { RecordView } from "./RecordView";

export interface RecordDrawerProps {
  space: string;
  stored: StoredForm;
  id: string;
  onClose: () => void;
  onSaved: () => void;
}

/** `?prefill=field:value` (a related record's "new") as initial data. */
export function prefillFrom(query: URLSearchParams): Record<string, unknown> | undefined {
  const raw = query.get("prefill");
  if (!raw) return undefined;
  const at = raw.indexOf(":");
  return at > 0 ? { [raw.slice(0, at)]: raw.slice(at + 1) } : undefined;
}

export default function RecordDrawer({ space, stored, id, onClose, onSaved }: RecordDrawerProps) {
  const { t } = useTranslation();
  const location = useLocation();
  const panel = useRef<HTMLElement>(null);
  useEffect(() => {
    panel.current?.focus();
    const onKey = (e: KeyboardEvent) => e.key === "Escape" && onClose();
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [onClose]);
  const page = `/s/${encodeURIComponent(space)}/${encodeURIComponent(stored.name)}/r/${encodeURIComponent(id)}`;
  return (
    <aside className="drawer" ref={panel} tabIndex={-1} aria-label={t("record.title", { form: stored.definition.title ?? stored.name })} data-testid="record-drawer">
      <div className="drawer-bar">
        {id !== "new" && (
          <Link href={page} className="small">
            ↗ {t("record.openLink", { what: "" }).trim()}
          </Link>
        )}
        <button type="button" onClick={onClose} aria-label={t("record.close")} data-testid="close-drawer">
          ×
        </button>
      </div>
      <RecordView
        space={space}
        stored={stored}
        id={id}
        prefill={prefillFrom(location.query)}
        onSaved={onSaved}
        onCreated={(record) => {
          onSaved();
          setQuery({ record: record.id, prefill: null }, { replace: true });
        }}
      />
    </aside>
  );
}
