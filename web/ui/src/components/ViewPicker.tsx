// Saved views of the grid: pick one (its filter, sort and columns go into the URL, with its
// name), save what is shown now as a view (personal or shared), delete the current one.
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { api, formPath, Problem } from "../api/client";
import { useLoad } from "../hooks/useApi";
import { setQuery, useLocation } from "../router";

interface View {
  name: string;
  title: string;
  filter?: string;
  resolved_filter?: string;
  sort?: string;
  columns: string[];
  shared: boolean;
}

/** A slug for a view's name from its title (non-Latin titles get a generated one). */
export function slugFor(title: string): string {
  const slug = title
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 48)
    .replace(/-+$/, "");
  return /^[a-z]/.test(slug) ? slug : `view-${Date.now().toString(36)}`;
}

export function ViewPicker({ space, form, current }: { space: string; form: string; current: { filter: string; sort: string; columns: string[] } }) {
  const { t } = useTranslation();
  const location = useLocation();
  const selected = location.query.get("view") ?? "";
  const views = useLoad(async (signal) => (await api<{ items: View[] }>(formPath(space, form, "/views"), { signal })).body.items, [space, form]);
  const [saving, setSaving] = useState(false);
  const [title, setTitle] = useState("");
  const [shared, setShared] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const choose = (name: string) => {
    const view = views.data?.find((v) => v.name === name);
    if (!view) {
      setQuery({ view: null, filter: null, sort: null, columns: null });
      return;
    }
    setQuery({ view: view.name, filter: view.resolved_filter ?? view.filter ?? null, sort: view.sort ?? null, columns: view.columns.join(",") || null });
  };
  const save = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    const name = slugFor(title);
    try {
      await api(formPath(space, form, `/views/${encodeURIComponent(name)}`), {
        method: "PUT",
        body: { title: title.trim(), filter: current.filter || undefined, sort: current.sort || undefined, columns: current.columns, shared },
      });
      setSaving(false);
      setTitle("");
      views.reload();
      setQuery({ view: name });
    } catch (err) {
      setError(err instanceof Problem ? err.errors.map((e) => `${e.path} ${e.message}`).join("; ") || err.detail : String(err));
    }
  };
  const remove = async () => {
    await api(formPath(space, form, `/views/${encodeURIComponent(selected)}`), { method: "DELETE" });
    views.reload();
    setQuery({ view: null });
  };

  return (
    <div className="view-picker">
      <label>
        <span className="visually-hidden">{t("grid.views")}</span>
        <select value={selected} onChange={(e) => choose(e.target.value)} data-testid="view-picker">
          <option value="">{t("grid.allRecords")}</option>
          {views.data?.map((v) => (
            <option key={v.name} value={v.name}>
              {v.title}
              {v.shared ? "" : ` · ${t("grid.personal")}`}
            </option>
          ))}
        </select>
      </label>
      {selected && (
        <button type="button" className="link-button" onClick={() => void remove()} data-testid="delete-view">
          {t("grid.deleteView")}
        </button>
      )}
      {saving ? (
        <form className="save-view" onSubmit={(e) => void save(e)}>
          <label>
            <span className="visually-hidden">{t("grid.viewName")}</span>
            <input autoFocus placeholder={t("grid.viewName")} value={title} onChange={(e) => setTitle(e.target.value)} data-testid="view-title" />
          </label>
          <label className="small">
            <input type="checkbox" checked={shared} onChange={(e) => setShared(e.target.checked)} />
            {t("grid.shared")}
          </label>
          <button type="submit" className="primary" disabled={!title.trim()} data-testid="view-save">
            {t("grid.save")}
          </button>
          <button type="button" onClick={() => setSaving(false)}>
            {t("grid.cancel")}
          </button>
          {error && (
            <span className="field-error" role="alert">
              {error}
            </span>
          )}
        </form>
      ) : (
        <button type="button" onClick={() => setSaving(true)} data-testid="save-view">
          {t("grid.saveView")}
        </button>
      )}
    </div>
  );
}
