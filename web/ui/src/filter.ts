// The filter builder's model: conditions (field, operator, value) joined by `and`, written in
// Tend's filter language so that the raw box, the URL and saved views all hold one string.
import type { Field } from "./schema";

export type Operator = "=" | "!=" | "<" | "<=" | ">" | ">=" | "contains" | "in";

export interface Condition {
  field: string;
  op: Operator;
  /** As typed: a number, a date, text, `true`/`false`; for `in`, comma-separated. */
  value: string;
}

/** The operators that make sense for a field's kind (the server type-checks the rest). */
export function operatorsFor(field: Field | undefined): Operator[] {
  switch (field?.kind) {
    case "number":
    case "integer":
    case "date":
    case "date-time":
      return ["=", "!=", "<", "<=", ">", ">="];
    case "boolean":
      return ["=", "!="];
    case "enum":
      return ["=", "!=", "in"];
    case "ref":
      return ["=", "!="];
    default:
      return ["=", "!=", "contains"];
  }
}

function literal(raw: string, field: Field | undefined): string {
  const value = raw.trim();
  if (value === "null") return "null";
  switch (field?.kind) {
    case "number":
    case "integer":
      return value !== "" && Number.isFinite(Number(value)) ? String(Number(value)) : JSON.stringify(value);
    case "boolean":
      return value === "true" || value === "false" ? value : JSON.stringify(value);
    default:
      return JSON.stringify(value);
  }
}

/** One condition in the filter language. */
export function conditionToFilter(condition: Condition, field: Field | undefined): string {
  if (condition.op === "in") {
    const items = condition.value.split(",").map((v) => v.trim()).filter(Boolean);
    return `${condition.field} in [${items.map((v) => literal(v, field)).join(", ")}]`;
  }
  return `${condition.field} ${condition.op} ${literal(condition.value, field)}`;
}

/** All conditions, joined by `and`; "" when there are none. */
export function toFilter(conditions: Condition[], fields: Field[]): string {
  return conditions
    .filter((c) => c.field && (c.value.trim() !== "" || c.op === "in"))
    .map((c) => conditionToFilter(c, fields.find((f) => f.name === c.field)))
    .join(" and ");
}

const COMPARISON = /^\s*([A-Za-z_][A-Za-z0-9_.]*)\s*(!=|<=|>=|=|<|>|contains\b|in\b)\s*(.+?)\s*$/i;

function unquote(text: string): string | null {
  const t = text.trim();
  if (/^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(t) || t === "true" || t === "false" || t === "null") return t;
  if (t.startsWith('"') && t.endsWith('"')) {
    try {
      return JSON.parse(t) as string;
    } catch {
      return null;
    }
  }
  return null;
}

/** Reads a filter back into conditions when it is a plain `and` of comparisons (what the
 * builder writes); null when it uses more of the language (`or`, `not`, parentheses), which
 * then stays in the raw box only. */
export function fromFilter(filter: string): Condition[] | null {
  const text = filter.trim();
  if (text === "") return [];
  // Split on ` and ` outside quotes.
  const parts: string[] = [];
  let current = "";
  let quote: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quote) {
      current += ch;
      if (ch === "\\") {
        current += text[++i] ?? "";
      } else if (ch === quote) quote = null;
      continue;
    }
    if (ch === '"' || ch === "'") {
      quote = ch;
      current += ch;
      continue;
    }
    if (/\s/.test(ch) && /^\s+and\s+/i.test(text.slice(i))) {
      const m = /^\s+and\s+/i.exec(text.slice(i));
      parts.push(current);
      current = "";
      i += (m?.[0].length ?? 1) - 1;
      continue;
    }
    if (ch === "(" || ch === ")") return null;
    current += ch;
  }
  if (quote) return null;
  parts.push(current);
  const conditions: Condition[] = [];
  for (const part of parts) {
    if (/^\s*not\b|\bor\b/i.test(part.replace(/"(?:[^"\\]|\\.)*"/g, '""'))) return null;
    const m = COMPARISON.exec(part);
    if (!m) return null;
    const op = m[2].toLowerCase() as Operator;
    if (op === "in") {
      const list = /^\[(.*)\]$/.exec(m[3].trim());
      if (!list) return null;
      const values = list[1].split(",").map((v) => unquote(v));
      if (values.some((v) => v === null)) return null;
      conditions.push({ field: m[1], op, value: values.join(", ") });
      continue;
    }
    const value = unquote(m[3]);
    if (value === null) return null;
    conditions.push({ field: m[1], op, value });
  }
  return conditions;
}
