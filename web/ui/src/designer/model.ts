// The form designer's model: a form definition opened as a list of fields (each of a palette
// kind) and section headers, with the form's rules and pipeline, and written back as plain
// JSON Schema 2020-12 plus the `ui` hints the app reads (`order`, `widgets`, `colors`,
// `sections`). Everything the designer does not edit (list columns, unknown keys, a computed
// field's `{file}` source) is kept as it was, so opening and saving a form changes nothing.
import type { FormDefinition, JsonSchema, Pipeline, Stage } from "../schema";

export const PALETTE = [
  "text",
  "longtext",
  "number",
  "integer",
  "currency",
  "percent",
  "date",
  "datetime",
  "select",
  "multiselect",
  "checkbox",
  "email",
  "phone",
  "url",
  "person",
  "link",
] as const;

export type PaletteKind = (typeof PALETTE)[number];
/** A field the palette does not make (an object such as a checklist): kept, not reshaped. */
export type FieldKindName = PaletteKind | "other";

/** `ui.widgets` values the designer writes for kinds JSON Schema alone can't tell apart. */
const WIDGET_OF: Partial<Record<PaletteKind, string>> = {
  longtext: "textarea",
  currency: "currency",
  percent: "percent",
  phone: "phone",
};

export interface Rule {
  name?: string;
  expr: string;
  message: string;
  path?: string;
  [key: string]: unknown;
}

export type Item = { type: "field"; name: string } | { type: "section"; id: string; title: string };

export interface DesignModel {
  /** Top-level keys as they were, minus the ones rebuilt from the parts below. */
  base: Record<string, unknown>;
  title?: string;
  description?: string;
  /** Root schema keys other than `properties` and `required` (type, additionalProperties...). */
  schemaRest: Record<string, unknown>;
  /** Each field's JSON Schema, by name. */
  properties: Record<string, JsonSchema>;
  /** Fields and section headers in display order. */
  items: Item[];
  required: string[];
  indexes: string[];
  /** `computed` as written: an expression string or `{expr, description}` (expr may be `{file}`). */
  computed: Record<string, unknown>;
  rules: Rule[];
  pipeline?: Pipeline;
  /** `ui` keys other than `order`, `widgets`, `colors`, `sections`. */
  uiRest: Record<string, unknown>;
  widgets: Record<string, string>;
  colors: Record<string, Record<string, string>>;
  /** Whether `ui.order` is written: it was there, or fields were added or moved. */
  writeOrder: boolean;
  /** Whether `ui.sections` is written even when empty (it was there). */
  hadSections: boolean;
  hadWidgets: boolean;
  hadColors: boolean;
}

const MANAGED = ["title", "description", "schema", "ui", "indexes", "computed", "rules", "pipeline"];
const UI_MANAGED = ["order", "widgets", "colors", "sections"];

const omit = (object: Record<string, unknown> | undefined, keys: string[]) =>
  Object.fromEntries(Object.entries(object ?? {}).filter(([k]) => !keys.includes(k)));

const clone = <T>(value: T): T => (value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T));

let sectionIds = 0;
const newSectionId = () => `section-${++sectionIds}`;

/** Opens a stored definition. */
export function open(definition: FormDefinition): DesignModel {
  const d = clone(definition) as FormDefinition & Record<string, unknown>;
  const properties = (d.schema?.properties ?? {}) as Record<string, JsonSchema>;
  const ui = (d.ui ?? {}) as Record<string, unknown>;
  const order = Array.isArray(ui.order) ? (ui.order as string[]) : [];
  const names = [...order.filter((n) => n in properties), ...Object.keys(properties).filter((n) => !order.includes(n))];
  const sections = Array.isArray(ui.sections) ? (ui.sections as { title?: string; fields?: string[] }[]) : [];
  const startOf = new Map<string, { title: string }>();
  const empty: { title: string }[] = [];
  for (const section of sections) {
    const first = names.find((n) => section.fields?.includes(n));
    if (first) startOf.set(first, { title: section.title ?? "" });
    else empty.push({ title: section.title ?? "" });
  }
  const items: Item[] = [];
  for (const name of names) {
    const section = startOf.get(name);
    if (section) items.push({ type: "section", id: newSectionId(), title: section.title });
    items.push({ type: "field", name });
  }
  for (const section of empty) items.push({ type: "section", id: newSectionId(), title: section.title });
  return {
    base: omit(d, MANAGED),
    title: d.title,
    description: d.description,
    schemaRest: omit(d.schema as Record<string, unknown>, ["properties", "required"]),
    properties,
    items,
    required: Array.isArray(d.schema?.required) ? [...d.schema.required] : [],
    indexes: [...(d.indexes ?? [])],
    computed: (d.computed ?? {}) as Record<string, unknown>,
    rules: (Array.isArray(d.rules) ? d.rules : []) as Rule[],
    pipeline: d.pipeline,
    uiRest: omit(ui, UI_MANAGED),
    widgets: (ui.widgets ?? {}) as Record<string, string>,
    colors: (ui.colors ?? {}) as Record<string, Record<string, string>>,
    writeOrder: Array.isArray(ui.order),
    hadSections: Array.isArray(ui.sections),
    hadWidgets: ui.widgets !== undefined,
    hadColors: ui.colors !== undefined,
  };
}

