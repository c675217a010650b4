// A trigger in one line of words, for the list of workflows and the builder's header:
// "account updated (health)", "90 days before renewal_date at 09:00, Asia/Shanghai",
// "At 08:00, only on Monday, Europe/Berlin".
import type { TFunction } from "i18next";
import { describeCron } from "./cron";
import { parseSpan, triggerKind, type Span, type Trigger } from "./model";

export function spanWords(span: Span, t: TFunction): string {
  return t(`workflows.span.${span.unit}`, { count: span.amount });
}

function zoneWords(trigger: Trigger, t: TFunction): string {
  const zone = trigger.timezone;
  if (zone === undefined) return t("workflows.zone.spaceShort");
  if (typeof zone === "string") return zone;
  return t("workflows.zone.fieldShort", { field: zone.field });
}

export function triggerSummary(trigger: Trigger, t: TFunction, language: string): string {
  const form = trigger.form ?? "";
  const events = (trigger.on ?? []).map((e) => t(`workflows.events.${e}`, { defaultValue: e })).join(", ");
  switch (triggerKind(trigger)) {
    case "record":
      return trigger.fields && trigger.fields.length > 0 ? t("workflows.summary.recordFields", { form, events, fields: trigger.fields.join(", ") }) : t("workflows.summary.record", { form, events });
    case "sla":
      return t("workflows.summary.sla", { form });
    case "date": {
      const offsets = (trigger.offsets ?? []).map((o) => {
        const span = parseSpan(o);
        if (!span) return o;
        if (span.amount === 0) return t("workflows.summary.onTheDay");
        return t(span.before ? "workflows.summary.before" : "workflows.summary.after", { span: spanWords(span, t) });
      });
      return t("workflows.summary.date", { offsets: offsets.join(", "), field: `${form}.${trigger.at ?? ""}`, time: trigger.time ?? "09:00", zone: zoneWords(trigger, t) });
    }
    case "delay": {
      const span = parseSpan(trigger.delay ?? "");
      return t("workflows.summary.delay", { span: span ? spanWords(span, t) : trigger.delay, form, events });
    }
    case "cron":
      return `${describeCron(trigger.cron ?? "", language) ?? trigger.cron}, ${zoneWords(trigger, t)}`;
    case "hook":
      return t("workflows.summary.hook", { hook: trigger.hook ?? "" });
  }
}
