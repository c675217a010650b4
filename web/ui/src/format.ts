// Values shown to people: dates, instants and numbers through Intl, in the user's locale and
// time zone (the browser's), never hand-formatted.
import type { Field } from "./schema";

export function formatNumber(value: number, locale: string): string {
  return new Intl.NumberFormat(locale).format(value);
}

export function formatDate(value: string, locale: string): string {
  // A calendar date has no zone: read it as that day, not as midnight UTC shifted.
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!match) return value;
  const date = new Date(Number(match[1]), Number(match[2]) - 1, Number(match[3]));
  return new Intl.DateTimeFormat(locale, { year: "numeric", month: "short", day: "numeric" }).format(date);
}

export function formatInstant(value: string, locale: string): string {
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return value;
  return new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "short" }).format(date);
}

/** An instant on the wall clock of an IANA zone (`UTC`, `Asia/Shanghai`), with the zone's
 *  short name (to the second when asked); the browser's zone when the zone is unknown to it. */
export function formatInstantIn(value: string, locale: string, timeZone: string, seconds = false): string {
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return value;
  const options: Intl.DateTimeFormatOptions = { dateStyle: "medium", timeStyle: seconds ? "medium" : "short" };
  try {
    const parts = new Intl.DateTimeFormat(locale, { ...options, timeZone }).format(date);
    return `${parts} ${timeZone === "UTC" ? "UTC" : zoneName(date, locale, timeZone)}`;
  } catch {
    return new Intl.DateTimeFormat(locale, options).format(date);
  }
}

/** The short name of `timeZone` at `date` (`GMT+8`, `EST`). */
function zoneName(date: Date, locale: string, timeZone: string): string {
  const part = new Intl.DateTimeFormat(locale, { timeZone, timeZoneName: "short" }).formatToParts(date).find((p) => p.type === "timeZoneName");
  return part?.value ?? timeZone;
}

/** A duration in microseconds, as people read it: `840 µs`, `12 ms`, `1.4 s`. */
export function formatMicros(us: number, locale: string): string {
  if (us < 1000) return `${formatNumber(us, locale)} µs`;
  if (us < 1_000_000) return `${formatNumber(Math.round(us / 1000), locale)} ms`;
  return `${new Intl.NumberFormat(locale, { maximumFractionDigits: 1 }).format(us / 1_000_000)} s`;
}

/** A field value as text for a cell, a chip or a history line. */
export function formatValue(value: unknown, field: Field | undefined, locale: string): string {
  if (value === null || value === undefined || value === "") return "";
  if (typeof value === "number") return formatNumber(value, locale);
  if (typeof value === "boolean") return value ? "✓" : "✗";
  if (typeof value === "string") {
    if (field?.kind === "date") return formatDate(value, locale);
    if (field?.kind === "date-time") return formatInstant(value, locale);
    return value;
  }
  return JSON.stringify(value);
}

/** Today as `YYYY-MM-DD` in the user's time zone. */
export function localToday(now: Date = new Date()): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
}
