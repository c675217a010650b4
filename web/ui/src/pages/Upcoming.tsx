// What would fire in a space over the next days (`?days=7|30|90`): reminders, delays, SLAs
// and schedules, as an agenda grouped by day or as a month grid (`?view=month`). Read from the
// server's pending timers; nothing runs. Times are shown in the reader's zone, and in the
// timer's own zone when that differs (a reminder at 09:00 in Shanghai).
import { useTranslation } from "react-i18next";
import { getUpcoming, type UpcomingItem } from "../api/templates";
import { listForms } from "../api/tend";
import { ProblemNotice } from "../components/ProblemNotice";
import { SpaceNav } from "../components/SpaceNav";
import { useLoad } from "../hooks/useApi";
import { personName, useMembers } from "../hooks/usePeople";
import { localToday } from "../format";
import { Link, setQuery, useLocation } from "../router";

const DAY_CHOICES = [7, 30, 90] as const;
const addDays = (d: Date, n: number) => new Date(d.getFullYear(), d.getMonth(), d.getDate() + n);
/** Monday of the week holding `d`. */
const weekStart = (d: Date) => addDays(d, -((d.getDay() + 6) % 7));
const readerZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone;

export default function UpcomingPage({ space }: { space: string }) {
  const { t } = useTranslation();
  const location = useLocation();
  const asked = Number(location.query.get("days") ?? 30);
  const days = DAY_CHOICES.includes(asked as (typeof DAY_CHOICES)[number]) ? asked : 30;
  const view = location.query.get("view") === "month" ? "month" : "agenda";
  const upcoming = useLoad((signal) => getUpcoming(space, days, signal), [space, days]);
  // Names for the person column; a caller who can't list members sees the stored value.
  useMembers(space);
  const person = (item: UpcomingItem) => (item.person ? personName(item.person) ?? item.person : "");
  const forms = useLoad((signal) => listForms(space, signal).catch(() => []), [space]);
  const formTitle = (form: string) => forms.data?.find((f) => f.name === form)?.definition.title ?? form;
  // An SLA's spec is its stage's name; people know the stage by its title.
  const detail = (item: UpcomingItem) => {
    if (item.kind === "cron") return "";
    if (item.kind !== "sla") return item.spec.replace(/^-/, "−");
    const stages = forms.data?.find((f) => f.name === item.form)?.definition.pipeline?.stages ?? [];
    return stages.find((stage) => stage.name === item.spec)?.title ?? item.spec;
  };

  return (
    <section className="upcoming-page">
      <SpaceNav space={space} />
      <header className="page-header">
        <h1>{t("upcoming.title", { days })}</h1>
        <div role="group" className="segmented" aria-label={t("upcoming.window")}>
          {DAY_CHOICES.map((choice) => (
            <button key={choice} type="button" aria-pressed={days === choice} onClick={() => setQuery({ days: choice === 30 ? null : String(choice) })} data-testid={`upcoming-days-${choice}`}>
              {t("upcoming.days", { count: choice })}
            </button>
          ))}
        </div>
        <div role="group" className="segmented" aria-label={t("upcoming.view")}>
          <button type="button" aria-pressed={view === "agenda"} onClick={() => setQuery({ view: null })} data-testid="upcoming-agenda">
            {t("upcoming.agenda")}
          </button>
          <button type="button" aria-pressed={view === "month"} onClick={() => setQuery({ view: "month" })} data-testid="upcoming-month">
            {t("upcoming.month")}
          </button>
        </div>
        <span className="spacer" />
        <span className="muted small">{t("upcoming.zoneNote", { zone: readerZone() })}</span>
      </header>
      <p className="muted small">{t("upcoming.intro")}</p>
      {upcoming.problem && <ProblemNotice problem={upcoming.problem} onRetry={upcoming.reload} />}
      {!upcoming.data && !upcoming.problem && <div className="skeleton" aria-busy="true" />}
      {upcoming.data?.truncated && (
        <p className="notice warn" data-testid="upcoming-truncated">
          {t("upcoming.truncated", { count: upcoming.data.items.length })}
        </p>
      )}
      {upcoming.data && upcoming.data.items.length === 0 && (
        <p className="empty-state" data-testid="upcoming-empty">
          {t("upcoming.empty", { days })}
        </p>
      )}
      {upcoming.data && upcoming.data.items.length > 0 &&
        (view === "agenda" ? (
          <Agenda space={space} items={upcoming.data.items} person={person} formTitle={formTitle} detail={detail} />
        ) : (
          <Month space={space} items={upcoming.data.items} from={new Date(upcoming.data.from)} until={new Date(upcoming.data.until)} />
        ))}
    </section>
  );
}

