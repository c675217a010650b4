// The import wizard of one form: choose a file (CSV, XLSX or NDJSON) → map its columns →
// check it (a dry run: every row validated, nothing stored) → import with progress → the
// result, with links to the records. The server reads the file each time; the page keeps the
// file and the choices, so going back and forth costs one upload per check.
import { useMemo, useState, type ChangeEvent, type DragEvent } from "react";
import { useTranslation } from "react-i18next";
import { Problem } from "../api/client";
import { importFile, type ImportOutcome } from "../api/imports";
import { getForm } from "../api/tend";
import { ImportMapping, duplicateFields, type MappingChoice } from "../components/ImportMapping";
import { ProblemNotice } from "../components/ProblemNotice";
import { useLoad } from "../hooks/useApi";
import { formatNumber } from "../format";
import { Link } from "../router";
import { fields as formFields, type StoredForm } from "../schema";

type Step = "file" | "mapping" | "report" | "importing" | "done";
const STEPS: Step[] = ["file", "mapping", "report", "importing"];

export default function ImportPage({ space, form }: { space: string; form: string }) {
  const { data: stored, problem, reload } = useLoad((signal) => getForm(space, form, signal), [space, form]);
  if (problem) return <ProblemNotice problem={problem} onRetry={reload} />;
  if (!stored) return <div className="skeleton" aria-busy="true" />;
  return <Wizard space={space} stored={stored} />;
}

function Wizard({ space, stored }: { space: string; stored: StoredForm }) {
  const { t, i18n } = useTranslation();
  const form = stored.name;
  const fields = useMemo(() => formFields(stored.definition), [stored.definition]);
  const [step, setStep] = useState<Step>("file");
  const [file, setFile] = useState<File | null>(null);
  const [choice, setChoice] = useState<MappingChoice>({ mapping: [], key: "", workflows: true, skipFailed: false });
  const [report, setReport] = useState<ImportOutcome | null>(null);
  const [result, setResult] = useState<ImportOutcome | null>(null);
  const [busy, setBusy] = useState(false);
  const [progress, setProgress] = useState(0);
  const [problem, setProblem] = useState<Problem | null>(null);
  const grid = `/s/${encodeURIComponent(space)}/${encodeURIComponent(form)}`;
  const number = (n: number) => formatNumber(n, i18n.language);

  const fail = (err: unknown) => setProblem(err instanceof Problem ? err : new Problem(0, { detail: String(err) }));

  // A new file: the server matches its columns (a dry run with no mapping).
  const choose = async (chosen: File) => {
    setFile(chosen);
    setProblem(null);
    setBusy(true);
    try {
      const outcome = await importFile(space, form, chosen, { workflows: true, skipFailed: false, dryRun: true });
      setChoice({ mapping: outcome.columns, key: "", workflows: true, skipFailed: false });
      setStep("mapping");
    } catch (err) {
      fail(err);
    } finally {
      setBusy(false);
    }
  };

  const check = async () => {
    if (!file) return;
    setProblem(null);
    setBusy(true);
    try {
      setReport(await importFile(space, form, file, { ...choice, key: choice.key || undefined, dryRun: true }));
      setStep("report");
    } catch (err) {
      fail(err);
    } finally {
      setBusy(false);
    }
  };

  const run = async () => {
    if (!file) return;
    setProblem(null);
    setProgress(0);
    setStep("importing");
    try {
      setResult(await importFile(space, form, file, { ...choice, key: choice.key || undefined, dryRun: false }, setProgress));
      setStep("done");
    } catch (err) {
      fail(err);
      setStep("report");
    }
  };

  const restart = () => {
    setStep("file");
    setFile(null);
    setReport(null);
    setResult(null);
    setProblem(null);
  };

  const current = step === "done" ? STEPS.length : STEPS.indexOf(step);
  const blocked = report !== null && report.failed > 0 && !choice.skipFailed;
  const toStore = report ? report.created + report.updated : 0;

  return (
    <section className="import-page" data-testid="import-wizard">
      <header className="page-header">
        <h1>{t("import.title", { form: stored.definition.title ?? form })}</h1>
        <span className="spacer" />
        <Link href={grid}>{t("import.backToGrid")}</Link>
      </header>
      <ol className="wizard-steps" aria-label={t("import.steps")}>
        {STEPS.map((s, index) => (
          <li key={s} className={index === current ? "current" : index < current ? "done" : undefined} aria-current={index === current ? "step" : undefined}>
            <span className="step-number">{index < current ? "✓" : index + 1}</span>
            {t(`import.step.${s}`)}
          </li>
        ))}
      </ol>
      {problem && <ProblemNotice problem={problem} />}
      <div className="card wizard-body">
        {step === "file" && <FileStep busy={busy} onChoose={(f) => void choose(f)} />}

        {step === "mapping" && (
          <>
            <p className="file-name" data-testid="import-file-name">
              {file?.name}
            </p>
            <ImportMapping fields={fields} value={choice} onChange={setChoice} />
            <div className="wizard-actions">
              <button type="button" onClick={restart}>
                {t("import.otherFile")}
              </button>
              <button
                type="button"
                className="primary"
                disabled={busy || duplicateFields(choice.mapping).length > 0 || choice.mapping.every((c) => !c.field)}
                onClick={() => void check()}
                data-testid="import-check"
              >
                {busy ? t("import.checking") : t("import.check")}
              </button>
            </div>
          </>
        )}

        {step === "report" && report && (
          <>
            <Counts outcome={report} dryRun number={number} />
            <RowErrors outcome={report} />
            {blocked && (
              <p className="notice warn" data-testid="import-blocked">
                {t("import.blocked", { failed: number(report.failed) })}
              </p>
            )}
            <div className="wizard-actions">
              <button type="button" onClick={() => setStep("mapping")} data-testid="import-back">
                {t("import.backToMapping")}
              </button>
              <button type="button" className="primary" disabled={blocked || toStore === 0} onClick={() => void run()} data-testid="import-run">
                {t("import.run", { n: number(toStore) })}
              </button>
            </div>
          </>
        )}

        {step === "importing" && (
          <div className="import-progress" data-testid="import-progress">
            <p>{progress < 1 ? t("import.uploading", { percent: Math.round(progress * 100) }) : t("import.storing")}</p>
            <progress max={1} value={progress < 1 ? progress : undefined} aria-label={t("import.step.importing")} />
          </div>
        )}

        {step === "done" && result && (
          <div data-testid="import-done">
            <h2 className={result.failed > 0 ? "done-title warn" : "done-title ok"}>{result.failed > 0 ? t("import.doneWithFailures") : t("import.done")}</h2>
            <Counts outcome={result} dryRun={false} number={number} />
            <RowErrors outcome={result} />
            <div className="wizard-actions">
              <button type="button" onClick={restart}>
                {t("import.another")}
              </button>
              <Link className="button primary" href={grid} data-testid="import-open-grid">
                {t("import.openGrid")}
              </Link>
            </div>
          </div>
        )}
      </div>
    </section>
  );
}

