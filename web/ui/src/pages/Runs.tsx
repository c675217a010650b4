// What a space's workflows did: runs newest first, narrowed by workflow, status, record and
// time (all in the URL), and one run in full — what `when` gave, its effects linked to the
// records and deliveries, the error at its script line, late and skip notes — with a retry.
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { Problem } from "../api/client";
import { getRun, getSpace, getWorkflow, listDeliveries, listRuns, listWorkflows, retryRun, type Delivery, type Run } from "../api/watching";
import { ProblemNotice } from "../components/ProblemNotice";
import { SpaceNav } from "../components/SpaceNav";
import { attentionChanged, ChoiceFilter, MoreButton, RecordFilter, StatusChip, useStatusChoices, When, workflowChoices } from "../components/Watch";
import { formatMicros } from "../format";
import { useLoad } from "../hooks/useApi";
import { usePaged } from "../hooks/usePaged";
import { refName, useRefNames } from "../hooks/useRefNames";
import { Link, navigate, setQuery, useLocation } from "../router";
import { deliveryHref, effectLinks, excerpt, NIL, recordHref, runHref, scriptPlace, scriptSource } from "../watching";

/** `2027-03-01T09:00` from a datetime-local input, read as UTC, as an RFC 3339 instant. */
const toInstant = (local: string) => (local ? `${local}:00Z` : "");
const toLocalInput = (instant: string | null) => (instant ? instant.slice(0, 16) : "");

export default function RunsPage({ space, id }: { space: string; id?: string }) {
  return (
    <section className="watch-page">
      <SpaceNav space={space} />
      {id ? <RunDetail key={id} space={space} id={id} /> : <RunList space={space} />}
    </section>
  );
}

function RunList({ space }: { space: string }) {
  const { t } = useTranslation();
  const { query } = useLocation();
  const params = {
    workflow: query.get("workflow") ?? "",
    status: query.get("status") ?? "",
    record: query.get("record") ?? "",
    since: query.get("since") ?? "",
    until: query.get("until") ?? "",
  };
  const info = useLoad((signal) => Promise.all([getSpace(space, signal), listWorkflows(space, signal)]), [space]);
  const runs = usePaged((cursor, signal) => listRuns(space, { ...params, limit: 50, cursor }, signal), `${space}/${JSON.stringify(params)}`);
  const statuses = useStatusChoices(["succeeded", "skipped", "failed"]);
  const [space_, workflows] = info.data ?? [];
  const zone = space_?.timezone;
  const forms = new Map((workflows ?? []).map((w) => [w.name, w.definition.trigger?.form]));
  useRefNames(
    space,
    runs.items.flatMap((run) => {
      const form = forms.get(run.workflow);
      return form && run.record !== NIL ? [{ form, id: run.record }] : [];
    }),
  );
  return (
    <>
      <header className="page-header">
        <h1>{t("runs.title")}</h1>
        {zone && <span className="muted small">{t("watch.zone", { zone })}</span>}
      </header>
      <div className="filters watch-filters">
        <ChoiceFilter label={t("runs.workflow")} param="workflow" value={params.workflow} choices={workflowChoices(workflows)} testid="runs-workflow" />
        <ChoiceFilter label={t("runs.statusLabel")} param="status" value={params.status} choices={statuses} testid="runs-status" />
        <RecordFilter key={params.record} value={params.record} testid="runs-record" />
        <label className="inline">
          {t("runs.since")}
          <input type="datetime-local" value={toLocalInput(params.since)} onChange={(e) => setQuery({ since: toInstant(e.target.value) })} data-testid="runs-since" />
        </label>
        <label className="inline">
          {t("runs.until")}
          <input type="datetime-local" value={toLocalInput(params.until)} onChange={(e) => setQuery({ until: toInstant(e.target.value) })} data-testid="runs-until" />
        </label>
        <span className="muted small">{t("runs.timesInUtc")}</span>
      </div>
      {runs.problem && <ProblemNotice problem={runs.problem} onRetry={runs.reload} />}
      {runs.loading && runs.items.length === 0 && <div className="skeleton" aria-busy="true" />}
      {!runs.loading && runs.items.length === 0 && !runs.problem && <p className="empty-state">{t("runs.empty")}</p>}
      {runs.items.length > 0 && (
        <div className="table-card">
          <table className="watch-table" data-testid="runs-table">
            <thead>
              <tr>
                <th>{t("runs.started")}</th>
                <th>{t("runs.workflow")}</th>
                <th>{t("runs.statusLabel")}</th>
                <th>{t("runs.record")}</th>
                <th className="num">{t("runs.duration")}</th>
                <th>{t("runs.notes")}</th>
              </tr>
            </thead>
            <tbody>
              {runs.items.map((run) => (
                <RunRow key={run.id} space={space} run={run} zone={zone} form={forms.get(run.workflow)} />
              ))}
            </tbody>
          </table>
        </div>
      )}
      <MoreButton more={runs.more} loading={runs.loading} onMore={runs.loadMore} testid="runs-more" />
    </>
  );
}

