// Dashboards of a space: the list, and one dashboard with its date range and owner at the top
// (in the URL), KPI tiles, charts and tables. Clicking a bar, slice, point, tile or table row
// opens the grid filtered to the records behind it.
import { useMemo, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import {
  dashboardData,
  distinctValues,
  getDashboard,
  listDashboards,
  type DashboardData,
  type StoredDashboard,
  type WidgetData,
  type WidgetDef,
  type WidgetRow,
} from "../api/dashboards";
import { Chart } from "../components/Chart";
import { ProblemNotice } from "../components/ProblemNotice";
import { personName, useMembers } from "../hooks/usePeople";
import { chartOption, formatMetric, isEmpty, mainMetric, rowForClick, rowLabel, type Labels } from "../dashboard/options";
import { formatDate } from "../format";
import { useLoad } from "../hooks/useApi";
import { Link, navigate, setQuery, useLocation } from "../router";

const dashboardPath = (space: string, name: string) => `/d/${encodeURIComponent(space)}/${encodeURIComponent(name)}`;
const gridPath = (space: string, form: string, filter?: string) =>
  `/s/${encodeURIComponent(space)}/${encodeURIComponent(form)}${filter ? `?filter=${encodeURIComponent(filter)}` : ""}`;

export default function DashboardsPage({ space, dashboard }: { space: string; dashboard?: string }) {
  return dashboard ? <DashboardView space={space} name={dashboard} /> : <DashboardList space={space} />;
}

function DashboardList({ space }: { space: string }) {
  const { t } = useTranslation();
  const { data, problem, reload } = useLoad((signal) => listDashboards(space, signal), [space]);
  if (problem) return <ProblemNotice problem={problem} onRetry={reload} />;
  if (!data) return <div className="skeleton" aria-busy="true" />;
  return (
    <section data-testid="dashboard-list">
      <h1>{t("dashboards.title")}</h1>
      {data.length === 0 && <p className="empty-state">{t("dashboards.empty")}</p>}
      {data.map((d) => (
        <article key={d.name} className="card">
          <header>
            <h2>
              <Link href={dashboardPath(space, d.name)} data-testid={`dashboard-${d.name}`}>
                {d.definition.title}
              </Link>
            </h2>
            <span className="muted small">{t("dashboards.widgets", { count: d.definition.widgets.length })}</span>
          </header>
          {d.definition.description && <p className="muted">{d.definition.description}</p>}
        </article>
      ))}
    </section>
  );
}

function DashboardView({ space, name }: { space: string; name: string }) {
  const { t } = useTranslation();
  const location = useLocation();
  const from = location.query.get("from") ?? "";
  const to = location.query.get("to") ?? "";
  const owner = location.query.get("owner") ?? "";
  const team = location.query.get("team") ?? "";
  const stored = useLoad((signal) => getDashboard(space, name, signal), [space, name]);
  const data = useLoad((signal) => dashboardData(space, name, { from, to, owner, team }, signal), [space, name, from, to, owner, team]);
  const members = useMembers(space);
  const ownerSource = stored.data?.definition.widgets.find((w) => w.owner_field);
  const owners = useLoad(
    (signal) => (ownerSource?.owner_field ? distinctValues(space, ownerSource.form, ownerSource.owner_field, signal) : Promise.resolve([])),
    [space, ownerSource?.form, ownerSource?.owner_field],
  );

  if (stored.problem) return <ProblemNotice problem={stored.problem} onRetry={stored.reload} />;
  if (!stored.data) return <DashboardSkeleton />;
  const definition = stored.data.definition;
  return (
    <section className="dashboard" data-testid="dashboard-page">
      <header className="dashboard-head">
        <div>
          <p className="breadcrumbs small">
            <Link href={`/d/${encodeURIComponent(space)}`}>{t("dashboards.title")}</Link>
          </p>
          <h1>{definition.title}</h1>
          {definition.description && <p className="muted small description">{definition.description}</p>}
        </div>
      </header>
      <Filters
        from={from || data.data?.from || ""}
        to={to || data.data?.to || ""}
        shownByDefault={{ from: from ? "" : data.data?.from ?? "", to: to ? "" : data.data?.to ?? "" }}
        owner={owner}
        owners={owners.data ?? []}
        team={team}
        teams={[...new Set([...Object.keys(definition.teams ?? {}), ...(members ?? []).flatMap((m) => m.teams)])].sort()}
        custom={Boolean(from || to || owner || team)}
      />
      {data.problem && <ProblemNotice problem={data.problem} onRetry={data.reload} />}
      {!data.data && !data.problem && <DashboardSkeleton />}
      {data.data && <Widgets space={space} stored={stored.data} data={data.data} busy={data.loading} />}
    </section>
  );
}

function DashboardSkeleton() {
  return (
    <div className="dashboard-grid" aria-busy="true">
      {[0, 1, 2, 3].map((i) => (
        <div key={`k${i}`} className="skeleton kpi-skeleton" />
      ))}
      {[0, 1].map((i) => (
        <div key={`c${i}`} className="skeleton chart-skeleton wide" />
      ))}
    </div>
  );
}

function Filters({
  from,
  to,
  shownByDefault,
  owner,
  owners,
  team,
  teams,
  custom,
}: {
  from: string;
  to: string;
  shownByDefault: { from: string; to: string };
  owner: string;
  owners: string[];
  team: string;
  teams: string[];
  custom: boolean;
}) {
  const { t } = useTranslation();
  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    // The dashboard's own range stays out of the URL until someone changes it, so a link
    // keeps following "the last four quarters" rather than pinning today's dates.
    const chosen = (name: "from" | "to") => {
      const value = String(form.get(name) ?? "");
      return value === shownByDefault[name] ? null : value;
    };
    setQuery({ from: chosen("from"), to: chosen("to"), owner: String(form.get("owner") ?? ""), team: String(form.get("team") ?? "") });
  };
  return (
    <form className="dashboard-filters" onSubmit={submit} aria-label={t("dashboards.filters")} key={`${from}|${to}|${owner}|${team}`}>
      <label>
        <span>{t("dashboards.from")}</span>
        <input type="date" name="from" defaultValue={from} data-testid="dashboard-from" />
      </label>
      <label>
        <span>{t("dashboards.to")}</span>
        <input type="date" name="to" defaultValue={to} data-testid="dashboard-to" />
      </label>
      <label>
        <span>{t("dashboards.owner")}</span>
        <select name="owner" defaultValue={owner} data-testid="dashboard-owner" onChange={(e) => e.currentTarget.form?.requestSubmit()}>
          <option value="">{t("dashboards.allOwners")}</option>
          {owner && !owners.includes(owner) && <option value={owner}>{personName(owner) ?? owner}</option>}
          {owners
            .map((o) => ({ value: o, label: personName(o) ?? o }))
            .sort((a, b) => a.label.localeCompare(b.label))
            .map((o) => (
              <option key={o.value} value={o.value}>
                {o.label}
              </option>
            ))}
        </select>
      </label>
      {teams.length > 0 && (
        <label>
          <span>{t("dashboards.team")}</span>
          <select name="team" defaultValue={team} data-testid="dashboard-team" onChange={(e) => e.currentTarget.form?.requestSubmit()}>
            <option value="">{t("dashboards.allTeams")}</option>
            {teams.map((name) => (
              <option key={name} value={name}>
                {name}
              </option>
            ))}
          </select>
        </label>
      )}
      <button type="submit" data-testid="dashboard-apply">
        {t("dashboards.apply")}
      </button>
      {custom && (
        <button type="button" className="link-button" onClick={() => setQuery({ from: null, to: null, owner: null, team: null })}>
          {t("dashboards.reset")}
        </button>
      )}
    </form>
  );
}

