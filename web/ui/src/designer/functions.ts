// What a form script can call besides rhai's own operators and methods: Tend's functions
// (engine/src/rules: time.rs, helpers.rs) and the rhai built-ins admins use most. Offered by
// the script editor's completion; the server remains the judge of what exists.
export interface ScriptFunction {
  name: string;
  /** How it is called, e.g. `days_until(date)`. */
  signature: string;
}

export const SCRIPT_FUNCTIONS: ScriptFunction[] = [
  { name: "today", signature: "today() / today(zone)" },
  { name: "now", signature: "now()" },
  { name: "date", signature: "date(text)" },
  { name: "datetime", signature: "datetime(text)" },
  { name: "local_time", signature: "local_time(datetime, zone)" },
  { name: "days_until", signature: "days_until(date)" },
  { name: "days_since", signature: "days_since(date)" },
  { name: "days", signature: "days(n)" },
  { name: "weeks", signature: "weeks(n)" },
  { name: "hours", signature: "hours(n)" },
  { name: "minutes", signature: "minutes(n)" },
  { name: "seconds", signature: "seconds(n)" },
  { name: "as_days", signature: "as_days(duration)" },
  { name: "as_hours", signature: "as_hours(duration)" },
  { name: "as_minutes", signature: "as_minutes(duration)" },
  { name: "as_seconds", signature: "as_seconds(duration)" },
  { name: "lower", signature: "lower(text)" },
  { name: "upper", signature: "upper(text)" },
  { name: "trim", signature: "trim(text)" },
  { name: "round", signature: "round(x, digits)" },
  { name: "clamp", signature: "clamp(x, lo, hi)" },
  { name: "min", signature: "min(a, b)" },
  { name: "max", signature: "max(a, b)" },
  { name: "abs", signature: "abs(x)" },
  { name: "to_string", signature: "to_string(x)" },
  { name: "contains", signature: "list.contains(x) / text.contains(part)" },
  { name: "len", signature: "text.len() / list.len()" },
  { name: "to_int", signature: "x.to_int()" },
  { name: "to_float", signature: "x.to_float()" },
  { name: "type_of", signature: "type_of(x)" },
];

/** Variables a form script sees. */
export const SCRIPT_VARIABLES = ["record", "space"];
