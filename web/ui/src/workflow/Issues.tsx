// The server's objections (422 `errors`) and warnings (a saved workflow's `warnings`), each shown
// at the input its JSON pointer names; the summary above the builder lists every one, so none
// is lost when no input claims it.
import { createContext, useContext } from "react";
import { useTranslation } from "react-i18next";
import type { FieldError } from "../api/client";

export interface IssueSet {
  errors: FieldError[];
  warnings: FieldError[];
}

export const IssuesContext = createContext<IssueSet>({ errors: [], warnings: [] });

/** Whether `path` is `at` or lies under it. */
const within = (path: string, at: string) => path === at || path.startsWith(`${at}/`);

/** The issues at `at` exactly, or under it with `under`. */
export function useIssues(at: string, under = false): IssueSet {
  const issues = useContext(IssuesContext);
  const pick = (list: FieldError[]) => list.filter((e) => (under ? within(e.path, at) : e.path === at));
  return { errors: pick(issues.errors), warnings: pick(issues.warnings) };
}

/** The messages for one input; `testId` names them for tests (`issue-/trigger/cron`). */
export function Issues({ at, under = false }: { at: string; under?: boolean }) {
  const { errors, warnings } = useIssues(at, under);
  if (errors.length === 0 && warnings.length === 0) return null;
  return (
    <>
      {errors.map((e, i) => (
        <div key={`e${i}`} className="field-error" role="alert" data-testid={`error-${at}`}>
          {e.message}
        </div>
      ))}
      {warnings.map((w, i) => (
        <div key={`w${i}`} className="field-warning" role="status" data-testid={`warning-${at}`}>
          {w.message}
        </div>
      ))}
    </>
  );
}

/** Every issue with where it is, in words (`Step 2 · notify › webhook`). */
export function IssueSummary({ issues, place }: { issues: IssueSet; place: (path: string) => string }) {
  const { t } = useTranslation();
  const kinds = [
    { list: issues.errors, className: "notice error", role: "alert", testId: "workflow-errors", title: t("workflows.errorsTitle") },
    { list: issues.warnings, className: "notice warn", role: "status", testId: "workflow-warnings", title: t("workflows.warningsTitle") },
  ];
  return (
    <>
      {kinds
        .filter((kind) => kind.list.length > 0)
        .map((kind) => (
          <div key={kind.testId} className={kind.className} role={kind.role} data-testid={kind.testId}>
            <div>
              <strong>{kind.title}</strong>
              <ul className="plain">
                {kind.list.map((e, i) => (
                  <li key={i}>
                    <span className="muted">{place(e.path)}</span> {e.message}
                  </li>
                ))}
              </ul>
            </div>
          </div>
        ))}
    </>
  );
}
