// A workflow definition as the builder edits it, and back. The builder never guesses: each part
// it reads into pickers (the trigger's kind and settings, `when` as condition rows, each action's
// form) is written back and compared with what it read; a part that would not come back exactly
// stays as the admin wrote it (an offset or a value as text, `when` in the code tab, an unknown
// action as JSON), so opening and saving a definition never changes it.
import { parseCondition, writeCondition, type Condition } from "./condition";

export type Json = unknown;

/** The trigger as the server takes it (see `engine::model::Trigger`). */
export interface Trigger {
  form?: string;
  on?: string[];
  fields?: string[];
  at?: string;
  offsets?: string[];
  time?: string;
  timezone?: string | { field: string };
  delay?: string;
  business_days?: boolean;
  cron?: string;
  misfire?: "fire" | "skip";
  catch_up?: string;
  hook?: string;
}

export interface Email {
  to: string;
  subject: string;
  body: string;
}

export interface Notify {
  webhook?: string;
  url?: string;
  email?: Email;
  body?: string;
}

export interface AssignDef {
  field: string;
  pool: string[];
  strategy?: "round_robin" | "least_open";
  open?: string;
}

export type ActionDef =
  | { set: Record<string, string> }
  | { create: { form: string; data: Record<string, string> } }
  | { transition: { to: string } }
  | { notify: Notify }
  | { script: string }
  | { assign: AssignDef };

export interface WorkflowDefinition {
  title?: string;
  description?: string;
  enabled?: boolean;
  order?: number;
  trigger: Trigger;
  when?: string;
  actions?: ActionDef[];
}

export interface StoredWorkflow {
  name: string;
  version: number;
  definition: WorkflowDefinition;
  created_at?: string;
  created_by?: string;
}

// ---------------------------------------------------------------------------------------------
// Triggers

/** The kinds the builder offers; `sla` is record events `on: ["sla_breached"]`. */
export const TRIGGER_KINDS = ["record", "sla", "date", "delay", "cron", "hook"] as const;
export type TriggerKind = (typeof TRIGGER_KINDS)[number];

export const RECORD_EVENTS = ["created", "updated", "deleted", "stage_changed"] as const;

/** Which keys each kind keeps (the others are dropped when the kind changes). */
const KIND_KEYS: Record<TriggerKind, (keyof Trigger)[]> = {
  record: ["form", "on", "fields"],
  sla: ["form", "on"],
  date: ["form", "at", "offsets", "time", "timezone", "business_days", "misfire", "catch_up"],
  delay: ["form", "on", "fields", "delay", "business_days", "timezone", "misfire", "catch_up"],
  cron: ["cron", "timezone", "misfire", "catch_up"],
  hook: ["hook"],
};

/** The kind of a trigger, read as the engine reads it (`hook`, then `cron`, `at`, `delay`). */
export function triggerKind(trigger: Trigger): TriggerKind {
  if (trigger.hook !== undefined) return "hook";
  if (trigger.cron !== undefined) return "cron";
  if (trigger.at !== undefined) return "date";
  if (trigger.delay !== undefined) return "delay";
  if (trigger.on && trigger.on.length === 1 && trigger.on[0] === "sla_breached") return "sla";
  return "record";
}

/** The trigger once its kind changes: what both kinds share is kept, the new kind's needs filled. */
export function changeKind(trigger: Trigger, kind: TriggerKind): Trigger {
  const kept: Trigger = {};
  for (const key of KIND_KEYS[kind]) if (trigger[key] !== undefined) (kept as Record<string, unknown>)[key] = trigger[key];
  switch (kind) {
    case "record":
      kept.on = (kept.on ?? []).filter((e) => e !== "sla_breached");
      if (kept.on.length === 0) kept.on = ["updated"];
      break;
    case "sla":
      kept.on = ["sla_breached"];
      break;
    case "date":
      kept.at ??= "";
      kept.offsets ??= ["-30d"];
      kept.time ??= "09:00";
      break;
    case "delay":
      kept.on = (kept.on ?? []).filter((e) => e !== "sla_breached");
      if (kept.on.length === 0) kept.on = ["created"];
      kept.delay ??= "7d";
      break;
    case "cron":
      kept.cron ??= "0 9 * * MON";
      if (typeof kept.timezone === "object") delete kept.timezone;
      break;
    case "hook":
      kept.hook ??= "";
      break;
  }
  return kept;
}

/** An offset or a delay in parts: `-30d` is 30 days before. `unit` is m, h, d or w. */
export interface Span {
  amount: number;
  unit: "m" | "h" | "d" | "w";
  before: boolean;
}

export function parseSpan(text: string): Span | null {
  const m = /^(-?)(\d+)([mhdw])$/.exec(text);
  if (!m) return null;
  const span: Span = { amount: Number(m[2]), unit: m[3] as Span["unit"], before: m[1] === "-" };
  return writeSpan(span) === text ? span : null;
}