function Widgets({ space, stored, data, busy }: { space: string; stored: StoredDashboard; data: DashboardData; busy: boolean }) {
  const { t, i18n } = useTranslation();
  const members = useMembers(space);
  const labels: Labels = useMemo(
    () => ({ none: t("dashboards.none"), quarter: (quarter, year) => t("dashboards.quarter", { quarter, year }), person: personName }),
    // The members' names arrive after the first render; `members` re-labels the charts then.
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [t, members],
  );
  const byId = new Map(data.widgets.map((w) => [w.id, w]));
  const open = (widget: WidgetDef, row: WidgetRow | undefined) => {
    if (row?.filter !== undefined) navigate(gridPath(space, widget.form, row.filter));
  };
  return (
    <div className="dashboard-grid" aria-busy={busy} data-testid="dashboard-widgets">
      <p className="visually-hidden" aria-live="polite">
        {t("dashboards.showing", { from: formatDate(data.from, i18n.language), to: formatDate(data.to, i18n.language) })}
      </p>
      {stored.definition.widgets.map((widget) => {
        const widgetData = byId.get(widget.id);
        if (!widgetData) return null;
        if (widget.type === "kpi") return <Kpi key={widget.id} widget={widget} data={widgetData} onOpen={(row) => open(widget, row)} />;
        return (
          <article key={widget.id} className={`card widget widget-${widget.type}`} data-testid={`widget-${widget.id}`}>
            <h2>{widget.title}</h2>
            {widgetData.error ? (
              <p className="notice error">{t("dashboards.failed", { detail: widgetData.error.message })}</p>
            ) : isEmpty(widget, widgetData) ? (
              <p className="empty-state" data-testid={`empty-${widget.id}`}>
                {t("dashboards.noData")}
              </p>
            ) : widget.type === "table" ? (
              <WidgetTable widget={widget} data={widgetData} labels={labels} space={space} />
            ) : (
              <ChartWidget widget={widget} data={widgetData} labels={labels} onOpen={(row) => open(widget, row)} />
            )}
          </article>
        );
      })}
    </div>
  );
}

