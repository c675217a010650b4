// Step 1, what starts a run: record events (only when given fields change), a stage's SLA
// breached, offsets from a date field at a local time in a zone, a delay after an event, a cron
// schedule read in words with its next occurrences, or an inbound hook.
import { useTranslation } from "react-i18next";
import { fields, fieldLabel, type StoredForm } from "../schema";
import { Issues } from "./Issues";
import { describeCron, nextOccurrences, wallClock } from "./cron";
import { changeKind, parseSpan, RECORD_EVENTS, TRIGGER_KINDS, triggerKind, writeSpan, zoneChoice, zoneValue, type Span, type Trigger, type ZoneChoice } from "./model";
import type { Named } from "./api";

export interface TriggerEditorProps {
  trigger: Trigger;
  onChange: (trigger: Trigger) => void;
  forms: StoredForm[];
  hooks: Named[];
  /** The space's zone, where a schedule that names none runs (UTC when unset). */
  spaceZone?: string;
}

/** IANA zones the browser knows, for the zone picker's suggestions. */
const ZONES: string[] = (() => {
  try {
    return (Intl as unknown as { supportedValuesOf?: (key: string) => string[] }).supportedValuesOf?.("timeZone") ?? [];
  } catch {
    return [];
  }
})();

export function TriggerEditor({ trigger, onChange, forms, hooks, spaceZone }: TriggerEditorProps) {
  const { t } = useTranslation();
  const kind = triggerKind(trigger);
  const form = forms.find((f) => f.name === trigger.form);
  const formFields = form ? fields(form.definition) : [];
  const set = (patch: Partial<Trigger>) => {
    const next: Trigger = { ...trigger, ...patch };
    for (const key of Object.keys(patch) as (keyof Trigger)[]) if (patch[key] === undefined) delete next[key];
    onChange(next);
  };
  const timer = kind === "date" || kind === "delay" || kind === "cron";
  const toggle = (list: string[] | undefined, item: string, on: boolean) => (on ? [...(list ?? []), item] : (list ?? []).filter((x) => x !== item));

  return (
    <div className="trigger-editor">
      <div className="row">
        <label>
          {t("workflows.trigger.kind")}
          <select value={kind} onChange={(e) => onChange(changeKind(trigger, e.target.value as typeof kind))} data-testid="trigger-kind">
            {TRIGGER_KINDS.map((k) => (
              <option key={k} value={k}>
                {t(`workflows.kinds.${k}`)}
              </option>
            ))}
          </select>
        </label>
        {kind !== "cron" && kind !== "hook" && (
          <label>
            {t("workflows.trigger.form")}
            <select value={trigger.form ?? ""} onChange={(e) => set({ form: e.target.value, fields: undefined, at: kind === "date" ? "" : undefined })} aria-invalid={!trigger.form} data-testid="trigger-form">
              <option value="">{t("workflows.choose")}</option>
              {forms.map((f) => (
                <option key={f.name} value={f.name}>
                  {f.definition.title ?? f.name}
                </option>
              ))}
            </select>
            <Issues at="/trigger/form" />
          </label>
        )}
        {kind === "hook" && (
          <label>
            {t("workflows.trigger.hook")}
            <select value={trigger.hook ?? ""} onChange={(e) => set({ hook: e.target.value })} data-testid="trigger-hook">
              <option value="">{t("workflows.choose")}</option>
              {[...hooks.map((h) => h.name), ...(trigger.hook && !hooks.some((h) => h.name === trigger.hook) ? [trigger.hook] : [])].map((name) => (
                <option key={name} value={name}>
                  {hooks.find((h) => h.name === name)?.title ?? name}
                </option>
              ))}
            </select>
            <Issues at="/trigger/hook" />
          </label>
        )}
      </div>

      {(kind === "record" || kind === "delay") && (
        <fieldset className="checks">
          <legend>{t("workflows.trigger.events")}</legend>
          {RECORD_EVENTS.map((event) => (
            <label key={event} className="check">
              <input type="checkbox" checked={trigger.on?.includes(event) ?? false} onChange={(e) => set({ on: toggle(trigger.on, event, e.target.checked) })} data-testid={`trigger-on-${event}`} />
              {t(`workflows.events.${event}`)}
            </label>
          ))}
          <Issues at="/trigger/on" under />
        </fieldset>
      )}
      {(kind === "record" || kind === "delay") && trigger.on?.includes("updated") && formFields.length > 0 && (
        <fieldset className="checks">
          <legend>{t("workflows.trigger.onlyFields")}</legend>
          {formFields.map((f) => (
            <label key={f.name} className="check">
              <input type="checkbox" checked={trigger.fields?.includes(f.name) ?? false} onChange={(e) => set({ fields: toggle(trigger.fields, f.name, e.target.checked) })} data-testid={`trigger-field-${f.name}`} />
              {fieldLabel(f.name, f.schema)}
            </label>
          ))}
          <Issues at="/trigger/fields" under />
        </fieldset>
      )}
      {kind === "sla" && <p className="muted small">{t("workflows.trigger.slaHelp")}</p>}

      {kind === "date" && (
        <>
          <div className="row">
            <label>
              {t("workflows.trigger.at")}
              <select value={trigger.at ?? ""} onChange={(e) => set({ at: e.target.value })} data-testid="trigger-at">
                <option value="">{t("workflows.choose")}</option>
                {formFields
                  .filter((f) => f.kind === "date" || f.kind === "date-time" || f.name === trigger.at)
                  .map((f) => (
                    <option key={f.name} value={f.name}>
                      {fieldLabel(f.name, f.schema)}
                    </option>
                  ))}
              </select>
              <Issues at="/trigger/at" />
            </label>
            <label>
              {t("workflows.trigger.time")}
              <input type="time" value={trigger.time ?? ""} onChange={(e) => set({ time: e.target.value || undefined })} data-testid="trigger-time" />
              <Issues at="/trigger/time" />
            </label>
          </div>
          <fieldset className="offsets">
            <legend>{t("workflows.trigger.offsets")}</legend>
            {(trigger.offsets ?? []).map((offset, i) => (
              <SpanInput
                key={i}
                text={offset}
                testId={`offset-${i}`}
                units={["d", "w", "h"]}
                direction
                onChange={(text) => set({ offsets: (trigger.offsets ?? []).map((o, j) => (j === i ? text : o)) })}
                onRemove={() => set({ offsets: (trigger.offsets ?? []).filter((_, j) => j !== i) })}
                at={`/trigger/offsets/${i}`}
              />
            ))}
            <button type="button" onClick={() => set({ offsets: [...(trigger.offsets ?? []), "-7d"] })} data-testid="add-offset">
              {t("workflows.trigger.addOffset")}
            </button>
            <Issues at="/trigger/offsets" />
          </fieldset>
        </>
      )}

      {kind === "delay" && (
        <fieldset className="offsets">
          <legend>{t("workflows.trigger.delay")}</legend>
          <SpanInput text={trigger.delay ?? ""} testId="delay" units={["m", "h", "d", "w"]} onChange={(delay) => set({ delay })} at="/trigger/delay" />
        </fieldset>
      )}

      {kind === "cron" && <CronInput trigger={trigger} set={set} spaceZone={spaceZone} />}

      {timer && (
        <div className="row">
          <ZoneInput choice={zoneChoice(trigger.timezone)} allowField={kind !== "cron"} fieldNames={formFields.filter((f) => f.kind === "string").map((f) => f.name)} onChange={(c) => set({ timezone: zoneValue(c) })} />
          {kind !== "cron" && (
            <label className="check">
              <input type="checkbox" checked={trigger.business_days ?? false} onChange={(e) => set({ business_days: e.target.checked || undefined })} data-testid="trigger-business-days" />
              {t("workflows.trigger.businessDays")}
            </label>
          )}
          <label>
            {t("workflows.trigger.misfire")}
            <select value={trigger.misfire ?? ""} onChange={(e) => set({ misfire: (e.target.value || undefined) as Trigger["misfire"] })} data-testid="trigger-misfire">
              <option value="">{t("workflows.trigger.misfireDefault")}</option>
              <option value="fire">{t("workflows.trigger.misfireFire")}</option>
              <option value="skip">{t("workflows.trigger.misfireSkip")}</option>
            </select>
          </label>
        </div>
      )}
    </div>
  );
}

