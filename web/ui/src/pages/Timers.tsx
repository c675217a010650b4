// What fires next in a space: its pending timers in due order, narrowed by workflow or record
// (in the URL), each due time in UTC and on its zone's wall clock, and the next one of each
// workflow at a glance.
import { useTranslation } from "react-i18next";
import { listTimers, listWorkflows, type Timer } from "../api/watching";
import { ProblemNotice } from "../components/ProblemNotice";
import { SpaceNav } from "../components/SpaceNav";
import { ChoiceFilter, MoreButton, RecordFilter, When, workflowChoices } from "../components/Watch";
import { formatInstantIn } from "../format";
import { useLoad } from "../hooks/useApi";
import { usePaged } from "../hooks/usePaged";
import { refName, useRefNames } from "../hooks/useRefNames";
import { Link, setQuery, useLocation } from "../router";
import { recordHref } from "../watching";

/** The first (soonest) timer of each workflow, in due order. */
export function nextPerWorkflow(timers: Timer[]): Timer[] {
  const seen = new Set<string>();
  return timers.filter((timer) => {
    const key = timer.workflow ?? "";
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export default function TimersPage({ space }: { space: string }) {
  const { t, i18n } = useTranslation();
  const { query } = useLocation();
  const workflow = query.get("workflow") ?? "";
  const record = query.get("record") ?? "";
  const workflows = useLoad((signal) => listWorkflows(space, signal), [space]);
  const paged = usePaged((cursor, signal) => listTimers(space, { workflow, record, cursor }, signal), `${space}/${workflow}/${record}`);
  const timers = paged.items;
  const soonest = nextPerWorkflow(timers);
  useRefNames(space, timers.flatMap((timer) => (timer.form && timer.record ? [{ form: timer.form, id: timer.record }] : [])));
  return (
    <section className="watch-page">
      <SpaceNav space={space} />
      <header className="page-header">
        <h1>{t("timers.title")}</h1>
      </header>
      <div className="filters watch-filters">
        <ChoiceFilter label={t("runs.workflow")} param="workflow" value={workflow} choices={workflowChoices(workflows.data)} testid="timers-workflow" />
        <RecordFilter key={record} value={record} testid="timers-record" />
      </div>
      {paged.problem && <ProblemNotice problem={paged.problem} onRetry={paged.reload} />}
      {paged.loading && paged.items.length === 0 && <div className="skeleton" aria-busy="true" />}
      {!paged.loading && timers.length === 0 && !paged.problem && <p className="empty-state">{t("timers.empty")}</p>}
      {soonest.length > 0 && !workflow && (
        <section className="card next-up" data-testid="timers-next">
          <h2>{t("timers.nextPerWorkflow")}</h2>
          <ul>
            {soonest.map((timer) => (
              <li key={timer.id}>
                {timer.workflow ? (
                  <button type="button" className="link-button" onClick={() => setQuery({ workflow: timer.workflow ?? "" })}>
                    {timer.workflow}
                  </button>
                ) : (
                  <span>{t("timers.sla")}</span>
                )}
                <span>{formatInstantIn(timer.due, i18n.language, timer.timezone)}</span>
                <span className="muted small">{t("timers.zone", { zone: timer.timezone })}</span>
              </li>
            ))}
          </ul>
        </section>
      )}
      {timers.length > 0 && (
        <div className="table-card">
          <table className="watch-table" data-testid="timers-table">
            <thead>
              <tr>
                <th>{t("timers.dueLocal")}</th>
                <th>{t("timers.dueUtc")}</th>
                <th>{t("runs.workflow")}</th>
                <th>{t("timers.kind")}</th>
                <th>{t("timers.spec")}</th>
                <th>{t("runs.record")}</th>
              </tr>
            </thead>
            <tbody>
              {timers.map((timer) => (
                <tr key={timer.id} data-testid="timer-row">
                  <td>
                    {formatInstantIn(timer.due, i18n.language, timer.timezone)}
                    <div className="muted small">{timer.timezone}</div>
                  </td>
                  <td>
                    <When at={timer.due} zone="UTC" />
                  </td>
                  <td>{timer.workflow ?? <span className="muted">{t("timers.sla")}</span>}</td>
                  <td>{t(`timers.kinds.${timer.kind}`, { defaultValue: timer.kind })}</td>
                  <td>
                    <code>{timer.offset}</code>
                  </td>
                  <td>
                    {timer.record && timer.form ? (
                      <>
                        <Link href={recordHref(space, timer.form, timer.record)}>{refName(timer.form, timer.record) ?? timer.record.slice(-12)}</Link>{" "}
                        <button type="button" className="link-button small" onClick={() => setQuery({ record: timer.record ?? "" })}>
                          {t("timers.onlyThis")}
                        </button>
                      </>
                    ) : (
                      <span className="muted">—</span>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <MoreButton more={paged.more} loading={paged.loading} onMore={paged.loadMore} />
    </section>
  );
}
