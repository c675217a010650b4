// Records on a calendar by one of their date fields (`?field=`), a month or a week at a time
// (`?mode=`, `?at=`); each opens its record page.
import { useMemo } from "react";
import { useTranslation } from "react-i18next";
import { getForm, listRecords } from "../api/tend";
import { ProblemNotice } from "../components/ProblemNotice";
import { useLoad } from "../hooks/useApi";
import { localToday } from "../format";
import { Link, setQuery, useLocation } from "../router";
import { dateFields, fieldLabel, recordTitle, type StoredForm } from "../schema";
import { refName, useRefNames } from "../hooks/useRefNames";
import { fields as formFields } from "../schema";

const iso = (d: Date) => localToday(d);
const parse = (s: string) => {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  return m ? new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : new Date();
};
const addDays = (d: Date, n: number) => new Date(d.getFullYear(), d.getMonth(), d.getDate() + n);
/** Monday of the week holding `d`. */
const weekStart = (d: Date) => addDays(d, -((d.getDay() + 6) % 7));

export default function CalendarPage({ space, form }: { space: string; form: string }) {
  const stored = useLoad((signal) => getForm(space, form, signal), [space, form]);
  if (stored.problem) return <ProblemNotice problem={stored.problem} onRetry={stored.reload} />;
  if (!stored.data) return <div className="skeleton" aria-busy="true" />;
  return <Calendar space={space} stored={stored.data} />;
}

function Calendar({ space, stored }: { space: string; stored: StoredForm }) {
  const { t, i18n } = useTranslation();
  const location = useLocation();
  const definition = stored.definition;
  const dates = dateFields(definition);
  const field = location.query.get("field") ?? dates[0]?.name ?? "";
  const mode = location.query.get("mode") === "week" ? "week" : "month";
  const at = parse(location.query.get("at") ?? localToday());
  const { start, days } = useMemo(() => {
    if (mode === "week") return { start: weekStart(at), days: 7 };
    const first = new Date(at.getFullYear(), at.getMonth(), 1);
    const gridStart = weekStart(first);
    const last = new Date(at.getFullYear(), at.getMonth() + 1, 0);
    const count = Math.ceil((last.getTime() - gridStart.getTime()) / 86_400_000 / 7 + 1 / 7) * 7;
    return { start: gridStart, days: Math.max(count, 35) };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [mode, at.getTime()]);
  const end = addDays(start, days - 1);
  const records = useLoad(
    (signal) => listRecords(space, stored.name, { filter: `${field} >= ${JSON.stringify(iso(start))} and ${field} <= ${JSON.stringify(iso(end))}`, sort: field, limit: 1000 }, signal),
    [space, stored.name, field, iso(start), iso(end)],
  );
  const refField = formFields(definition).find((f) => f.ref);
  useRefNames(space, refField ? (records.data?.items ?? []).map((r) => ({ form: refField.ref as string, id: String(r.data[refField.name] ?? "") })) : []);
  const byDay = new Map<string, typeof records.data extends undefined ? never : NonNullable<typeof records.data>["items"]>();
  for (const record of records.data?.items ?? []) {
    const day = String(record.data[field] ?? "").slice(0, 10);
    byDay.set(day, [...(byDay.get(day) ?? []), record]);
  }
  const title =
    mode === "month"
      ? new Intl.DateTimeFormat(i18n.language, { year: "numeric", month: "long" }).format(at)
      : `${new Intl.DateTimeFormat(i18n.language, { month: "short", day: "numeric" }).format(start)} – ${new Intl.DateTimeFormat(i18n.language, { month: "short", day: "numeric", year: "numeric" }).format(end)}`;
  const weekday = new Intl.DateTimeFormat(i18n.language, { weekday: "short" });
  const step = (direction: number) =>
    setQuery({ at: iso(mode === "week" ? addDays(at, 7 * direction) : new Date(at.getFullYear(), at.getMonth() + direction, 1)) });
  const today = localToday();
  const label = (record: NonNullable<typeof records.data>["items"][number]) =>
    refField && record.data[refField.name] ? refName(refField.ref as string, String(record.data[refField.name])) ?? recordTitle(record, definition) : recordTitle(record, definition);

  return (
    <section className="calendar-page">
      <header className="page-header">
        <h1>{t("calendar.title", { form: definition.title ?? stored.name })}</h1>
        <label className="inline">
          {t("calendar.field")}
          <select value={field} onChange={(e) => setQuery({ field: e.target.value })} data-testid="calendar-field">
            {dates.map((f) => (
              <option key={f.name} value={f.name}>
                {fieldLabel(f.name, f.schema)}
              </option>
            ))}
          </select>
        </label>
        <div role="group" className="segmented">
          <button type="button" aria-pressed={mode === "month"} onClick={() => setQuery({ mode: null })}>
            {t("calendar.month")}
          </button>
          <button type="button" aria-pressed={mode === "week"} onClick={() => setQuery({ mode: "week" })} data-testid="calendar-week">
            {t("calendar.week")}
          </button>
        </div>
        <span className="spacer" />
        <button type="button" onClick={() => step(-1)} aria-label={t("calendar.previous")}>
          ‹
        </button>
        <strong data-testid="calendar-title">{title}</strong>
        <button type="button" onClick={() => step(1)} aria-label={t("calendar.next")}>
          ›
        </button>
        <button type="button" onClick={() => setQuery({ at: null })}>
          {t("calendar.today")}
        </button>
      </header>
      {records.problem && <ProblemNotice problem={records.problem} onRetry={records.reload} />}
      <div className={`calendar ${mode}`} data-testid="calendar">
        {Array.from({ length: 7 }, (_, i) => (
          <div key={`h${i}`} className="weekday">
            {weekday.format(addDays(start, i))}
          </div>
        ))}
        {Array.from({ length: days }, (_, i) => {
          const day = addDays(start, i);
          const key = iso(day);
          const items = byDay.get(key) ?? [];
          const shown = mode === "week" ? items : items.slice(0, 4);
          const outside = mode === "month" && day.getMonth() !== at.getMonth();
          return (
            <div key={key} className={`day ${outside ? "outside" : ""} ${key === today ? "today" : ""}`} data-date={key}>
              <div className="day-number">{day.getDate()}</div>
              {shown.map((record) => (
                <Link key={record.id} className="event" href={`/s/${encodeURIComponent(space)}/${encodeURIComponent(stored.name)}/r/${record.id}`} data-testid="calendar-item">
                  {label(record)}
                </Link>
              ))}
              {items.length > shown.length && <span className="muted small">{t("calendar.more", { count: items.length - shown.length })}</span>}
            </div>
          );
        })}
      </div>
    </section>
  );
}