function FileStep({ busy, onChoose }: { busy: boolean; onChoose: (file: File) => void }) {
  const { t } = useTranslation();
  const [over, setOver] = useState(false);
  const picked = (event: ChangeEvent<HTMLInputElement>) => {
    const chosen = event.target.files?.[0];
    if (chosen) onChoose(chosen);
  };
  const dropped = (event: DragEvent) => {
    event.preventDefault();
    setOver(false);
    const chosen = event.dataTransfer.files?.[0];
    if (chosen) onChoose(chosen);
  };
  return (
    <div
      className={over ? "drop-zone over" : "drop-zone"}
      onDragOver={(e) => {
        e.preventDefault();
        setOver(true);
      }}
      onDragLeave={() => setOver(false)}
      onDrop={dropped}
    >
      <p>{busy ? t("import.reading") : t("import.dropHere")}</p>
      <label className="button primary">
        {t("import.chooseFile")}
        <input type="file" accept=".csv,.txt,.xlsx,.ndjson,.jsonl" onChange={picked} disabled={busy} className="visually-hidden" data-testid="import-file" />
      </label>
      <p className="muted small">{t("import.formats")}</p>
    </div>
  );
}

function Counts({ outcome, dryRun, number }: { outcome: ImportOutcome; dryRun: boolean; number: (n: number) => string }) {
  const { t } = useTranslation();
  const items: [string, number, string?][] = [
    ["rows", outcome.rows],
    [dryRun ? "wouldCreate" : "created", outcome.created],
    [dryRun ? "wouldUpdate" : "updated", outcome.updated],
    ["unchanged", outcome.unchanged],
    ["failed", outcome.failed, outcome.failed > 0 ? "bad" : undefined],
  ];
  return (
    <dl className="import-counts" data-testid={dryRun ? "dry-run-counts" : "import-counts"}>
      {items.map(([key, value, tone]) => (
        <div key={key} className={tone} data-testid={`count-${key}`}>
          <dt>{t(`import.count.${key}`)}</dt>
          <dd className="num">{number(value)}</dd>
        </div>
      ))}
    </dl>
  );
}

function RowErrors({ outcome }: { outcome: ImportOutcome }) {
  const { t } = useTranslation();
  if (outcome.errors.length === 0) return outcome.rows > 0 ? <p className="ok">{t("import.noErrors")}</p> : null;
  return (
    <>
      <h3>{t("import.errorsTitle")}</h3>
      <div className="errors-scroll">
        <table className="forms-table row-errors" data-testid="row-errors">
          <thead>
            <tr>
              <th scope="col">{t("import.row")}</th>
              <th scope="col">{t("import.column")}</th>
              <th scope="col">{t("import.message")}</th>
            </tr>
          </thead>
          <tbody>
            {outcome.errors.map((error, index) => (
              <tr key={`${error.row}-${index}`} data-testid="row-error">
                <td className="num">{error.row}</td>
                <td>{error.column ?? error.field ?? ""}</td>
                <td>{error.message}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {outcome.errors_truncated && <p className="muted small">{t("import.errorsTruncated")}</p>}
    </>
  );
}
