// The test panel: pick a stored record of the trigger's form (or type a sample), say what the
// record was before (`old`) and which event to pretend, and dry-run the saved workflow: whether
// `when` held, every effect, every record it would write and every delivery it would make;
// nothing is stored. "Run now" runs it for real.
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { Problem } from "../api/client";
import { listRecords } from "../api/tend";
import { ProblemNotice } from "../components/ProblemNotice";
import { Link } from "../router";
import { useLoad } from "../hooks/useApi";
import { fields as formFields, fieldLabel, recordTitle, type Field, type StoredForm } from "../schema";
import { dryRun, runNow, type DryRun, type DryRunInput, type Run } from "./api";
import { RECORD_EVENTS } from "./model";

export interface TestPanelProps {
  space: string;
  workflow: string;
  /** The trigger's form; none for a schedule or a hook (they run about no record). */
  form: StoredForm | undefined;
  /** The builder has unsaved changes: the test runs the saved version. */
  dirty: boolean;
  saved: boolean;
  /** The event to pretend first: the trigger's own. */
  event?: string;
}

type Values = Record<string, unknown>;

/** What was typed, as the field takes it: numbers as numbers, yes/no as booleans, empty as absent. */
export function coerce(text: string, field: Field | undefined): unknown {
  if (text === "") return undefined;
  if (field?.kind === "number" || field?.kind === "integer") return Number.isFinite(Number(text)) ? Number(text) : text;
  if (field?.kind === "boolean") return text === "true";
  return text;
}

const shown = (v: unknown) => (v === undefined || v === null ? "" : typeof v === "object" ? JSON.stringify(v) : String(v));