/** A new, empty form. */
export function blank(title = ""): DesignModel {
  return open({
    ...(title ? { title } : {}),
    schema: { type: "object", additionalProperties: false, properties: {} },
  } as FormDefinition);
}

/** The definition the model stands for. */
export function save(model: DesignModel): FormDefinition {
  const names = fieldNames(model);
  const properties = Object.fromEntries(names.map((n) => [n, model.properties[n]]));
  const schema: JsonSchema = { ...model.schemaRest, properties } as JsonSchema;
  const required = model.required.filter((n) => names.includes(n));
  if (required.length > 0) schema.required = required;
  const definition: Record<string, unknown> = {};
  if (model.title !== undefined && model.title !== "") definition.title = model.title;
  if (model.description !== undefined && model.description !== "") definition.description = model.description;
  definition.schema = schema;

  const ui: Record<string, unknown> = { ...model.uiRest };
  if (model.writeOrder) ui.order = names;
  const widgets = pick(model.widgets, names);
  if (Object.keys(widgets).length > 0 || (model.hadWidgets && Object.keys(model.widgets).length === 0)) ui.widgets = widgets;
  const colors = Object.fromEntries(
    Object.entries(pick(model.colors, names)).filter(([, c]) => Object.keys(c).length > 0 || model.hadColors),
  );
  if (Object.keys(colors).length > 0 || (model.hadColors && Object.keys(model.colors).length === 0)) ui.colors = colors;
  const sections = sectionsOf(model);
  if (sections.length > 0 || model.hadSections) ui.sections = sections;
  if (Object.keys(ui).length > 0) definition.ui = ui;

  const indexes = model.indexes.filter((n) => names.includes(n));
  if (indexes.length > 0) definition.indexes = indexes;
  const computed = pick(model.computed, names);
  if (Object.keys(computed).length > 0) definition.computed = computed;
  if (model.rules.length > 0) definition.rules = model.rules;
  if (model.pipeline) definition.pipeline = model.pipeline;
  return { ...definition, ...model.base } as unknown as FormDefinition;
}

function pick<T>(object: Record<string, T>, names: string[]): Record<string, T> {
  return Object.fromEntries(Object.entries(object).filter(([k]) => names.includes(k)));
}

function sectionsOf(model: DesignModel): { title: string; fields: string[] }[] {
  const sections: { title: string; fields: string[] }[] = [];
  for (const item of model.items) {
    if (item.type === "section") sections.push({ title: item.title, fields: [] });
    else if (sections.length > 0) sections[sections.length - 1].fields.push(item.name);
  }
  return sections;
}

/** The fields' names in display order. */
export function fieldNames(model: DesignModel): string[] {
  return model.items.flatMap((item) => (item.type === "field" ? [item.name] : []));
}

/** A field's palette kind, read from its schema and widget. */
export function kindOf(schema: JsonSchema, widget?: string): FieldKindName {
  if (schema["x-ref"]) return "link";
  if (schema["x-person"] === true) return "person";
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== "null") : schema.type;
  if (type === "array" && schema.items && Array.isArray(schema.items.enum)) return "multiselect";
  if (Array.isArray(schema.enum)) return "select";
  if (type === "boolean") return "checkbox";
  if (type === "integer") return "integer";
  if (type === "number") return widget === "currency" ? "currency" : widget === "percent" ? "percent" : "number";
  if (type === "string") {
    if (schema.format === "date") return "date";
    if (schema.format === "date-time") return "datetime";
    if (schema.format === "email") return "email";
    if (schema.format === "uri") return "url";
    if (widget === "textarea") return "longtext";
    if (widget === "phone") return "phone";
    return "text";
  }
  return "other";
}