export function writeSpan(span: Span): string {
  return `${span.before ? "-" : ""}${span.amount}${span.unit}`;
}

/** Where a timer's local time is read: the space's zone, a fixed one, or a field of the record. */
export type ZoneChoice = { mode: "space" } | { mode: "fixed"; name: string } | { mode: "field"; field: string };

export function zoneChoice(timezone: Trigger["timezone"]): ZoneChoice {
  if (timezone === undefined) return { mode: "space" };
  if (typeof timezone === "string") return { mode: "fixed", name: timezone };
  return { mode: "field", field: timezone.field };
}

export function zoneValue(choice: ZoneChoice): Trigger["timezone"] {
  if (choice.mode === "space") return undefined;
  if (choice.mode === "fixed") return choice.name;
  return { field: choice.field };
}

// ---------------------------------------------------------------------------------------------
// Values (of `set` and `create`): from a field of the record, typed in, or an expression.

export type ValueSource =
  | { mode: "field"; field: string }
  | { mode: "typed"; value: string | number | boolean }
  /** Text with `${record.field}` placeholders: a rhai template literal. */
  | { mode: "template"; text: string }
  | { mode: "expr"; expr: string };

/** How a rhai expression reads in the value picker; what does not come back exactly is an expression. */
export function valueSource(expr: string): ValueSource {
  const field = /^record\.([A-Za-z_][A-Za-z0-9_]*)$/.exec(expr);
  if (field) return { mode: "field", field: field[1] };
  const literal = parseLiteral(expr);
  if (literal !== undefined && literal !== null) return { mode: "typed", value: literal };
  const text = readTemplate(expr);
  if (text !== null) return { mode: "template", text };
  return { mode: "expr", expr };
}

export function writeValue(source: ValueSource): string {
  if (source.mode === "field") return `record.${source.field}`;
  if (source.mode === "typed") return writeLiteral(source.value);
  if (source.mode === "template") return writeTemplate(source.text);
  return source.expr;
}

/** The text of a rhai template literal (`` `Hi ${record.name}` ``), or null if `expr` is not one. */
export function readTemplate(expr: string): string | null {
  if (expr.length < 2 || !expr.startsWith("`") || !expr.endsWith("`")) return null;
  const inner = expr.slice(1, -1);
  return inner.includes("`") ? null : inner;
}

/** Text as a template literal; a backtick typed in the text would end it, so it becomes a quote. */
export function writeTemplate(text: string): string {
  return `\`${text.replace(/`/g, "'")}\``;
}

/** A rhai literal: a number, a double-quoted string, true/false or `()` (null); undefined otherwise. */
export function parseLiteral(text: string): string | number | boolean | null | undefined {
  let value: string | number | boolean | null | undefined;
  if (text === "()") value = null;
  else if (text === "true" || text === "false") value = text === "true";
  else if (/^-?\d+(\.\d+)?$/.test(text)) value = Number(text);
  else if (/^"(?:[^"\\\n]|\\["\\nt])*"$/.test(text)) {
    try {
      value = JSON.parse(text) as string;
    } catch {
      value = undefined;
    }
  }
  return value !== undefined && writeLiteral(value) === text ? value : undefined;
}

export function writeLiteral(value: string | number | boolean | null): string {
  if (value === null) return "()";
  if (typeof value === "string") return `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n").replace(/\t/g, "\\t")}"`;
  return String(value);
}

// ---------------------------------------------------------------------------------------------
// The builder's state

export type ActionKind = "set" | "create" | "transition" | "assign" | "notify" | "script" | "raw";
export const ACTION_KINDS: Exclude<ActionKind, "raw">[] = ["set", "create", "transition", "assign", "notify", "script"];

export type Mapping = { field: string; value: ValueSource };

export type ActionState =
  | { kind: "set"; mappings: Mapping[] }
  | { kind: "create"; form: string; mappings: Mapping[] }
  | { kind: "transition"; to: string }
  | { kind: "assign"; assign: AssignDef }
  | { kind: "notify"; notify: Notify }
  | { kind: "script"; script: string }
  /** An action the builder has no form for, kept as it was. */
  | { kind: "raw"; value: Json };

export interface BuilderState {
  title?: string;
  description?: string;
  enabled?: boolean;
  order?: number;
  trigger: Trigger;
  /** `when` as condition rows, or null: the code tab holds it (`code`). */
  condition: Condition | null;
  /** `when` as written; what the code tab edits. Undefined: no condition. */
  code?: string;
  actions: ActionState[];
  /** Keys of the definition the builder does not know, kept as they were. */
  extra: Record<string, Json>;
}

const KNOWN = new Set(["title", "description", "enabled", "order", "trigger", "when", "actions"]);

const isObject = (v: Json): v is Record<string, Json> => typeof v === "object" && v !== null && !Array.isArray(v);
const isStringMap = (v: Json): v is Record<string, string> => isObject(v) && Object.values(v).every((x) => typeof x === "string");

