// A definition's versions (who stored each and when) and a part-by-part diff between any two of
// them or the draft. Forms and workflows both use it, each with its own way to load a version,
// to list what changed, and its own words (`{strings}.draft`, `.version`, `.publishedAt`...).
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { formatInstant } from "../format";
import { useLoad } from "../hooks/useApi";

export interface Version<D> {
  version: number;
  definition: D;
  created_at?: string;
  created_by?: string;
}

export interface DefinitionChange {
  /** What changed: a field name, a part of the definition... */
  what: string;
  kind: "added" | "removed" | "changed";
  before: unknown;
  after: unknown;
}

/** Added, removed or changed, from the two sides of a change. */
export const changeKind = (before: unknown, after: unknown): DefinitionChange["kind"] => (before === undefined ? "added" : after === undefined ? "removed" : "changed");

export interface VersionHistoryProps<D> {
  latest: number;
  draft: D;
  load: (version: number, signal: AbortSignal) => Promise<Version<D>>;
  diff: (before: D | undefined, after: D | undefined) => DefinitionChange[];
  /** How a change's `what` reads; as it is by default. */
  describe?: (what: string) => string;
  /** The i18n object holding this history's words. */
  strings: string;
  label: string;
}

const DRAFT = 0;
/** How many of the latest versions the list shows. */
const LISTED = 30;

export function VersionHistory<D>({ latest, draft, load, diff, describe = (what) => what, strings, label: ariaLabel }: VersionHistoryProps<D>) {
  const { t, i18n } = useTranslation();
  const history = useLoad((signal) => Promise.all(Array.from({ length: Math.min(latest, LISTED) }, (_, i) => load(latest - i, signal))), [latest, load]);
  const [left, setLeft] = useState(Math.max(latest - 1, latest > 0 ? 1 : DRAFT));
  const [right, setRight] = useState(DRAFT);
  const loadSide = (version: number, signal: AbortSignal) => (version === DRAFT ? Promise.resolve({ version: DRAFT, definition: draft }) : load(version, signal));
  const a = useLoad((signal) => loadSide(left, signal), [left, load, left === DRAFT ? draft : null]);
  const b = useLoad((signal) => loadSide(right, signal), [right, load, right === DRAFT ? draft : null]);
  const versions = [DRAFT, ...Array.from({ length: latest }, (_, i) => latest - i)];
  const label = (v: number) => (v === DRAFT ? t(`${strings}.draft`) : t(`${strings}.version`, { version: v }));
  const list = a.data && b.data ? diff(a.data.definition, b.data.definition) : null;
  return (
    <section className="versions" aria-label={ariaLabel}>
      {latest === 0 && <p className="muted">{t(`${strings}.noVersions`)}</p>}
      <div className="rule-row">
        <VersionSelect label={t(`${strings}.compare`)} value={left} versions={versions} name={label} onChange={setLeft} testId="diff-left" />
        <VersionSelect label={t(`${strings}.with`)} value={right} versions={versions} name={label} onChange={setRight} testId="diff-right" />
      </div>
      {history.data && history.data.length > 0 && (
        <table className="diff-table versions-list" data-testid="versions-list">
          <thead>
            <tr>
              <th scope="col">{t(`${strings}.versionColumn`)}</th>
              <th scope="col">{t(`${strings}.publishedAt`)}</th>
              <th scope="col">{t(`${strings}.publishedBy`)}</th>
              <th scope="col">
                <span className="visually-hidden">{t(`${strings}.compareWithDraft`)}</span>
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
                    {t(`${strings}.compareWithDraft`)}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {list && list.length === 0 && <p className="muted">{t(`${strings}.noDifferences`)}</p>}
      {list && list.length > 0 && (
        <table className="diff-table" data-testid="version-diff">
          <thead>
            <tr>
              <th scope="col">{t(`${strings}.diffWhat`)}</th>
              <th scope="col">{t(`${strings}.diffChange`)}</th>
              <th scope="col">{label(left)}</th>
              <th scope="col">{label(right)}</th>
            </tr>
          </thead>
          <tbody>
            {list.map((c) => (
              <tr key={c.what} className={`diff-${c.kind}`}>
                <th scope="row">{describe(c.what)}</th>
                <td>{t(`${strings}.diffKinds.${c.kind}`)}</td>
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