export function fieldKind(model: DesignModel, name: string): FieldKindName {
  return kindOf(model.properties[name] ?? {}, model.widgets[name]);
}

/** The JSON Schema a new field of `kind` starts with. */
export function schemaFor(kind: PaletteKind, ref = ""): JsonSchema {
  switch (kind) {
    case "text":
    case "longtext":
    case "phone":
      return { type: "string" };
    case "number":
    case "currency":
      return { type: "number" };
    case "percent":
      return { type: "number", minimum: 0, maximum: 100 };
    case "integer":
      return { type: "integer" };
    case "date":
      return { type: "string", format: "date" };
    case "datetime":
      return { type: "string", format: "date-time" };
    case "select":
      return { type: "string", enum: ["option_1"] };
    case "multiselect":
      return { type: "array", items: { type: "string", enum: ["option_1"] }, uniqueItems: true };
    case "checkbox":
      return { type: "boolean" };
    case "email":
      return { type: "string", format: "email" };
    case "person":
      return { type: "string", "x-person": true };
    case "url":
      return { type: "string", format: "uri" };
    case "link":
      return { type: "string", "x-ref": ref };
  }
}

type Change = (model: DesignModel) => DesignModel;

const copy = (model: DesignModel): DesignModel => ({
  ...model,
  properties: { ...model.properties },
  items: [...model.items],
  widgets: { ...model.widgets },
  colors: { ...model.colors },
  computed: { ...model.computed },
});

/** A name no field has yet: `field_1`, `field_2`... */
export function freshName(model: DesignModel, stem = "field"): string {
  for (let i = 1; ; i++) if (!(`${stem}_${i}` in model.properties)) return `${stem}_${i}`;
}

/** Adds a field of `kind` (at the end, or before item `at`). */
export function addField(kind: PaletteKind, name: string, at?: number): Change {
  return (model) => {
    if (name in model.properties) return model;
    const next = copy(model);
    next.properties[name] = schemaFor(kind);
    const widget = WIDGET_OF[kind];
    if (widget) next.widgets[name] = widget;
    const item: Item = { type: "field", name };
    if (at === undefined) next.items.push(item);
    else next.items.splice(at, 0, item);
    next.writeOrder = true;
    return next;
  };
}

export function addSection(title: string): Change {
  return (model) => ({ ...model, items: [...model.items, { type: "section", id: newSectionId(), title }] });
}

export function renameSection(id: string, title: string): Change {
  return (model) => ({ ...model, items: model.items.map((i) => (i.type === "section" && i.id === id ? { ...i, title } : i)) });
}

/** Moves the item at `from` to `to` (indexes into `items`). */
export function move(from: number, to: number): Change {
  return (model) => {
    if (from === to || from < 0 || to < 0 || from >= model.items.length || to >= model.items.length) return model;
    const items = [...model.items];
    const [item] = items.splice(from, 1);
    items.splice(to, 0, item);
    return { ...model, items, writeOrder: true };
  };
}

/** Removes a field (and what refers to it: required, index, computed, widget, colours) or a section header. */
export function removeItem(index: number): Change {
  return (model) => {
    const item = model.items[index];
    if (!item) return model;
    const next = copy(model);
    next.items.splice(index, 1);
    if (item.type === "field") {
      const name = item.name;
      delete next.properties[name];
      delete next.widgets[name];
      delete next.colors[name];
      delete next.computed[name];
      next.required = next.required.filter((n) => n !== name);
      next.indexes = next.indexes.filter((n) => n !== name);
      next.rules = next.rules.filter((r) => r.path !== `/${name}`);
    }
    return next;
  };
}