export function TestPanel({ space, workflow, form, dirty, saved, event: triggerEvent }: TestPanelProps) {
  const { t } = useTranslation();
  const records = useLoad((signal) => (form ? listRecords(space, form.name, { limit: 50 }, signal).then((p) => p.items) : Promise.resolve([])), [space, form?.name]);
  const [recordId, setRecordId] = useState("");
  const [event, setEvent] = useState(triggerEvent ?? "updated");
  const [sample, setSample] = useState<Values>({});
  const [old, setOld] = useState<Values | null>(null);
  const [result, setResult] = useState<{ kind: "dry"; dry: DryRun } | { kind: "run"; run: Run } | { kind: "problem"; problem: Problem } | null>(null);
  const [busy, setBusy] = useState(false);
  const list = form ? formFields(form.definition) : [];
  const picked = records.data?.find((r) => r.id === recordId);
  const current: Values = picked ? picked.data : sample;
  const before: Values = old ?? current;

  const go = async (what: () => Promise<typeof result>) => {
    setBusy(true);
    try {
      setResult(await what());
    } catch (err) {
      if (err instanceof Problem) setResult({ kind: "problem", problem: err });
      else throw err;
    } finally {
      setBusy(false);
    }
  };
  const input = (): DryRunInput => {
    if (!form) return {};
    const base: DryRunInput = picked ? { record_id: picked.id } : { record: sample };
    if (event !== "updated") base.event = event;
    if (old && event !== "created") base.old = old;
    return base;
  };

  return (
    <aside className="test-panel card" aria-label={t("workflows.test.title")} data-testid="test-panel">
      <h2>{t("workflows.test.title")}</h2>
      {!saved && <p className="muted">{t("workflows.test.saveFirst")}</p>}
      {saved && dirty && <p className="field-warning">{t("workflows.test.testsSaved")}</p>}
      {form && (
        <>
          <div className="row">
            <label className="grow">
              {t("workflows.test.record")}
              <select
                value={recordId}
                onChange={(e) => {
                  setRecordId(e.target.value);
                  setOld(null);
                  setResult(null);
                }}
                data-testid="test-record"
              >
                <option value="">{t("workflows.test.sample")}</option>
                {(records.data ?? []).map((r) => (
                  <option key={r.id} value={r.id}>
                    {recordTitle(r, form.definition)}
                  </option>
                ))}
              </select>
            </label>
            <label>
              {t("workflows.test.event")}
              <select value={event} onChange={(e) => setEvent(e.target.value)} data-testid="test-event">
                {[...RECORD_EVENTS, "sla_breached"].map((e) => (
                  <option key={e} value={e}>
                    {t(`workflows.events.${e}`)}
                  </option>
                ))}
              </select>
            </label>
          </div>
          <table className="sample-table">
            <thead>
              <tr>
                <th scope="col">{t("workflows.test.field")}</th>
                {event !== "created" && <th scope="col">{t("workflows.test.old")}</th>}
                <th scope="col">{t("workflows.test.new")}</th>
              </tr>
            </thead>
            <tbody>
              {list.map((f) => (
                <tr key={f.name}>
                  <th scope="row">{fieldLabel(f.name, f.schema)}</th>
                  {event !== "created" && (
                    <td>
                      <input
                        value={shown(before[f.name])}
                        aria-label={t("workflows.test.oldOf", { field: fieldLabel(f.name, f.schema) })}
                        onChange={(e) => setOld({ ...before, [f.name]: coerce(e.target.value, f) })}
                        data-testid={`test-old-${f.name}`}
                      />
                    </td>
                  )}
                  <td>
                    {picked ? (
                      <span className="muted" data-testid={`test-new-${f.name}`}>
                        {shown(current[f.name])}
                      </span>
                    ) : (
                      <input
                        value={shown(sample[f.name])}
                        aria-label={t("workflows.test.newOf", { field: fieldLabel(f.name, f.schema) })}
                        onChange={(e) => setSample({ ...sample, [f.name]: coerce(e.target.value, f) })}
                        data-testid={`test-new-${f.name}`}
                      />
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
      <div className="row">
        <button type="button" className="primary" disabled={!saved || busy} onClick={() => void go(async () => ({ kind: "dry", dry: await dryRun(space, workflow, input()) }))} data-testid="dry-run">
          {t("workflows.test.dryRun")}
        </button>
        <button type="button" disabled={!saved || busy} onClick={() => void go(async () => ({ kind: "run", run: await runNow(space, workflow, picked?.id) }))} data-testid="run-now">
          {t("workflows.test.runNow")}
        </button>
      </div>
      {result?.kind === "problem" && <ProblemNotice problem={result.problem} />}
      {result?.kind === "dry" && <RunResult space={space} run={result.dry.run} dry={result.dry} />}
      {result?.kind === "run" && <RunResult space={space} run={result.run} />}
    </aside>
  );
}

/** `{"create": {...}}` as its kind and what it says. */
function effectParts(effect: unknown): [string, unknown] {
  if (typeof effect === "object" && effect !== null && !Array.isArray(effect)) {
    const entries = Object.entries(effect);
    if (entries.length === 1) return [entries[0][0], entries[0][1]];
  }
  return ["", effect];
}

/** A run as the panel shows it: `when`, the status, each effect, what it writes and delivers. */
function RunResult({ space, run, dry }: { space: string; run: Run; dry?: DryRun }) {
  const { t } = useTranslation();
  return (
    <div className="run-result" data-testid={dry ? "dry-run-result" : "run-result"}>
      <p>
        <span className={`badge run-${run.status}`} data-testid="test-status">
          {t(`workflows.status.${run.status}`)}
        </span>{" "}
        <span data-testid="test-when">{run.when === null || run.when === undefined ? t("workflows.test.whenNotReached") : run.when ? t("workflows.test.whenHeld") : t("workflows.test.whenFailed")}</span>
        {!dry && (
          <>
            {" · "}
            <Link href={`/space/${encodeURIComponent(space)}/runs?workflow=${encodeURIComponent(run.workflow)}`} data-testid="runs-link">
              {t("workflows.test.seeRuns")}
            </Link>
          </>
        )}
      </p>
      {run.error && (
        <p className="field-error" data-testid="test-error">
          {run.error}
        </p>
      )}
      <h3>{t("workflows.test.effects", { count: run.effects.length })}</h3>
      <ol className="effects" data-testid="test-effects">
        {run.effects.map((e, i) => {
          const [kind, detail] = effectParts(e);
          return (
            <li key={i}>
              <span className="effect-kind">{t(`workflows.actionKinds.${kind}`, { defaultValue: kind })}</span>
              <code>{JSON.stringify(detail)}</code>
            </li>
          );
        })}
      </ol>
      {dry && dry.records.length > 0 && (
        <>
          <h3>{t("workflows.test.records", { count: dry.records.length })}</h3>
          <ul className="effects" data-testid="test-records">
            {dry.records.map((r) => (
              <li key={r.id}>
                <strong>{r.form}</strong> <code>{JSON.stringify(r.data)}</code>
              </li>
            ))}
          </ul>
        </>
      )}
      {dry && (
        <>
          <h3>{t("workflows.test.deliveries", { count: dry.deliveries.length })}</h3>
          <ul className="effects" data-testid="test-deliveries">
            {dry.deliveries.map((d, i) => {
              const [kind, target] = effectParts(d.target);
              return (
                <li key={i}>
                  <span className="effect-kind">
                    {t(`workflows.actions.${kind}`, { defaultValue: kind })} {typeof target === "string" ? target : ""}
                  </span>
                  <code>{JSON.stringify(typeof target === "string" ? d.body : target)}</code>
                </li>
              );
            })}
          </ul>
        </>
      )}
      {run.output.length > 0 && (
        <>
          <h3>{t("workflows.test.output")}</h3>
          <pre className="output">{run.output.join("\n")}</pre>
        </>
      )}
    </div>
  );
}