function RunRow({ space, run, zone, form }: { space: string; run: Run; zone?: string; form?: string }) {
  const { t, i18n } = useTranslation();
  return (
    <tr data-testid="run-row" data-id={run.id} data-status={run.status}>
      <td>
        <Link href={runHref(space, run.id)} data-testid={`run-${run.id}`}>
          <When at={run.started_at} zone={zone} seconds />
        </Link>
      </td>
      <td>{run.workflow}</td>
      <td>
        <StatusChip status={run.status} />
      </td>
      <td>{run.record !== NIL && (form ? <Link href={recordHref(space, form, run.record)}>{refName(form, run.record) ?? run.record.slice(-12)}</Link> : <code>{run.record.slice(-12)}</code>)}</td>
      <td className="num">{formatMicros(run.duration_us, i18n.language)}</td>
      <td className="notes">
        {run.late && <span className="badge warn">{t("runs.late")}</span>}
        {run.retry_of && <span className="badge">{t("runs.retry")}</span>}
        {run.error && <span className="error-line">{run.error}</span>}
        {run.note && <span className="muted">{run.note}</span>}
      </td>
    </tr>
  );
}

function RunDetail({ space, id }: { space: string; id: string }) {
  const { t, i18n } = useTranslation();
  const loaded = useLoad(
    async (signal) => {
      const [run, spaceInfo] = await Promise.all([getRun(space, id, signal), getSpace(space, signal)]);
      // The version that ran, for its trigger's form and its scripts (gone if pruned: optional).
      const [workflow, deliveries] = await Promise.all([
        getWorkflow(space, run.workflow, run.workflow_version, signal).catch(() => undefined),
        // The deliveries it queued, among its workflow's latest (admins only: none otherwise).
        listDeliveries(space, { workflow: run.workflow, limit: 200 }, signal)
          .then((page) => page.items.filter((d) => d.run === run.id))
          .catch((): Delivery[] => []),
      ]);
      return { run, zone: spaceInfo.timezone, workflow, deliveries };
    },
    [space, id],
  );
  const [retrying, setRetrying] = useState(false);
  const [retryProblem, setRetryProblem] = useState<Problem>();
  const triggerForm = loaded.data?.workflow?.definition.trigger?.form;
  const triggering = loaded.data?.run.record;
  useRefNames(space, triggerForm && triggering && triggering !== NIL ? [{ form: triggerForm, id: triggering }] : []);
  if (loaded.problem) return <ProblemNotice problem={loaded.problem} onRetry={loaded.reload} />;
  if (!loaded.data) return <div className="skeleton" aria-busy="true" />;
  const { run, zone, workflow, deliveries } = loaded.data;
  const form = workflow?.definition.trigger?.form;
  const place = scriptPlace(run.error);
  const source = place && scriptSource(workflow, place);
  const retry = async () => {
    setRetrying(true);
    setRetryProblem(undefined);
    try {
      const next = await retryRun(space, run.id);
      attentionChanged();
      navigate(runHref(space, next.id));
    } catch (err) {
      setRetryProblem(err instanceof Problem ? err : new Problem(0, { detail: String(err) }));
    } finally {
      setRetrying(false);
    }
  };
  const whenText = run.when === null || run.when === undefined ? t("runs.whenNotReached") : run.when ? t("runs.whenTrue") : t("runs.whenFalse");
  return (
    <article className="card watch-detail" data-testid="run-detail" data-status={run.status}>
      <nav className="breadcrumb">
        <Link href={`/space/${encodeURIComponent(space)}/runs`}>{t("runs.title")}</Link> / <code>{run.id}</code>
      </nav>
      <header>
        <h1>{t("runs.detailTitle", { workflow: workflow?.definition.title ?? run.workflow })}</h1>
        <StatusChip status={run.status} />
        <span className="spacer" />
        {run.status === "failed" && (
          <button type="button" className="primary" onClick={() => void retry()} disabled={retrying} data-testid="run-retry">
            {retrying ? t("runs.retrying") : t("runs.retryButton")}
          </button>
        )}
      </header>
      {retryProblem && <ProblemNotice problem={retryProblem} />}
      <dl className="facts">
        <dt>{t("runs.workflow")}</dt>
        <dd>
          {run.workflow} <span className="muted">{t("runs.version", { version: run.workflow_version })}</span>
        </dd>
        <dt>{t("runs.started")}</dt>
        <dd>
          <When at={run.started_at} zone={zone} seconds />
        </dd>
        <dt>{t("runs.duration")}</dt>
        <dd>{formatMicros(run.duration_us, i18n.language)}</dd>
        <dt>{t("runs.record")}</dt>
        <dd>{run.record === NIL ? <span className="muted">{t("runs.noRecord")}</span> : form ? <Link href={recordHref(space, form, run.record)} data-testid="run-record">{refName(form, run.record) ?? run.record}</Link> : <code>{run.record}</code>}</dd>
        <dt>{t("runs.when")}</dt>
        <dd data-testid="run-when">{whenText}</dd>
        {run.retry_of && (
          <>
            <dt>{t("runs.retryOf")}</dt>
            <dd>
              <Link href={runHref(space, run.retry_of)}>{run.retry_of}</Link>
            </dd>
          </>
        )}
        {(run.late || run.note) && (
          <>
            <dt>{t("runs.notes")}</dt>
            <dd data-testid="run-note">
              {run.late && <span className="badge warn">{t("runs.lateLong")}</span>} {run.note}
            </dd>
          </>
        )}
      </dl>
      {run.error && (
        <section className="run-error" data-testid="run-error">
          <h3>{t("runs.error")}</h3>
          <p className="error-text">{run.error}</p>
          {place && (
            <p className="muted small" data-testid="run-error-line">
              {place.action === null ? t("runs.errorInWhen", { line: place.line }) : t("runs.errorAt", { action: place.action + 1, part: place.part, line: place.line, column: place.column ?? "?" })}
            </p>
          )}
          {place && source && (
            <pre className="script-excerpt" data-testid="run-error-script">
              {excerpt(source, place.line).map((l) => (
                <span key={l.number} className={l.at ? "at" : undefined}>
                  <span className="line-number">{l.number}</span>
                  {l.text}
                  {"\n"}
                </span>
              ))}
            </pre>
          )}
          {run.status === "failed" && <p className="muted small">{t("runs.nothingApplied")}</p>}
        </section>
      )}
      <h3>{run.status === "failed" ? t("runs.wouldHaveDone") : t("runs.effects")}</h3>
      {run.effects.length === 0 ? (
        <p className="muted">{t("runs.noEffects")}</p>
      ) : (
        <ul className="effects" data-testid="run-effects">
          {run.effects.map((effect, index) => (
            <li key={index}>
              <EffectLine effect={effect} />
              {/* A failed run applied nothing: what it would have created or sent doesn't exist. */}
              {run.status !== "failed" &&
                effectLinks(space, run, form, effect).map((link) => (
                <Link key={link.href} href={link.href} className="effect-link" data-testid={`effect-${link.kind}`}>
                  {t(`runs.open.${link.kind}`)}
                </Link>
              ))}
            </li>
          ))}
        </ul>
      )}
      {deliveries.length > 0 && (
        <>
          <h3>{t("runs.deliveries")}</h3>
          <ul className="effects" data-testid="run-deliveries">
            {deliveries.map((d) => (
              <li key={d.id}>
                <StatusChip status={d.status} /> <Link href={deliveryHref(space, d.id)} data-testid="run-delivery">{d.target.webhook ?? d.target.url ?? t("deliveries.kind.email")}</Link>
              </li>
            ))}
          </ul>
        </>
      )}
      {run.output.length > 0 && (
        <>
          <h3>{t("runs.output")}</h3>
          <pre className="output">{run.output.join("\n")}</pre>
        </>
      )}
    </article>
  );
}

/** One effect: its kind in words (a script's, the effect it asked for), then its details. */
function EffectLine({ effect }: { effect: Record<string, unknown> }) {
  const { t } = useTranslation();
  const [kind] = Object.keys(effect);
  const value = effect[kind];
  const asked = kind === "script" && value && typeof value === "object" ? (value as Record<string, unknown>) : null;
  const shown = asked ? Object.fromEntries(Object.entries(asked).filter(([key, v]) => key !== "effect" && v !== null)) : value;
  const label = (k: string) => t(`runs.effect.${k}`, { defaultValue: k });
  return (
    <>
      <strong>{asked && typeof asked.effect === "string" ? `${label("script")} · ${label(asked.effect)}` : label(kind)}</strong> <code>{JSON.stringify(shown)}</code>
    </>
  );
}