/** Items by the reader's calendar day, in order. */
function byDay(items: UpcomingItem[]): Map<string, UpcomingItem[]> {
  const days = new Map<string, UpcomingItem[]>();
  for (const item of items) {
    const day = localToday(new Date(item.at));
    days.set(day, [...(days.get(day) ?? []), item]);
  }
  return days;
}

function recordHref(space: string, item: UpcomingItem): string | undefined {
  if (!item.form || !item.record) return undefined;
  return `/s/${encodeURIComponent(space)}/${encodeURIComponent(item.form)}/r/${item.record}`;
}

/** What kind of timer, in words: "Reminder −30d", "SLA Kickoff". */
function KindBadge({ item, detail }: { item: UpcomingItem; detail: string }) {
  const { t } = useTranslation();
  return (
    <span className={`badge kind-${item.kind}`} title={item.kind === "cron" ? item.spec : undefined}>
      {t(`upcoming.kind.${item.kind}`)}
      {detail && ` ${detail}`}
    </span>
  );
}

interface AgendaProps {
  space: string;
  items: UpcomingItem[];
  person: (item: UpcomingItem) => string;
  formTitle: (form: string) => string;
  detail: (item: UpcomingItem) => string;
}

function Agenda({ space, items, person, formTitle, detail }: AgendaProps) {
  const { t, i18n } = useTranslation();
  const dayTitle = new Intl.DateTimeFormat(i18n.language, { weekday: "long", month: "long", day: "numeric" });
  const time = new Intl.DateTimeFormat(i18n.language, { hour: "2-digit", minute: "2-digit" });
  const zone = readerZone();
  const today = localToday();
  return (
    <div className="agenda" data-testid="upcoming-agenda-list">
      {[...byDay(items)].map(([day, dayItems]) => {
        const [y, m, d] = day.split("-").map(Number);
        return (
          <section key={day} className="agenda-day" data-date={day} data-testid={`upcoming-day-${day}`}>
            <h2>
              {dayTitle.format(new Date(y, m - 1, d))}
              {day === today && <span className="badge">{t("upcoming.today")}</span>}
              <span className="muted small">{t("upcoming.count", { count: dayItems.length })}</span>
            </h2>
            <table className="agenda-table">
              <caption className="visually-hidden">{dayTitle.format(new Date(y, m - 1, d))}</caption>
              <thead className="visually-hidden">
                <tr>
                  <th scope="col">{t("upcoming.when")}</th>
                  <th scope="col">{t("upcoming.what")}</th>
                  <th scope="col">{t("upcoming.workflow")}</th>
                  <th scope="col">{t("upcoming.record")}</th>
                  <th scope="col">{t("upcoming.person")}</th>
                </tr>
              </thead>
              <tbody>
                {dayItems.map((item, i) => {
                  const href = recordHref(space, item);
                  const own = item.local.slice(11, 16);
                  return (
                    <tr key={`${item.at}-${item.record ?? ""}-${item.workflows.join()}-${i}`} data-testid="upcoming-item" className={item.overdue ? "overdue" : undefined}>
                      <td className="when">
                        <strong>{time.format(new Date(item.at))}</strong>
                        {item.timezone !== zone && (
                          <div className="muted small" data-testid="upcoming-local">
                            {t("upcoming.inZone", { time: own, zone: item.timezone })}
                          </div>
                        )}
                        {item.overdue && <div className="small warn-text">{t("upcoming.overdue")}</div>}
                      </td>
                      <td className="what">
                        <KindBadge item={item} detail={detail(item)} />
                      </td>
                      <td className="workflow">
                        {item.workflows.length === 0 ? (
                          <span className="muted">{t("upcoming.noWorkflow")}</span>
                        ) : (
                          <>
                            <span data-testid="upcoming-workflow" title={item.workflows.join(", ")}>
                              {item.title ?? item.workflows.join(", ")}
                            </span>
                          </>
                        )}
                        {item.condition && (
                          <div className="muted small" title={item.condition}>
                            {t("upcoming.conditional")}
                          </div>
                        )}
                      </td>
                      <td className="record">
                        {href ? (
                          <>
                            <Link href={href} data-testid="upcoming-record">
                              {item.label ?? item.record}
                            </Link>
                            <div className="muted small">{formTitle(item.form ?? "")}</div>
                          </>
                        ) : (
                          <span className="muted">{t("upcoming.wholeSpace")}</span>
                        )}
                      </td>
                      <td className="person" data-testid="upcoming-person">
                        {person(item)}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </section>
        );
      })}
    </div>
  );
}

/** The window on a month-style grid of weeks; each day shows its first items. */
function Month({ space, items, from, until }: { space: string; items: UpcomingItem[]; from: Date; until: Date }) {
  const { t, i18n } = useTranslation();
  const start = weekStart(from);
  const weeks = Math.ceil((until.getTime() - start.getTime()) / (7 * 86_400_000));
  const weekday = new Intl.DateTimeFormat(i18n.language, { weekday: "short" });
  const dayLabel = new Intl.DateTimeFormat(i18n.language, { month: "short", day: "numeric" });
  const time = new Intl.DateTimeFormat(i18n.language, { hour: "2-digit", minute: "2-digit" });
  const days = byDay(items);
  const today = localToday();
  const first = localToday(from);
  const last = localToday(until);
  return (
    <div className="calendar month" data-testid="upcoming-calendar">
      {Array.from({ length: 7 }, (_, i) => (
        <div key={`h${i}`} className="weekday">
          {weekday.format(addDays(start, i))}
        </div>
      ))}
      {Array.from({ length: weeks * 7 }, (_, i) => {
        const day = addDays(start, i);
        const key = localToday(day);
        const dayItems = days.get(key) ?? [];
        const shown = dayItems.slice(0, 4);
        const outside = key < first || key > last;
        return (
          <div key={key} className={`day ${outside ? "outside" : ""} ${key === today ? "today" : ""}`} data-date={key}>
            <div className="day-number">{day.getDate() === 1 || i === 0 ? dayLabel.format(day) : day.getDate()}</div>
            {shown.map((item, j) => {
              const href = recordHref(space, item);
              const text = `${time.format(new Date(item.at))} ${item.label ?? item.title ?? item.workflows.join(", ")}`;
              const title = `${t(`upcoming.kind.${item.kind}`)} · ${item.title ?? item.workflows.join(", ")}`;
              return href ? (
                <Link key={j} className={`event kind-${item.kind}`} href={href} title={title} data-testid="upcoming-event">
                  {text}
                </Link>
              ) : (
                <span key={j} className={`event kind-${item.kind}`} title={title} data-testid="upcoming-event">
                  {text}
                </span>
              );
            })}
            {dayItems.length > shown.length && (
              <button type="button" className="link-button small more" onClick={() => setQuery({ view: null })} title={t("upcoming.seeInAgenda")}>
                {t("calendar.more", { count: dayItems.length - shown.length })}
              </button>
            )}
          </div>
        );
      })}
    </div>
  );
}