function Kpi({ widget, data, onOpen }: { widget: WidgetDef; data: WidgetData; onOpen: (row: WidgetRow | undefined) => void }) {
  const { t, i18n } = useTranslation();
  const metric = mainMetric(data);
  const value = metric ? data.total[metric] : undefined;
  const shown = formatMetric(value, widget.format, i18n.language, widget.currency);
  const row = data.rows[0];
  const detail = widget.ratio
    ? value === null || value === undefined
      ? t("dashboards.noData")
      : t("dashboards.ratioOf", {
          numerator: formatMetric(data.total.numerator, "number", i18n.language),
          denominator: formatMetric(data.total.denominator, "number", i18n.language),
        })
    : data.metrics
        .slice(1)
        .map((m) => `${formatMetric(data.total[m], "number", i18n.language)} ${humanize(m).toLowerCase()}`)
        .join(" · ");
  const body = (
    <>
      <span className="kpi-title">{widget.title}</span>
      <span className="kpi-value" data-testid={`kpi-${widget.id}`}>
        {data.error ? "—" : shown}
      </span>
      <span className="kpi-detail muted small">{data.error ? t("dashboards.failed", { detail: data.error.message }) : detail}</span>
    </>
  );
  return row?.filter !== undefined && !data.error ? (
    <button type="button" className="card kpi" data-testid={`widget-${widget.id}`} onClick={() => onOpen(row)} title={t("dashboards.openGrid", { what: widget.title })}>
      {body}
    </button>
  ) : (
    <div className="card kpi" data-testid={`widget-${widget.id}`}>
      {body}
    </div>
  );
}

function ChartWidget({ widget, data, labels, onOpen }: { widget: WidgetDef; data: WidgetData; labels: Labels; onOpen: (row: WidgetRow | undefined) => void }) {
  const { i18n } = useTranslation();
  const option = useMemo(() => chartOption(widget, data, i18n.language, labels), [widget, data, i18n.language, labels]);
  if (!option) return null;
  const clickable = data.rows.some((r) => r.filter !== undefined);
  return (
    <Chart
      option={option}
      label={widget.title}
      testId={`chart-${widget.id}`}
      onPick={clickable ? (index) => onOpen(rowForClick(widget, data, index)) : undefined}
    />
  );
}

function WidgetTable({ widget, data, labels, space }: { widget: WidgetDef; data: WidgetData; labels: Labels; space: string }) {
  const { t, i18n } = useTranslation();
  return (
    <table className="widget-table" data-testid={`table-${widget.id}`}>
      <thead>
        <tr>
          <th scope="col">{t("dashboards.group")}</th>
          {data.metrics.map((m) => (
            <th key={m} scope="col" className="num">
              {humanize(m)}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {data.rows.map((row, i) => {
          const label = rowLabel(widget, data, row, i18n.language, labels);
          return (
            <tr key={i}>
              <th scope="row">{row.filter !== undefined ? <Link href={gridPath(space, widget.form, row.filter)}>{label}</Link> : label}</th>
              {data.metrics.map((m, j) => (
                <td key={m} className="num">
                  {formatMetric(row.values[m], j === 0 ? widget.format : "number", i18n.language, widget.currency)}
                </td>
              ))}
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

/** A metric's name as words: `starting_arr` → `Starting arr`, short names as acronyms (`ARR`). */
function humanize(name: string): string {
  if (name.length <= 3) return name.toUpperCase();
  const words = name.replace(/_/g, " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}
