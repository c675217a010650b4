// Small pieces the run, timer, delivery and integration pages share: a status chip, an instant
// in UTC and a zone's local time, a copy button, and the badge counts' refresh signal.
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { formatInstantIn } from "../format";

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