function mappings(data: Record<string, string>): Mapping[] {
  return Object.entries(data).map(([field, expr]) => ({ field, value: valueSource(expr) }));
}

function writeMappings(list: Mapping[]): Record<string, string> {
  return Object.fromEntries(list.filter((m) => m.field !== "").map((m) => [m.field, writeValue(m.value)]));
}

/** One action read into its form. */
export function openAction(action: Json): ActionState {
  if (isObject(action) && Object.keys(action).length === 1) {
    const [key, body] = Object.entries(action)[0];
    if (key === "set" && isStringMap(body)) return { kind: "set", mappings: mappings(body) };
    if (key === "create" && isObject(body) && typeof body.form === "string" && isStringMap(body.data) && Object.keys(body).length === 2)
      return { kind: "create", form: body.form, mappings: mappings(body.data) };
    if (key === "transition" && isObject(body) && typeof body.to === "string" && Object.keys(body).length === 1) return { kind: "transition", to: body.to };
    if (key === "assign" && isObject(body) && typeof body.field === "string" && Array.isArray(body.pool)) return { kind: "assign", assign: body as unknown as AssignDef };
    if (key === "notify" && isObject(body)) return { kind: "notify", notify: body as Notify };
    if (key === "script" && typeof body === "string") return { kind: "script", script: body };
  }
  return { kind: "raw", value: action };
}

export function saveAction(action: ActionState): ActionDef {
  switch (action.kind) {
    case "set":
      return { set: writeMappings(action.mappings) };
    case "create":
      return { create: { form: action.form, data: writeMappings(action.mappings) } };
    case "transition":
      return { transition: { to: action.to } };
    case "assign":
      return { assign: action.assign };
    case "notify":
      return { notify: action.notify };
    case "script":
      return { script: action.script };
    case "raw":
      return action.value as ActionDef;
  }
}

/** A new action of `kind`, with what it needs to be valid once its pickers are set. */
export function newAction(kind: Exclude<ActionKind, "raw">): ActionState {
  switch (kind) {
    case "set":
      return { kind, mappings: [{ field: "", value: { mode: "typed", value: "" } }] };
    case "create":
      return { kind, form: "", mappings: [] };
    case "transition":
      return { kind, to: "" };
    case "assign":
      return { kind, assign: { field: "", pool: [], strategy: "round_robin" } };
    case "notify":
      return { kind, notify: { webhook: "" } };
    case "script":
      return { kind, script: "" };
  }
}

/** The definition read into the builder. */
export function open(definition: WorkflowDefinition): BuilderState {
  const extra: Record<string, Json> = {};
  for (const [key, value] of Object.entries(definition)) if (!KNOWN.has(key)) extra[key] = value;
  return {
    title: definition.title,
    description: definition.description,
    enabled: definition.enabled,
    order: definition.order,
    trigger: definition.trigger,
    // No `when` reads as no rows, so a new workflow opens in the rows.
    condition: definition.when === undefined ? { join: "all", rows: [] } : parseCondition(definition.when),
    code: definition.when,
    actions: (definition.actions ?? []).map(openAction),
    extra,
  };
}

/** The definition the builder shows, in the server's key order. */
export function save(state: BuilderState): WorkflowDefinition {
  const definition: Record<string, Json> = {};
  if (state.title !== undefined) definition.title = state.title;
  if (state.description !== undefined) definition.description = state.description;
  if (state.enabled !== undefined) definition.enabled = state.enabled;
  if (state.order !== undefined) definition.order = state.order;
  definition.trigger = cleanTrigger(state.trigger);
  if (state.condition) {
    const when = writeCondition(state.condition);
    if (when !== "") definition.when = when;
  } else if (state.code !== undefined) definition.when = state.code;
  definition.actions = state.actions.map(saveAction);
  return { ...definition, ...state.extra } as unknown as WorkflowDefinition;
}

/** The trigger without keys that say nothing (empty lists, false), as the server drops them. */
function cleanTrigger(trigger: Trigger): Trigger {
  const clean: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(trigger)) {
    if (value === undefined || (Array.isArray(value) && value.length === 0) || value === false) continue;
    clean[key] = value;
  }
  return clean as Trigger;
}

/** A blank workflow: record updates of `form`, no condition, no action yet. */
export function blank(form = ""): BuilderState {
  return open({ trigger: { form, on: ["updated"] }, actions: [] });
}

/** Puts the condition rows into words in the code tab (or back, when the code reads as rows). */
export function toCode(state: BuilderState): BuilderState {
  return { ...state, code: state.condition ? writeCondition(state.condition) : state.code, condition: null };
}

export function toRows(state: BuilderState): BuilderState | null {
  if (state.code === undefined || state.code.trim() === "") return { ...state, code: undefined, condition: { join: "all", rows: [] } };
  const condition = parseCondition(state.code);
  return condition ? { ...state, condition } : null;
}