interface SpanInputProps {
  text: string;
  units: Span["unit"][];
  /** Offer before/after (offsets); a delay is always after. */
  direction?: boolean;
  onChange: (text: string) => void;
  onRemove?: () => void;
  testId: string;
  at: string;
}

/** `-30d` as "30 · days · before"; what does not read that way stays text. */
function SpanInput({ text, units, direction, onChange, onRemove, testId, at }: SpanInputProps) {
  const { t } = useTranslation();
  const span = parseSpan(text);
  return (
    <div className="span-input">
      {span && (!span.before || direction) ? (
        <>
          <input
            type="number"
            min={0}
            className="narrow"
            value={span.amount}
            aria-label={t("workflows.trigger.amount")}
            onChange={(e) => onChange(writeSpan({ ...span, amount: Math.max(0, Math.trunc(Number(e.target.value) || 0)) }))}
            data-testid={`${testId}-amount`}
          />
          <select value={span.unit} aria-label={t("workflows.trigger.unit")} onChange={(e) => onChange(writeSpan({ ...span, unit: e.target.value as Span["unit"] }))} data-testid={`${testId}-unit`}>
            {units.map((u) => (
              <option key={u} value={u}>
                {t(`workflows.units.${u}`)}
              </option>
            ))}
          </select>
          {direction && (
            <select value={span.before ? "before" : "after"} aria-label={t("workflows.trigger.direction")} onChange={(e) => onChange(writeSpan({ ...span, before: e.target.value === "before" }))} data-testid={`${testId}-direction`}>
              <option value="before">{t("workflows.trigger.before")}</option>
              <option value="after">{t("workflows.trigger.after")}</option>
            </select>
          )}
        </>
      ) : (
        <input value={text} aria-label={t("workflows.trigger.spanText")} onChange={(e) => onChange(e.target.value)} data-testid={`${testId}-text`} />
      )}
      {onRemove && (
        <button type="button" className="link-button" onClick={onRemove} aria-label={t("workflows.remove")} data-testid={`${testId}-remove`}>
          ✕
        </button>
      )}
      <Issues at={at} />
    </div>
  );
}

