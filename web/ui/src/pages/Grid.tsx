// The grid of one form: columns from the schema (`ui.list_columns`/`ui.order`), sort by
// header, filter by chips or by the raw language, infinite scroll over cursors with a
// virtualized body, chosen and ordered columns, the total count, saved views. Everything that
// shapes what is seen lives in the URL.
import { lazy, Suspense, useCallback, useEffect, useMemo, useRef, useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { createColumnHelper, flexRender, getCoreRowModel, useReactTable } from "@tanstack/react-table";
import { useVirtualizer } from "@tanstack/react-virtual";
import { Problem } from "../api/client";
import { countRecords, getForm, listRecords } from "../api/tend";
import { FilterBuilder } from "../components/FilterBuilder";
import { ProblemNotice } from "../components/ProblemNotice";
import { ColumnChooser } from "../components/ColumnChooser";
import { ExportMenu } from "../components/ExportMenu";
import { ViewPicker } from "../components/ViewPicker";
import { useLoad } from "../hooks/useApi";
import { personName } from "../hooks/usePeople";
import { refName, useRefNames } from "../hooks/useRefNames";
import { formatNumber, formatValue } from "../format";
import { Link, setQuery, useLocation } from "../router";
import { dateFields, defaultColumns, fieldLabel, fields as formFields, singleSelectFields, type Field, type StoredForm, type TendRecord } from "../schema";

const RecordDrawer = lazy(() => import("../components/RecordDrawer"));

const PAGE_SIZE = 100;
const FIRST_PAGE_MARK = "tend:grid-first-page";
const ROW_HEIGHT = 32;

interface Rows {
  items: TendRecord[];
  cursor: string | null;
  done: boolean;
  loading: boolean;
  problem?: Problem;
}

export default function GridPage({ space, form }: { space: string; form: string }) {
  const { data: stored, problem, reload } = useLoad((signal) => getForm(space, form, signal), [space, form]);
  if (problem) return <ProblemNotice problem={problem} onRetry={reload} />;
  if (!stored) return <div className="skeleton" aria-busy="true" />;
  return <Grid space={space} stored={stored} />;
}

function Grid({ space, stored }: { space: string; stored: StoredForm }) {
  const { t, i18n } = useTranslation();
  const location = useLocation();
  const form = stored.name;
  const definition = stored.definition;
  const fields = useMemo(() => formFields(definition), [definition]);
  const filter = location.query.get("filter") ?? "";
  const sort = location.query.get("sort") ?? "";
  const columnNames = useMemo(() => {
    const param = location.query.get("columns");
    const chosen = param ? param.split(",").filter((c) => fields.some((f) => f.name === c)) : [];
    return chosen.length > 0 ? chosen : defaultColumns(definition);
  }, [location.query, fields, definition]);
  const openRecord = location.query.get("record");

  // Rows: reset when the query changes, then page through cursors as the body scrolls.
  const [rows, setRows] = useState<Rows>({ items: [], cursor: null, done: false, loading: true });
  const generation = useRef(0);
  const loadPage = useCallback(
    async (cursor: string | null, reset: boolean) => {
      const mine = reset ? ++generation.current : generation.current;
      setRows((r) => ({ ...(reset ? { items: [], cursor: null, done: false } : r), loading: true, problem: undefined }));
      try {
        const page = await listRecords(space, form, { filter, sort, limit: PAGE_SIZE, cursor });
        if (mine !== generation.current) return;
        setRows((r) => ({
          items: reset ? page.items : [...r.items, ...page.items],
          cursor: page.next_cursor,
          done: page.next_cursor === null,
          loading: false,
        }));
      } catch (err) {
        if (mine !== generation.current) return;
        setRows((r) => ({ ...r, loading: false, done: true, problem: err instanceof Problem ? err : new Problem(0, { detail: String(err) }) }));
      }
    },
    [space, form, filter, sort],
  );
  useEffect(() => {
    void loadPage(null, true);
  }, [loadPage]);
  const total = useLoad((signal) => countRecords(space, form, filter, signal), [space, form, filter]);
  // Navigation → first rows on screen, for the UI benchmark (and the browser's own tools).
  const hasRows = rows.items.length > 0;
  useEffect(() => {
    if (hasRows && performance.getEntriesByName(FIRST_PAGE_MARK).length === 0) performance.mark(FIRST_PAGE_MARK);
  }, [hasRows]);

  // Names for references shown in the visible columns.
  const refColumns = fields.filter((f) => f.ref && columnNames.includes(f.name));
  useRefNames(
    space,
    rows.items.flatMap((r) => refColumns.map((f) => ({ form: f.ref as string, id: String(r.data[f.name] ?? "") }))),
  );

  const columns = useMemo(() => {
    const helper = createColumnHelper<TendRecord>();
    return columnNames.map((name) => {
      const field = fields.find((f) => f.name === name);
      return helper.accessor((r) => r.data[name], {
        id: name,
        header: fieldLabel(name, field?.schema),
        cell: (info) => <Cell value={info.getValue()} field={field} locale={i18n.language} />,
      });
    });
  }, [columnNames, fields, i18n.language]);
  const table = useReactTable({ data: rows.items, columns, getCoreRowModel: getCoreRowModel(), manualSorting: true });

  const scrollRef = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({ count: rows.items.length, getScrollElement: () => scrollRef.current, estimateSize: () => ROW_HEIGHT, overscan: 12 });
  const virtualRows = virtualizer.getVirtualItems();
  const lastIndex = virtualRows.length > 0 ? virtualRows[virtualRows.length - 1].index : -1;
  useEffect(() => {
    if (!rows.loading && !rows.done && rows.cursor && lastIndex >= rows.items.length - 30) void loadPage(rows.cursor, false);
  }, [lastIndex, rows, loadPage]);
  // A new query starts at its first row, not where the previous one was scrolled to.
  useEffect(() => {
    if (scrollRef.current) scrollRef.current.scrollTop = 0;
  }, [filter, sort]);

  const sortKey = sort.replace(/^-/, "");
  const descending = sort.startsWith("-");
  const toggleSort = (name: string) => {
    const next = sortKey !== name ? name : !descending ? `-${name}` : "";
    setQuery({ sort: next, view: null });
  };
  const base = `/s/${encodeURIComponent(space)}/${encodeURIComponent(form)}`;
  const paddingTop = virtualRows.length > 0 ? virtualRows[0].start : 0;
  const paddingBottom = virtualRows.length > 0 ? virtualizer.getTotalSize() - virtualRows[virtualRows.length - 1].end : 0;
  const filterProblem = rows.problem && rows.problem.status === 400 ? rows.problem : undefined;

  return (
    <section className="grid-page">
      <header className="page-header">
        <h1>{definition.title ?? form}</h1>
        <span className="muted" data-testid="total-count">
          {total.data !== undefined ? t("grid.total", { n: formatNumber(total.data, i18n.language) }) : ""}
        </span>
        <ViewPicker space={space} form={form} current={{ filter, sort, columns: columnNames }} />
        <span className="spacer" />
        {(definition.pipeline || singleSelectFields(definition).length > 0) && (
          <Link href={`${base}/board`} data-testid="open-board">
            {t("grid.board")}
          </Link>
        )}
        {dateFields(definition).length > 0 && (
          <Link href={`${base}/calendar`} data-testid="open-calendar">
            {t("grid.calendar")}
          </Link>
        )}
        <ColumnChooser fields={fields} chosen={columnNames} onChange={(cols) => setQuery({ columns: cols.join(","), view: null })} />
        <Link href={`${base}/import`} className="button" data-testid="open-import">
          {t("import.open")}
        </Link>
        <ExportMenu space={space} form={form} view={{ filter, sort, columns: columnNames }} />
        <button type="button" className="primary" onClick={() => setQuery({ record: "new" })} data-testid="new-record">
          {t("grid.newRecord")}
        </button>
      </header>
      <div className="filters">
        <FilterBuilder fields={fields} filter={filter} onChange={(f) => setQuery({ filter: f, view: null })} />
        <RawFilter filter={filter} problem={filterProblem} />
      </div>
      {rows.problem && !filterProblem && <ProblemNotice problem={rows.problem} onRetry={() => void loadPage(null, true)} />}
      <div className="table-scroll" ref={scrollRef} data-testid="grid">
        <table className="grid" aria-rowcount={total.data ?? -1}>
          <thead>
            {table.getHeaderGroups().map((group) => (
              <tr key={group.id}>
                {group.headers.map((header) => {
                  const active = sortKey === header.id;
                  return (
                    <th key={header.id} scope="col" aria-sort={active ? (descending ? "descending" : "ascending") : "none"}>
                      <button type="button" className="sort" onClick={() => toggleSort(header.id)} data-testid={`sort-${header.id}`} title={t("grid.sortBy", { column: String(header.column.columnDef.header) })}>
                        {flexRender(header.column.columnDef.header, header.getContext())}
                        <span aria-hidden="true">{active ? (descending ? " ↓" : " ↑") : ""}</span>
                        {active && <span className="visually-hidden">{descending ? t("grid.sortDescending") : t("grid.sortAscending")}</span>}
                      </button>
                    </th>
                  );
                })}
              </tr>
            ))}
          </thead>
          <tbody>
            {paddingTop > 0 && (
              <tr aria-hidden="true">
                <td style={{ height: paddingTop }} colSpan={columns.length} />
              </tr>
            )}
            {virtualRows.map((virtual) => {
              const row = table.getRowModel().rows[virtual.index];
              if (!row) return null;
              const open = () => setQuery({ record: row.original.id });
              return (
                <tr
                  key={row.id}
                  tabIndex={0}
                  className={openRecord === row.original.id ? "selected" : undefined}
                  onClick={open}
                  onKeyDown={(e) => e.key === "Enter" && open()}
                  data-testid="grid-row"
                  data-id={row.original.id}
                  style={{ height: ROW_HEIGHT }}
                >
                  {row.getVisibleCells().map((cell) => (
                    <td key={cell.id} data-column={cell.column.id}>
                      {flexRender(cell.column.columnDef.cell, cell.getContext())}
                    </td>
                  ))}
                </tr>
              );
            })}
            {paddingBottom > 0 && (
              <tr aria-hidden="true">
                <td style={{ height: paddingBottom }} colSpan={columns.length} />
              </tr>
            )}
          </tbody>
        </table>
        {!rows.loading && rows.items.length === 0 && !rows.problem && (
          <p className="empty-state">
            {t("grid.empty")} <Link href={`${base}/import`}>{t("import.fromFile")}</Link>
          </p>
        )}
        {rows.loading && <p className="muted loading-more">{t("grid.loadingMore")}</p>}
      </div>
      {openRecord && (
        <Suspense fallback={null}>
          <RecordDrawer
            space={space}
            stored={stored}
            id={openRecord}
            onClose={() => setQuery({ record: null })}
            onSaved={() => void loadPage(null, true)}
          />
        </Suspense>
      )}
    </section>
  );
}

function Cell({ value, field, locale }: { value: unknown; field: Field | undefined; locale: string }) {
  if (field?.ref && typeof value === "string" && value) {
    return <span className="ref">{refName(field.ref, value) ?? value.slice(0, 8)}</span>;
  }
  if (field?.person && typeof value === "string" && value) {
    return <span className="person" title={value}>{personName(value) ?? value}</span>;
  }
  const text = formatValue(value, field, locale);
  const numeric = typeof value === "number";
  return <span className={numeric ? "num" : undefined}>{text}</span>;
}

/** The raw filter box; a 400 is shown under it with a marker at the position it names. */
function RawFilter({ filter, problem }: { filter: string; problem?: Problem }) {
  const { t } = useTranslation();
  const [text, setText] = useState(filter);
  useEffect(() => setText(filter), [filter]);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setQuery({ filter: text.trim(), view: null });
  };
  const position = typeof problem?.body.position === "number" ? (problem.body.position as number) : undefined;
  return (
    <form className="raw-filter" onSubmit={submit}>
      <label htmlFor="raw-filter">{t("grid.rawFilter")}</label>
      <input
        id="raw-filter"
        value={text}
        spellCheck={false}
        onChange={(e) => setText(e.target.value)}
        placeholder={t("grid.rawFilterHelp")}
        aria-invalid={problem ? true : undefined}
        aria-describedby={problem ? "raw-filter-error" : undefined}
        data-testid="raw-filter"
      />
      <button type="submit" data-testid="raw-filter-apply">
        {t("grid.apply")}
      </button>
      {problem && (
        <div id="raw-filter-error" className="filter-error" role="alert" data-testid="filter-error">
          {position !== undefined && (
            <pre aria-label={t("grid.errorAt", { position: position + 1 })}>
              {filter}
              {"\n"}
              {" ".repeat(Math.min(position, filter.length))}^
            </pre>
          )}
          <span>{problem.detail}</span>
        </div>
      )}
    </form>
  );
}