/** Renames a field everywhere the definition names it. */
export function renameField(from: string, to: string): Change {
  return (model) => {
    if (from === to || !to || to in model.properties || !(from in model.properties)) return model;
    const rename = (n: string) => (n === from ? to : n);
    const renameKeys = <T>(o: Record<string, T>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [rename(k), v]));
    const pipeline = model.pipeline && {
      ...model.pipeline,
      field: rename(model.pipeline.field),
      ...(model.pipeline.checklist_field ? { checklist_field: rename(String(model.pipeline.checklist_field)) } : {}),
    };
    return {
      ...model,
      properties: renameKeys(model.properties),
      items: model.items.map((i) => (i.type === "field" && i.name === from ? { type: "field", name: to } : i)),
      required: model.required.map(rename),
      indexes: model.indexes.map(rename),
      widgets: renameKeys(model.widgets),
      colors: renameKeys(model.colors),
      computed: renameKeys(model.computed),
      rules: model.rules.map((r) => (r.path === `/${from}` ? { ...r, path: `/${to}` } : r)),
      uiRest: Array.isArray(model.uiRest.list_columns)
        ? { ...model.uiRest, list_columns: (model.uiRest.list_columns as string[]).map(rename) }
        : model.uiRest,
      pipeline,
      writeOrder: true,
    };
  };
}

/** Changes a field's kind, keeping its title, help text and default where they still fit. */
export function changeKind(name: string, kind: PaletteKind, ref = ""): Change {
  return (model) => {
    const next = copy(model);
    const old = model.properties[name] ?? {};
    const schema = schemaFor(kind, ref);
    for (const key of ["title", "description"]) if (old[key] !== undefined) schema[key] = old[key];
    next.properties[name] = schema;
    const widget = WIDGET_OF[kind];
    if (widget) next.widgets[name] = widget;
    else delete next.widgets[name];
    if (kind !== "select" && kind !== "multiselect") delete next.colors[name];
    return next;
  };
}

/** Sets (or, with undefined or "", removes) one keyword of a field's schema. */
export function setKeyword(name: string, keyword: string, value: unknown): Change {
  return (model) => {
    const schema = { ...model.properties[name] };
    if (value === undefined || value === "" || (typeof value === "number" && Number.isNaN(value))) delete schema[keyword];
    else schema[keyword] = value;
    return { ...model, properties: { ...model.properties, [name]: schema } };
  };
}

const toggle = (list: string[], name: string, on: boolean) => (on ? (list.includes(name) ? list : [...list, name]) : list.filter((n) => n !== name));

export function setRequired(name: string, on: boolean): Change {
  return (model) => ({ ...model, required: toggle(model.required, name, on) });
}

/** The "fast filter" switch: an index on the field. */
export function setIndexed(name: string, on: boolean): Change {
  return (model) => ({ ...model, indexes: toggle(model.indexes, name, on) });
}

/** A select field's options (a multi select's are its items'). */
export function optionsOf(model: DesignModel, name: string): string[] {
  const schema = model.properties[name] ?? {};
  const list = Array.isArray(schema.enum) ? schema.enum : schema.items && Array.isArray(schema.items.enum) ? schema.items.enum : [];
  return list.map(String);
}

function withOptions(schema: JsonSchema, options: string[]): JsonSchema {
  if (Array.isArray(schema.enum)) return { ...schema, enum: options };
  if (schema.items) return { ...schema, items: { ...schema.items, enum: options } };
  return { ...schema, enum: options };
}

/** Sets a select's options; renames (`renamed[old] = new`) carry their colour along. */
export function setOptions(name: string, options: string[], renamed: Record<string, string> = {}): Change {
  return (model) => {
    const next = copy(model);
    next.properties[name] = withOptions(model.properties[name] ?? {}, options);
    const colors = model.colors[name];
    if (colors) {
      const moved: Record<string, string> = {};
      for (const [option, color] of Object.entries(colors)) {
        const now = renamed[option] ?? option;
        if (options.includes(now)) moved[now] = color;
      }
      next.colors[name] = moved;
    }
    return next;
  };
}

export function setColor(name: string, option: string, color: string | undefined): Change {
  return (model) => {
    const colors = { ...(model.colors[name] ?? {}) };
    if (color) colors[option] = color;
    else delete colors[option];
    return { ...model, colors: { ...model.colors, [name]: colors } };
  };
}

/** The expression of a computed field (a `{file}` source is not editable here: undefined). */
export function computedExpr(model: DesignModel, name: string): string | undefined {
  const computed = model.computed[name];
  if (typeof computed === "string") return computed;
  if (computed && typeof computed === "object" && typeof (computed as { expr?: unknown }).expr === "string") return (computed as { expr: string }).expr;
  return undefined;
}

/** Makes a field computed by `expr` (keeping a description), or (undefined) not computed. */
export function setComputed(name: string, expr: string | undefined): Change {
  return (model) => {
    const next = copy(model);
    if (expr === undefined) delete next.computed[name];
    else {
      const current = model.computed[name];
      next.computed[name] = current && typeof current === "object" ? { ...(current as object), expr } : expr;
    }
    return next;
  };
}

