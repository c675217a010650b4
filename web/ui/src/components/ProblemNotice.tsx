// A problem answer shown where it happened, in the server's own words, with a retry for
// network failures rather than a blank page.
import { useTranslation } from "react-i18next";
import type { Problem } from "../api/client";

export function ProblemNotice({ problem, onRetry }: { problem: Problem; onRetry?: () => void }) {
  const { t } = useTranslation();
  const text = problem.status === 0 ? t("problem.network") : t("problem.generic", { detail: problem.detail || problem.title });
  return (
    <div className="notice error" role="alert" data-testid="problem">
      <span>{text}</span>
      {onRetry && (
        <button type="button" onClick={onRetry}>
          {t("app.retry")}
        </button>
      )}
    </div>
  );
}
