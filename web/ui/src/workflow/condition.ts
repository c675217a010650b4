// The condition builder's rows and the rhai `when` they write: each row compares a field's new
// value (`record.x`) or old value (`old.x`) with a typed value, or asks whether it is empty, set
// or changed; the rows are joined with `&&` (all) or `||` (any). Reading is the inverse: a `when`
// reads as rows only if the rows write it back exactly, else it stays code.
import { parseLiteral, writeLiteral } from "./model";

export const OPERATORS = ["==", "!=", "<", "<=", ">", ">=", "empty", "set", "changed"] as const;
export type Operator = (typeof OPERATORS)[number];

export interface ConditionRow {
  /** `record` (the new value) or `old` (the value before the change). */
  source: "record" | "old";
  field: string;
  op: Operator;
  /** For comparisons: the value compared with. */
  value?: string | number | boolean | null;
}

export interface Condition {
  join: "all" | "any";
  rows: ConditionRow[];
}

/** Whether an operator compares with a value. */
export const takesValue = (op: Operator) => op !== "empty" && op !== "set" && op !== "changed";

export function writeRow(row: ConditionRow): string {
  const subject = `${row.source}.${row.field}`;
  switch (row.op) {
    case "empty":
      return `${subject} == ()`;
    case "set":
      return `${subject} != ()`;
    case "changed":
      return `record.${row.field} != old.${row.field}`;
    default:
      return `${subject} ${row.op} ${writeLiteral(row.value ?? null)}`;
  }
}

export function writeCondition(condition: Condition): string {
  return condition.rows.map(writeRow).join(condition.join === "all" ? " && " : " || ");
}

const NAME = "[A-Za-z_][A-Za-z0-9_]*";
const ROW = new RegExp(`^(record|old)\\.(${NAME}) (==|!=|<=|>=|<|>) (.+)$`);

function parseRow(text: string): ConditionRow | null {
  const changed = new RegExp(`^record\\.(${NAME}) != old\\.(${NAME})$`).exec(text);
  if (changed && changed[1] === changed[2]) return { source: "record", field: changed[1], op: "changed" };
  const m = ROW.exec(text);
  if (!m) return null;
  const [, source, field, op, rest] = m;
  if (rest === "()" && (op === "==" || op === "!=")) return { source: source as ConditionRow["source"], field, op: op === "==" ? "empty" : "set" };
  const value = parseLiteral(rest);
  if (value === undefined) return null;
  return { source: source as ConditionRow["source"], field, op: op as Operator, value };
}

/** Splits `text` at `sep` where it is outside strings, parentheses and brackets. */
function splitTop(text: string, sep: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote: string | null = null;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === "\\") i++;
      else if (c === quote) quote = null;
      continue;
    }
    if (c === '"' || c === "`" || c === "'") quote = c;
    else if (c === "(" || c === "[" || c === "{") depth++;
    else if (c === ")" || c === "]" || c === "}") depth--;
    else if (depth === 0 && text.startsWith(sep, i)) {
      parts.push(text.slice(start, i));
      start = i + sep.length;
      i += sep.length - 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

/** `when` as rows, or null when the builder cannot say it exactly. */
export function parseCondition(when: string): Condition | null {
  if (when.trim() === "") return null;
  for (const join of ["all", "any"] as const) {
    const pieces = splitTop(when, join === "all" ? " && " : " || ");
    if (join === "all" && pieces.length === 1 && splitTop(when, " || ").length > 1) continue;
    const rows = pieces.map(parseRow);
    if (rows.some((r) => r === null)) return null;
    const condition = { join, rows: rows as ConditionRow[] };
    if (writeCondition(condition) === when) return condition;
  }
  return null;
}