export function setRules(rules: Rule[]): Change {
  return (model) => ({ ...model, rules });
}

// ---- the pipeline ----

/** Turns the pipeline on (on field `field`, a select whose options become the stages) or off. */
export function setPipeline(field: string | undefined): Change {
  return (model) => {
    if (!field) return { ...model, pipeline: undefined };
    const options = optionsOf(model, field);
    const stages: Stage[] = (options.length > 0 ? options : ["stage_1"]).map((name) => ({ name }));
    return syncStageField({ ...model, pipeline: { field, stages } });
  };
}

/** The stage field's options follow the stages; a checklist property exists when a stage has items. */
function syncStageField(model: DesignModel): DesignModel {
  const pipeline = model.pipeline;
  if (!pipeline) return model;
  const next = copy(model);
  const schema = model.properties[pipeline.field];
  if (schema && Array.isArray(schema.enum)) next.properties[pipeline.field] = { ...schema, enum: pipeline.stages.map((s) => s.name) };
  const checklist = String(pipeline.checklist_field ?? "checklist");
  if (pipeline.stages.some((s) => (s.checklist ?? []).length > 0) && !(checklist in next.properties)) {
    next.properties[checklist] = { type: "object", additionalProperties: { type: "boolean" } };
    next.items.push({ type: "field", name: checklist });
  }
  return next;
}

export function setStages(stages: Stage[]): Change {
  return (model) => {
    if (!model.pipeline) return model;
    const names = stages.map((s) => s.name);
    const transitions = model.pipeline.transitions;
    const pipeline: Pipeline = { ...model.pipeline, stages };
    if (transitions) {
      const kept = Object.fromEntries(
        Object.entries(transitions)
          .filter(([from]) => names.includes(from))
          .map(([from, to]) => [from, to.filter((n) => names.includes(n))]),
      );
      if (Object.keys(kept).length > 0) pipeline.transitions = kept;
      else delete pipeline.transitions;
    }
    return syncStageField({ ...model, pipeline });
  };
}

/** Renames a stage, keeping its moves. */
export function renameStage(from: string, to: string): Change {
  return (model) => {
    const pipeline = model.pipeline;
    if (!pipeline || from === to || pipeline.stages.some((s) => s.name === to)) return model;
    const rename = (n: string) => (n === from ? to : n);
    const transitions = pipeline.transitions
      ? Object.fromEntries(Object.entries(pipeline.transitions).map(([k, v]) => [rename(k), v.map(rename)]))
      : undefined;
    const stages = pipeline.stages.map((s) => (s.name === from ? { ...s, name: to } : s));
    const initial = pipeline.initial === from ? { initial: to } : {};
    return syncStageField({ ...model, pipeline: { ...pipeline, ...initial, stages, ...(transitions ? { transitions } : {}) } });
  };
}

/** Whether the pipeline lets a record move from `from` to `to` (no transitions: any move). */
export function allows(pipeline: Pipeline, from: string, to: string): boolean {
  if (!pipeline.transitions || Object.keys(pipeline.transitions).length === 0) return from !== to;
  return (pipeline.transitions[from] ?? []).includes(to);
}

/** Ticks or unticks one cell of the moves grid. Unticking the first cell of an "any move"
 * pipeline writes out every other move, so the grid keeps showing what is allowed. */
export function setMove(from: string, to: string, on: boolean): Change {
  return (model) => {
    const pipeline = model.pipeline;
    if (!pipeline || from === to) return model;
    const names = pipeline.stages.map((s) => s.name);
    const current: Record<string, string[]> =
      pipeline.transitions && Object.keys(pipeline.transitions).length > 0
        ? clone(pipeline.transitions)
        : Object.fromEntries(names.map((a) => [a, names.filter((b) => b !== a)]));
    const targets = current[from] ?? [];
    current[from] = on ? (targets.includes(to) ? targets : names.filter((n) => n === to || targets.includes(n))) : targets.filter((n) => n !== to);
    for (const key of Object.keys(current)) if (current[key].length === 0) delete current[key];
    return { ...model, pipeline: { ...pipeline, transitions: current } };
  };
}

export function apply(model: DesignModel, ...changes: Change[]): DesignModel {
  return changes.reduce((m, change) => change(m), model);
}
