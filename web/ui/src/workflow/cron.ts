// A cron schedule in words ("At 08:00, only on Monday, Europe/Berlin") and its next occurrences
// in its time zone, so an admin sees what the five fields mean before saving. The server stays
// the judge of what is valid (its 422 is shown at the field); this only reads.
import cronstrue from "cronstrue";
import "cronstrue/locales/zh_CN";
import { CronExpressionParser } from "cron-parser";

/** The schedule in words in `language` (`en`, `zh-CN`), or null if it does not read. */
export function describeCron(cron: string, language: string): string | null {
  try {
    return cronstrue.toString(cron, { locale: language.startsWith("zh") ? "zh_CN" : "en", use24HourTimeFormat: true, throwExceptionOnParseError: true });
  } catch {
    return null;
  }
}

/** The next `count` occurrences after `from`, in time zone `zone` (UTC when none); null if invalid. */
export function nextOccurrences(cron: string, zone: string | undefined, count: number, from: Date = new Date()): Date[] | null {
  try {
    const expression = CronExpressionParser.parse(cron, { tz: zone || "UTC", currentDate: from });
    return expression.take(count).map((d) => d.toDate());
  } catch {
    return null;
  }
}

/** An instant as the wall clock of `zone` reads it, with the weekday: "Mon 2026-12-07 09:00". */
export function wallClock(instant: Date, zone: string | undefined, language: string): string {
  return new Intl.DateTimeFormat(language, {
    timeZone: zone || "UTC",
    weekday: "short",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  }).format(instant);
}
