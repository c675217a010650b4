// A form's versions and a field-level diff between any two of them (or the draft): which
// fields were added, removed or changed, and what else changed (rules, pipeline, indexes...).
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { changes } from "../diff";
import { useLoad } from "../hooks/useApi";
import { formatInstant } from "../format";
import type { FormDefinition, StoredForm } from "../schema";
import { formVersion } from "./api";

export interface DefinitionChange {
  /** A field name, or a part of the definition (`rules`, `pipeline`...) prefixed with `@`. */
  what: string;
  kind: "added" | "removed" | "changed";
  before: unknown;
  after: unknown;
}

/** Field by field, then the other parts of the definition. */
export function definitionChanges(before: FormDefinition | undefined, after: FormDefinition | undefined): DefinitionChange[] {
  const kindOf = (a: unknown, b: unknown) => (a === undefined ? "added" : b === undefined ? "removed" : "changed");
  const fields = changes(before?.schema.properties, after?.schema.properties).map((c) => ({ what: c.field, kind: kindOf(c.before, c.after), before: c.before, after: c.after }));
  const rest = (d?: FormDefinition) => {
    if (!d) return {};
    const { schema, ...others } = d;
    const { properties: _properties, ...root } = schema;
    return { ...others, schema: root } as Record<string, unknown>;
  };
  const parts = changes(rest(before), rest(after)).map((c) => ({ what: `@${c.field}`, kind: kindOf(c.before, c.after), before: c.before, after: c.after }));
  return [...fields, ...parts] as DefinitionChange[];
}

const DRAFT = 0;
/** How many of the latest versions the list shows. */
const LISTED = 30;

export function VersionsTab({ space, form, latest, draft }: { space: string; form: string; latest: number; draft: FormDefinition }) {
  const { t, i18n } = useTranslation();
  const history = useLoad(
    (signal) => Promise.all(Array.from({ length: Math.min(latest, LISTED) }, (_, i) => formVersion(space, form, latest - i, signal))),
    [space, form, latest],
  );
  const [left, setLeft] = useState(Math.max(latest - 1, latest > 0 ? 1 : DRAFT));
  const [right, setRight] = useState(DRAFT);
  const load = (version: number, signal: AbortSignal) =>
    version === DRAFT ? Promise.resolve({ name: form, version: DRAFT, definition: draft } as StoredForm) : formVersion(space, form, version, signal);
  const a = useLoad((signal) => load(left, signal), [space, form, left, left === DRAFT ? draft : null]);
  const b = useLoad((signal) => load(right, signal), [space, form, right, right === DRAFT ? draft : null]);
  const versions = [DRAFT, ...Array.from({ length: latest }, (_, i) => latest - i)];
  const label = (v: number) => (v === DRAFT ? t("designer.draft") : t("designer.version", { version: v }));
  const list = a.data && b.data ? definitionChanges(a.data.definition, b.data.definition) : null;
  const describe = (what: string) => (what.startsWith("@") ? t("designer.part", { part: what.slice(1) }) : what);
  return (
    <section className="versions" aria-label={t("designer.tabs.versions")}>
      {latest === 0 && <p className="muted">{t("designer.noVersions")}</p>}
      <div className="rule-row">
        <VersionSelect label={t("designer.compare")} value={left} versions={versions} name={label} onChange={setLeft} testId="diff-left" />
        <VersionSelect label={t("designer.with")} value={right} versions={versions} name={label} onChange={setRight} testId="diff-right" />
      </div>
      {history.data && history.data.length > 0 && (
        <table className="diff-table versions-list" data-testid="versions-list">
          <thead>
            <tr>
              <th scope="col">{t("designer.versionColumn")}</th>
              <th scope="col">{t("designer.publishedAt")}</th>
              <th scope="col">{t("designer.publishedBy")}</th>
              <th scope="col">
                <span className="visually-hidden">{t("designer.compareWithDraft")}</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {history.data.map((v) => (
              <tr key={v.version}>
                <th scope="row">{label(v.version)}</th>
                <td>{v.created_at ? formatInstant(v.created_at, i18n.language) : "—"}</td>
                <td>{v.created_by ?? "—"}</td>
                <td>
                  <button
                    type="button"
                    className="link-button"
                    onClick={() => {
                      setLeft(v.version);
                      setRight(DRAFT);
                    }}
                  >
                    {t("designer.compareWithDraft")}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {list && list.length === 0 && <p className="muted">{t("designer.noDifferences")}</p>}
      {list && list.length > 0 && (
        <table className="diff-table" data-testid="version-diff">
          <thead>
            <tr>
              <th scope="col">{t("designer.diffWhat")}</th>
              <th scope="col">{t("designer.diffChange")}</th>
              <th scope="col">{label(left)}</th>
              <th scope="col">{label(right)}</th>
            </tr>
          </thead>
          <tbody>
            {list.map((c) => (
              <tr key={c.what} className={`diff-${c.kind}`}>
                <th scope="row">{describe(c.what)}</th>
                <td>{t(`designer.diffKinds.${c.kind}`)}</td>
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

interface VersionSelectProps {
  label: string;
  value: number;
  versions: number[];
  name: (version: number) => string;
  onChange: (version: number) => void;
  testId: string;
}

function VersionSelect({ label, value, versions, name, onChange, testId }: VersionSelectProps) {
  return (
    <label>
      {label}
      <select value={value} onChange={(e) => onChange(Number(e.target.value))} data-testid={testId}>
        {versions.map((v) => (
          <option key={v} value={v}>
            {name(v)}
          </option>
        ))}
      </select>
    </label>
  );
}
