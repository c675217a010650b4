// Small pieces the run, timer, delivery and integration pages share: a status chip, an instant
// in UTC and a zone's local time, a copy button, and the badge counts' refresh signal.
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import type { WorkflowVersion } from "../api/watching";
import { formatInstantIn } from "../format";
import { setQuery } from "../router";

/** Fired after a retry or redelivery, so the nav's badge counts again. */
export const ATTENTION_CHANGED = "tend:attention-changed";

export function attentionChanged() {
  window.dispatchEvent(new Event(ATTENTION_CHANGED));
}

/** A run's or delivery's status as a colored chip. */
export function StatusChip({ status }: { status: string }) {
  const { t } = useTranslation();
  return (
    <span className={`badge status-${status}`} data-testid="status">
      {t(`watch.status.${status}`, { defaultValue: status })}
    </span>
  );
}

/** An instant in the zone's local time, with UTC beside it (or only UTC when the zone is UTC);
 *  to the second for things that happen many a minute (runs, attempts). */
export function When({ at, zone, seconds = false }: { at: string; zone?: string; seconds?: boolean }) {
  const { i18n } = useTranslation();
  const utc = formatInstantIn(at, i18n.language, "UTC", seconds);
  if (!zone || zone === "UTC") return <time dateTime={at}>{utc}</time>;
  return (
    <time dateTime={at} className="when">
      <span>{formatInstantIn(at, i18n.language, zone, seconds)}</span>
      <span className="muted small">{utc}</span>
    </time>
  );
}

/** Copies `text` to the clipboard; says so for a moment. */
export function CopyButton({ text, testid }: { text: string; testid?: string }) {
  const { t } = useTranslation();
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setCopied(true);
      window.setTimeout(() => setCopied(false), 2000);
    } catch {
      setCopied(false);
    }
  };
  return (
    <button type="button" onClick={() => void copy()} data-testid={testid}>
      {copied ? t("watch.copied") : t("watch.copy")}
    </button>
  );
}

/** A filter of a list page that picks one value of the URL's `param`, or all. */
export function ChoiceFilter({ label, param, value, choices, testid }: { label: string; param: string; value: string; choices: { value: string; label: string }[]; testid: string }) {
  const { t } = useTranslation();
  return (
    <label className="inline">
      {label}
      <select value={value} onChange={(e) => setQuery({ [param]: e.target.value })} data-testid={testid}>
        <option value="">{t("watch.all")}</option>
        {choices.map((choice) => (
          <option key={choice.value} value={choice.value}>
            {choice.label}
          </option>
        ))}
      </select>
    </label>
  );
}

/** The workflows of a space as filter choices, by title. */
export function workflowChoices(workflows: WorkflowVersion[] | undefined) {
  return (workflows ?? []).map((w) => ({ value: w.name, label: w.definition.title ?? w.name }));
}

/** The statuses as filter choices, in words. */
export function useStatusChoices(statuses: string[]) {
  const { t } = useTranslation();
  return statuses.map((s) => ({ value: s, label: t(`watch.status.${s}`) }));
}

/** A record id typed in, put in the URL's `record` on enter. */
export function RecordFilter({ value, testid }: { value: string; testid: string }) {
  const { t } = useTranslation();
  const [draft, setDraft] = useState(value);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setQuery({ record: draft.trim() });
  };
  return (
    <form className="inline" onSubmit={submit}>
      <label htmlFor={testid}>{t("runs.record")}</label>
      <input id={testid} value={draft} onChange={(e) => setDraft(e.target.value)} placeholder={t("runs.recordPlaceholder")} size={24} data-testid={testid} />
    </form>
  );
}

/** "Load more" under a paged list, while the server has more. */
export function MoreButton({ more, loading, onMore, testid }: { more: boolean; loading: boolean; onMore: () => void; testid?: string }) {
  const { t } = useTranslation();
  if (!more) return null;
  return (
    <button type="button" onClick={onMore} disabled={loading} data-testid={testid}>
      {t("watch.more")}
    </button>
  );
}
