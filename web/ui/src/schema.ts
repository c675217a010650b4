// What the UI needs to know about a form, read from its stored definition: its fields in
// order, their kinds, the grid's default columns, references and the pipeline.

export interface JsonSchema {
  type?: string | string[];
  format?: string;
  enum?: unknown[];
  title?: string;
  description?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  default?: unknown;
  "x-ref"?: string;
  [key: string]: unknown;
}

export interface ChecklistItem {
  id: string;
  label: string;
}

export interface Stage {
  name: string;
  title?: string;
  sla?: string;
  checklist?: ChecklistItem[];
}

export interface Pipeline {
  field: string;
  initial?: string;
  stages: Stage[];
  transitions?: Record<string, string[]>;
  checklist_field?: string;
}

export interface FormDefinition {
  title?: string;
  description?: string;
  schema: JsonSchema;
  ui?: { order?: string[]; list_columns?: string[]; [key: string]: unknown };
  indexes?: string[];
  computed?: Record<string, unknown>;
  rules?: unknown[];
  pipeline?: Pipeline;
  access?: { person_field?: string; [key: string]: unknown };
}

export interface StoredForm {
  name: string;
  version: number;
  definition: FormDefinition;
  created_at?: string;
  created_by?: string;
}

export interface TendRecord {
  id: string;
  form: string;
  version: number;
  data: Record<string, unknown>;
  stage?: string;
  created_at: string;
  created_by: string;
  updated_at: string;
  updated_by: string;
}

export interface Space {
  name: string;
  title: string;
  timezone?: string;
  template?: { name: string; version: string };
  copied_from?: { space: string };
}

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export type FieldKind = "string" | "number" | "integer" | "boolean" | "date" | "date-time" | "enum" | "ref" | "object" | "array";

export interface Field {
  name: string;
  kind: FieldKind;
  schema: JsonSchema;
  options: string[];
  ref?: string;
  /** Holds a user id (`x-person`, or the access policy's person field). */
  person?: boolean;
  computed: boolean;
  indexed: boolean;
}

/** A field's kind as the grid, the filter builder and the formatter see it. */
export function fieldKind(schema: JsonSchema): FieldKind {
  if (schema["x-ref"]) return "ref";
  if (Array.isArray(schema.enum)) return "enum";
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== "null") : schema.type;
  if (type === "string" && schema.format === "date") return "date";
  if (type === "string" && schema.format === "date-time") return "date-time";
  if (type === "number" || type === "integer" || type === "boolean" || type === "object" || type === "array") return type;
  return "string";
}

/** The form's data fields, in `ui.order` first, then the schema's order. */
export function fields(definition: FormDefinition): Field[] {
  const properties = definition.schema.properties ?? {};
  const order = definition.ui?.order ?? [];
  const names = [...order.filter((n) => n in properties), ...Object.keys(properties).filter((n) => !order.includes(n))];
  const computed = definition.computed ?? {};
  const indexes = definition.indexes ?? [];
  return names.map((name) => {
    const schema = properties[name];
    return {
      name,
      kind: fieldKind(schema),
      schema,
      options: Array.isArray(schema.enum) ? schema.enum.map(String) : [],
      ref: schema["x-ref"],
      person: schema["x-person"] === true || definition.access?.person_field === name,
      computed: name in computed,
      indexed: indexes.includes(name),
    };
  });
}

/** The grid's default columns: `ui.list_columns`, else the first few fields. */
export function defaultColumns(definition: FormDefinition): string[] {
  const all = fields(definition).filter((f) => f.kind !== "object" && f.kind !== "array");
  const listed = definition.ui?.list_columns?.filter((c) => all.some((f) => f.name === c));
  return listed && listed.length > 0 ? listed : all.slice(0, 6).map((f) => f.name);
}

/** A field's label: its schema title, else its name made readable. */
export function fieldLabel(name: string, schema?: JsonSchema): string {
  if (schema?.title) return schema.title;
  const words = name.replace(/_/g, " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** Single-select fields: what a kanban can group by besides a pipeline. */
export function singleSelectFields(definition: FormDefinition): Field[] {
  return fields(definition).filter((f) => f.kind === "enum");
}

/** Date fields: what a calendar can be laid out by. */
export function dateFields(definition: FormDefinition): Field[] {
  return fields(definition).filter((f) => f.kind === "date" || f.kind === "date-time");
}

/** A human name for a record: its `name` or `title`, else its first plain text field (not a
 * reference, a date, an email or a choice), else the form's title and the id's start. */
export function recordTitle(record: TendRecord, definition?: FormDefinition): string {
  const properties = definition?.schema.properties ?? {};
  for (const name of ["name", "title"]) {
    const value = record.data[name];
    if (typeof value === "string" && value) return value;
  }
  for (const [name, schema] of Object.entries(properties)) {
    const value = record.data[name];
    if (typeof value === "string" && value && fieldKind(schema) === "string" && !schema.format && !/^[0-9a-f-]{36}$/.test(value)) {
      return value;
    }
  }
  return `${definition?.title ?? record.form} ${record.id.slice(0, 8)}`;
}
