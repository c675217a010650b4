// A workflow's versions, who saved each and when, and a part-by-part diff between any two (or
// the draft): the trigger's settings one by one, `when`, each step.
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { changes } from "../diff";
import { formatInstant } from "../format";
import { useLoad } from "../hooks/useApi";
import { getWorkflow } from "./api";
import type { StoredWorkflow, WorkflowDefinition } from "./model";

/** A definition flattened for the diff: `trigger.cron`, `when`, `step 2`, `title`... */
export function flatten(definition: WorkflowDefinition | undefined): Record<string, unknown> {
  if (!definition) return {};
  const { trigger, actions, ...rest } = definition;
  const flat: Record<string, unknown> = { ...rest };
  for (const [key, value] of Object.entries(trigger ?? {})) flat[`trigger.${key}`] = value;
  (actions ?? []).forEach((action, i) => (flat[`step ${i + 1}`] = action));
  return flat;
}

const DRAFT = 0;
const LISTED = 30;

export function VersionsPanel({ space, name, latest, draft }: { space: string; name: string; latest: number; draft: WorkflowDefinition }) {
  const { t, i18n } = useTranslation();
  const history = useLoad(
    (signal) => Promise.all(Array.from({ length: Math.min(latest, LISTED) }, (_, i) => getWorkflow(space, name, latest - i, signal))),
    [space, name, latest],
  );
  const [left, setLeft] = useState(Math.max(latest - 1, latest > 0 ? 1 : DRAFT));
  const [right, setRight] = useState(DRAFT);
  const definitionOf = (version: number): WorkflowDefinition | undefined =>
    version === DRAFT ? draft : history.data?.find((v: StoredWorkflow) => v.version === version)?.definition;
  const list = history.data ? changes(flatten(definitionOf(left)), flatten(definitionOf(right))) : null;
  const versions = [DRAFT, ...Array.from({ length: Math.min(latest, LISTED) }, (_, i) => latest - i)];
  const label = (v: number) => (v === DRAFT ? t("workflows.versions.draft") : t("workflows.versions.version", { version: v }));
  return (
    <section className="versions" aria-label={t("workflows.tabs.versions")} data-testid="workflow-versions">
      {latest === 0 && <p className="muted">{t("workflows.versions.none")}</p>}
      <div className="row">
        {[
          [left, setLeft, "diff-left", t("workflows.versions.compare")] as const,
          [right, setRight, "diff-right", t("workflows.versions.with")] as const,
        ].map(([value, set, testId, text]) => (
          <label key={testId}>
            {text}
            <select value={value} onChange={(e) => set(Number(e.target.value))} data-testid={testId}>
              {versions.map((v) => (
                <option key={v} value={v}>
                  {label(v)}
                </option>
              ))}
            </select>
          </label>
        ))}
      </div>
      {history.data && history.data.length > 0 && (
        <table className="diff-table versions-list" data-testid="versions-list">
          <thead>
            <tr>
              <th scope="col">{t("workflows.versions.column")}</th>
              <th scope="col">{t("workflows.versions.savedAt")}</th>
              <th scope="col">{t("workflows.versions.savedBy")}</th>
            </tr>
          </thead>
          <tbody>
            {history.data.map((v) => (
              <tr key={v.version}>
                <th scope="row">
                  <button
                    type="button"
                    className="link-button"
                    onClick={() => {
                      setLeft(v.version);
                      setRight(DRAFT);
                    }}
                  >
                    {label(v.version)}
                  </button>
                </th>
                <td>{v.created_at ? formatInstant(v.created_at, i18n.language) : "—"}</td>
                <td>{v.created_by ?? "—"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {list && list.length === 0 && <p className="muted">{t("workflows.versions.same")}</p>}
      {list && list.length > 0 && (
        <table className="diff-table" data-testid="version-diff">
          <thead>
            <tr>
              <th scope="col">{t("workflows.versions.what")}</th>
              <th scope="col">{label(left)}</th>
              <th scope="col">{label(right)}</th>
            </tr>
          </thead>
          <tbody>
            {list.map((c) => (
              <tr key={c.field} className={`diff-${c.before === undefined ? "added" : c.after === undefined ? "removed" : "changed"}`}>
                <th scope="row">{c.field}</th>
                <td>
                  <code>{c.before === undefined ? "—" : JSON.stringify(c.before)}</code>
                </td>
                <td>
                  <code>{c.after === undefined ? "—" : JSON.stringify(c.after)}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
