// Rules: checks every write must pass, each a rhai expression with the message users see at the
// field it names, and its outcome on the sample record as the server evaluates it.
import { lazy, Suspense } from "react";
import { useTranslation } from "react-i18next";
import { fieldNames, setRules, type DesignModel, type Rule } from "./model";
import type { DraftEvaluation } from "./api";
import type { FieldError } from "../api/client";

const ScriptEditor = lazy(() => import("./ScriptEditor"));

type Change = (model: DesignModel) => DesignModel;

export interface RulesTabProps {
  model: DesignModel;
  change: (...c: Change[]) => void;
  evaluation: DraftEvaluation | null;
  /** The server's objections to the definition; those under `/rules/<i>/` show in rule i. */
  errors: FieldError[];
}

export function RulesTab({ model, change, evaluation, errors }: RulesTabProps) {
  const { t } = useTranslation();
  const names = fieldNames(model);
  const update = (i: number, patch: Partial<Rule>) => change(setRules(model.rules.map((r, j) => (j === i ? { ...r, ...patch } : r))));
  return (
    <section className="rules" aria-label={t("designer.tabs.rules")}>
      <p className="muted">{t("designer.rulesIntro")}</p>
      {model.rules.length === 0 && <p className="empty-state">{t("designer.noRules")}</p>}
      {model.rules.map((rule, i) => {
        const outcome = evaluation?.rules[i];
        return (
          <article key={i} className="card rule" data-testid={`rule-${i}`}>
            <div className="rule-row">
              <label>
                {t("designer.ruleName")}
                <input value={rule.name ?? ""} onChange={(e) => update(i, { name: e.target.value || undefined })} data-testid={`rule-name-${i}`} />
              </label>
              <label>
                {t("designer.ruleField")}
                <select value={rule.path ?? ""} onChange={(e) => update(i, { path: e.target.value })} data-testid={`rule-field-${i}`}>
                  <option value="">{t("designer.wholeRecord")}</option>
                  {names.map((n) => (
                    <option key={n} value={`/${n}`}>
                      {String(model.properties[n]?.title ?? n)}
                    </option>
                  ))}
                </select>
              </label>
              {outcome && (
                <span className={`badge outcome-${outcome.outcome}`} data-testid={`rule-outcome-${i}`}>
                  {t(`designer.outcomes.${outcome.outcome}`)}
                </span>
              )}
              <button type="button" onClick={() => change(setRules(model.rules.filter((_, j) => j !== i)))} aria-label={t("designer.remove", { what: rule.name ?? `#${i + 1}` })}>
                ✕
              </button>
            </div>
            <Suspense fallback={<div className="skeleton small-skeleton" aria-busy="true" />}>
              <ScriptEditor
                value={rule.expr}
                onChange={(expr) => update(i, { expr })}
                fields={names}
                problem={outcome?.error}
                label={t("designer.ruleExpression", { n: i + 1 })}
                placeholder={t("designer.rulePlaceholder")}
                testId={`script-rule-${i}`}
              />
            </Suspense>
            <label>
              {t("designer.ruleMessage")}
              <input value={rule.message} onChange={(e) => update(i, { message: e.target.value })} aria-invalid={errorsAt(errors, i).length > 0} data-testid={`rule-message-${i}`} />
            </label>
            {errorsAt(errors, i).map((e, k) => (
              <div key={k} className="field-error" role="alert" data-testid={`rule-error-${i}`}>
                {e.message}
              </div>
            ))}
          </article>
        );
      })}
      <button type="button" onClick={() => change(setRules([...model.rules, { expr: "true", message: "", path: "" }]))} data-testid="add-rule">
        {t("designer.addRule")}
      </button>
    </section>
  );
}

/** The server's errors about rule `i` (pointers under `/rules/<i>`). */
function errorsAt(errors: FieldError[], i: number): FieldError[] {
  return errors.filter((e) => e.path === `/rules/${i}` || e.path.startsWith(`/rules/${i}/`));
}
