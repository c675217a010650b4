// "My work": open items of every form with an `assignee` field that names me, overdue first.
// Until people exist, "me" is an email address typed here (kept in the URL and remembered).
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { listForms, listRecords, listSpaces } from "../api/tend";
import { ProblemNotice } from "../components/ProblemNotice";
import { useLoad } from "../hooks/useApi";
import { formatDate, localToday } from "../format";
import { Link, setQuery, useLocation } from "../router";
import { dateFields, fields as formFields, recordTitle, type StoredForm, type TendRecord } from "../schema";

const REMEMBERED = "tend.me";

interface Item {
  space: string;
  form: StoredForm;
  record: TendRecord;
  due: string;
}

async function loadWork(who: string, signal: AbortSignal): Promise<Item[]> {
  const spaces = await listSpaces(signal);
  const items: Item[] = [];
  for (const space of spaces) {
    const forms = await listForms(space.name, signal);
    await Promise.all(
      forms.map(async (form) => {
        const fields = formFields(form.definition);
        if (!fields.some((f) => f.name === "assignee")) return;
        const status = fields.find((f) => f.name === "status" && f.options.includes("done"));
        const due = dateFields(form.definition)[0]?.name;
        const filter = `assignee = ${JSON.stringify(who)}${status ? ' and status != "done"' : ""}`;
        const page = await listRecords(space.name, form.name, { filter, sort: due, limit: 500 }, signal);
        for (const record of page.items) items.push({ space: space.name, form, record, due: due ? String(record.data[due] ?? "") : "" });
      }),
    );
  }
  return items.sort((a, b) => (a.due || "9999").localeCompare(b.due || "9999"));
}

export default function MyWorkPage() {
  const { t, i18n } = useTranslation();
  const location = useLocation();
  const who = location.query.get("who") ?? localStorage.getItem(REMEMBERED) ?? "";
  const [draft, setDraft] = useState(who);
  const work = useLoad((signal) => (who ? loadWork(who, signal) : Promise.resolve([])), [who]);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    localStorage.setItem(REMEMBERED, draft.trim());
    setQuery({ who: draft.trim() });
  };
  const today = localToday();
  const groups = [
    { key: "overdue", title: t("myWork.overdue"), items: (work.data ?? []).filter((i) => i.due && i.due < today) },
    { key: "upcoming", title: t("myWork.upcoming"), items: (work.data ?? []).filter((i) => i.due && i.due >= today) },
    { key: "nodate", title: t("myWork.noDate"), items: (work.data ?? []).filter((i) => !i.due) },
  ];
  return (
    <section className="my-work">
      <header className="page-header">
        <h1>{t("myWork.title")}</h1>
        <form onSubmit={submit} className="inline">
          <label htmlFor="who">{t("myWork.who")}</label>
          <input id="who" type="email" value={draft} onChange={(e) => setDraft(e.target.value)} aria-describedby="who-help" data-testid="my-work-who" />
          <small id="who-help" className="muted">
            {t("myWork.whoHelp")}
          </small>
        </form>
      </header>
      {work.problem && <ProblemNotice problem={work.problem} onRetry={work.reload} />}
      {who && work.data?.length === 0 && <p className="empty-state">{t("myWork.empty", { who })}</p>}
      {groups
        .filter((g) => g.items.length > 0)
        .map((group) => (
          <section key={group.key} className={`work-group ${group.key}`} data-testid={`work-${group.key}`}>
            <h2>
              {group.title} <span className="muted">{group.items.length}</span>
            </h2>
            <ul className="work-list">
              {group.items.map(({ space, form, record, due }) => (
                <li key={record.id}>
                  <Link href={`/s/${encodeURIComponent(space)}/${encodeURIComponent(form.name)}/r/${record.id}`}>{recordTitle(record, form.definition)}</Link>
                  <span className="muted small"> · {form.definition.title ?? form.name}</span>
                  {due && <span className={`due ${group.key}`}>{t("myWork.due", { date: formatDate(due, i18n.language) })}</span>}
                </li>
              ))}
            </ul>
          </section>
        ))}
    </section>
  );
}