function ZoneInput({ choice, allowField, fieldNames, onChange }: { choice: ZoneChoice; allowField: boolean; fieldNames: string[]; onChange: (c: ZoneChoice) => void }) {
  const { t } = useTranslation();
  return (
    <div className="zone-input">
      <label>
        {t("workflows.zone.label")}
        <select
          value={choice.mode}
          onChange={(e) => {
            const mode = e.target.value as ZoneChoice["mode"];
            onChange(mode === "space" ? { mode } : mode === "fixed" ? { mode, name: "UTC" } : { mode, field: fieldNames.includes("timezone") ? "timezone" : (fieldNames[0] ?? "") });
          }}
          data-testid="zone-mode"
        >
          <option value="space">{t("workflows.zone.space")}</option>
          <option value="fixed">{t("workflows.zone.fixed")}</option>
          {(allowField || choice.mode === "field") && <option value="field">{t("workflows.zone.field")}</option>}
        </select>
      </label>
      {choice.mode === "fixed" && (
        <label>
          <span className="visually-hidden">{t("workflows.zone.fixed")}</span>
          <input list="tend-zones" value={choice.name} onChange={(e) => onChange({ mode: "fixed", name: e.target.value })} data-testid="zone-name" />
          <datalist id="tend-zones">
            {ZONES.map((z) => (
              <option key={z} value={z} />
            ))}
          </datalist>
        </label>
      )}
      {choice.mode === "field" && (
        <label>
          <span className="visually-hidden">{t("workflows.zone.field")}</span>
          <select value={choice.field} onChange={(e) => onChange({ mode: "field", field: e.target.value })} data-testid="zone-field">
            {[...new Set([...fieldNames, choice.field])].map((f) => (
              <option key={f} value={f}>
                {f}
              </option>
            ))}
          </select>
        </label>
      )}
      <Issues at="/trigger/timezone" under />
    </div>
  );
}

/** The five (or six) cron fields, what they mean in words and when they next fire. */
function CronInput({ trigger, set, spaceZone }: { trigger: Trigger; set: (patch: Partial<Trigger>) => void; spaceZone?: string }) {
  const { t, i18n } = useTranslation();
  const cron = trigger.cron ?? "";
  const zone = typeof trigger.timezone === "string" ? trigger.timezone : (spaceZone ?? "UTC");
  const words = describeCron(cron, i18n.language);
  const next = nextOccurrences(cron, zone, 5);
  return (
    <div className="cron-input">
      <label>
        {t("workflows.trigger.cron")}
        <input className="mono" value={cron} onChange={(e) => set({ cron: e.target.value })} aria-describedby="cron-reading" data-testid="trigger-cron" />
        <Issues at="/trigger/cron" />
      </label>
      <p id="cron-reading" className={words ? "cron-reading" : "field-error"} data-testid="cron-reading">
        {words ? `${words}, ${zone}` : t("workflows.trigger.cronInvalid")}
      </p>
      {next && (
        <div>
          <span className="muted small">{t("workflows.trigger.nextRuns")}</span>
          <ol className="next-runs" data-testid="cron-next">
            {next.map((d) => (
              <li key={d.toISOString()}>{wallClock(d, zone, i18n.language)}</li>
            ))}
          </ol>
        </div>
      )}
      <p className="muted small">{t("workflows.trigger.cronHelp")}</p>
    </div>
  );
}
