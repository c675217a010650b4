// The designer's main tab, shaped like the designers ops admins know: the palette on the left,
// the form's fields and sections in the middle (drag to reorder, or the move buttons from the
// keyboard), the selected field's properties on the right.
import { lazy, Suspense, useState } from "react";
import { useTranslation } from "react-i18next";
import { closestCenter, DndContext, KeyboardSensor, PointerSensor, useSensor, useSensors, type DragEndEvent } from "@dnd-kit/core";
import { SortableContext, sortableKeyboardCoordinates, useSortable, verticalListSortingStrategy } from "@dnd-kit/sortable";
import type { JsonSchema, StoredForm } from "../schema";
import {
  addField,
  addSection,
  changeKind,
  computedExpr,
  fieldKind,
  fieldNames,
  freshName,
  move,
  optionsOf,
  PALETTE,
  removeItem,
  renameField,
  renameSection,
  setColor,
  setComputed,
  setIndexed,
  setKeyword,
  setOptions,
  setRequired,
  type DesignModel,
  type Item,
  type PaletteKind,
} from "./model";
import type { DraftEvaluation } from "./api";

const ScriptEditor = lazy(() => import("./ScriptEditor"));

type Change = (model: DesignModel) => DesignModel;

export interface FieldsTabProps {
  model: DesignModel;
  change: (...changes: Change[]) => void;
  selected: string | null;
  select: (key: string | null) => void;
  forms: StoredForm[];
  evaluation: DraftEvaluation | null;
  /** Definition errors (a 422 from the server) by field name. */
  fieldErrors: Record<string, string[]>;
}

const itemKey = (item: Item) => (item.type === "field" ? `field:${item.name}` : `section:${item.id}`);

export function FieldsTab({ model, change, selected, select, forms, evaluation, fieldErrors }: FieldsTabProps) {
  const { t } = useTranslation();
  const sensors = useSensors(useSensor(PointerSensor, { activationConstraint: { distance: 4 } }), useSensor(KeyboardSensor, { coordinateGetter: sortableKeyboardCoordinates }));
  const keys = model.items.map(itemKey);
  const onDragEnd = (event: DragEndEvent) => {
    if (!event.over) return;
    const from = keys.indexOf(String(event.active.id));
    const to = keys.indexOf(String(event.over.id));
    if (from >= 0 && to >= 0) change(move(from, to));
  };
  const add = (kind: PaletteKind) => {
    const name = freshName(model);
    change(addField(kind, name));
    select(`field:${name}`);
  };
  const selectedItem = model.items.find((item) => itemKey(item) === selected) ?? null;

  return (
    <div className="designer-columns">
      <aside className="palette" aria-label={t("designer.palette")}>
        <h3>{t("designer.palette")}</h3>
        <ul>
          {PALETTE.map((kind) => (
            <li key={kind}>
              <button type="button" onClick={() => add(kind)} data-testid={`palette-${kind}`}>
                <span aria-hidden="true" className="kind-icon">
                  {ICONS[kind]}
                </span>
                {t(`designer.kinds.${kind}`)}
              </button>
            </li>
          ))}
        </ul>
        <button type="button" onClick={() => change(addSection(t("designer.newSection")))} data-testid="add-section">
          {t("designer.addSection")}
        </button>
      </aside>

      <section className="canvas" aria-label={t("designer.canvas")}>
        {model.items.length === 0 && <p className="empty-state">{t("designer.emptyCanvas")}</p>}
        <DndContext sensors={sensors} collisionDetection={closestCenter} onDragEnd={onDragEnd}>
          <SortableContext items={keys} strategy={verticalListSortingStrategy}>
            <ol className="canvas-list">
              {model.items.map((item, index) => (
                <CanvasItem
                  key={itemKey(item)}
                  id={itemKey(item)}
                  item={item}
                  model={model}
                  selected={selected === itemKey(item)}
                  errors={item.type === "field" ? fieldErrors[item.name] : undefined}
                  onSelect={() => select(itemKey(item))}
                  onUp={index > 0 ? () => change(move(index, index - 1)) : undefined}
                  onDown={index < model.items.length - 1 ? () => change(move(index, index + 1)) : undefined}
                  onRemove={() => {
                    change(removeItem(index));
                    if (selected === itemKey(item)) select(null);
                  }}
                />
              ))}
            </ol>
          </SortableContext>
        </DndContext>
      </section>

      <aside className="properties" aria-label={t("designer.properties")}>
        {selectedItem?.type === "field" ? (
          <FieldProperties
            key={selectedItem.name}
            model={model}
            name={selectedItem.name}
            change={change}
            onRenamed={(to) => select(`field:${to}`)}
            forms={forms}
            evaluation={evaluation}
          />
        ) : selectedItem?.type === "section" ? (
          <div className="props">
            <h3>{t("designer.section")}</h3>
            <label>
              {t("designer.sectionTitle")}
              <input value={selectedItem.title} onChange={(e) => change(renameSection(selectedItem.id, e.target.value))} data-testid="prop-section-title" />
            </label>
          </div>
        ) : (
          <p className="muted">{t("designer.selectHint")}</p>
        )}
      </aside>
    </div>
  );
}

const ICONS: Record<PaletteKind, string> = {
  text: "Aa",
  longtext: "¶",
  number: "1.5",
  integer: "12",
  currency: "¤",
  percent: "%",
  date: "31",
  datetime: "9:00",
  select: "◉",
  multiselect: "☑",
  checkbox: "✓",
  email: "@",
  phone: "☎",
  url: "://",
  person: "☺",
  link: "↗",
};

interface CanvasItemProps {
  id: string;
  item: Item;
  model: DesignModel;
  selected: boolean;
  errors?: string[];
  onSelect: () => void;
  onUp?: () => void;
  onDown?: () => void;
  onRemove: () => void;
}

function CanvasItem({ id, item, model, selected, errors, onSelect, onUp, onDown, onRemove }: CanvasItemProps) {
  const { t } = useTranslation();
  const { attributes, listeners, setNodeRef, transform, transition, isDragging } = useSortable({ id });
  const style = {
    transform: transform ? `translate3d(${transform.x}px, ${transform.y}px, 0)` : undefined,
    transition,
    opacity: isDragging ? 0.6 : 1,
  };
  const name = item.type === "field" ? item.name : item.title;
  const schema: JsonSchema = item.type === "field" ? model.properties[item.name] ?? {} : {};
  const label = item.type === "field" ? schema.title ?? item.name : item.title || t("designer.section");
  const kind = item.type === "field" ? fieldKind(model, item.name) : null;
  return (
    <li
      ref={setNodeRef}
      style={style}
      className={`canvas-item ${item.type} ${selected ? "selected" : ""} ${errors?.length ? "has-error" : ""}`}
      data-testid={item.type === "field" ? `canvas-field-${item.name}` : `canvas-section-${item.title}`}
    >
      <button type="button" className="drag-handle" aria-label={t("designer.drag", { what: label })} {...attributes} {...listeners}>
        ⋮⋮
      </button>
      <button type="button" className="canvas-select" onClick={onSelect} aria-pressed={selected} data-testid={`select-${name}`}>
        {item.type === "section" ? (
          <strong>{label}</strong>
        ) : (
          <>
            <span className="canvas-label">
              {label}
              {model.required.includes(item.name) && <span aria-label={t("designer.required")}> *</span>}
            </span>
            <span className="muted small">
              {item.name} ·{" "}
              {item.name === (model.pipeline?.checklist_field ?? "checklist") && model.pipeline
                ? t("designer.checklistField")
                : kind === "other"
                  ? t("designer.kinds.other")
                  : t(`designer.kinds.${kind}`)}
              {model.indexes.includes(item.name) && ` · ${t("designer.indexedBadge")}`}
              {item.name in model.computed && ` · ${t("designer.computedBadge")}`}
            </span>
          </>
        )}
      </button>
      {errors?.length ? (
        <span className="field-error" role="alert">
          {errors.join(" ")}
        </span>
      ) : null}
      <span className="canvas-actions">
        <button type="button" onClick={onUp} disabled={!onUp} aria-label={t("designer.moveUp", { what: label })} data-testid={`move-up-${name}`}>
          ↑
        </button>
        <button type="button" onClick={onDown} disabled={!onDown} aria-label={t("designer.moveDown", { what: label })} data-testid={`move-down-${name}`}>
          ↓
        </button>
        <button type="button" onClick={onRemove} aria-label={t("designer.remove", { what: label })} data-testid={`remove-${name}`}>
          ✕
        </button>
      </span>
    </li>
  );
}

interface FieldPropertiesProps {
  model: DesignModel;
  name: string;
  change: (...changes: Change[]) => void;
  onRenamed: (to: string) => void;
  forms: StoredForm[];
  evaluation: DraftEvaluation | null;
}

const NAME = /^[a-z][a-z0-9_]{0,62}$/;
const TEXT_KINDS = ["text", "longtext", "email", "phone", "url", "person"];
const NUMBER_KINDS = ["number", "integer", "currency", "percent"];

function FieldProperties({ model, name, change, onRenamed, forms, evaluation }: FieldPropertiesProps) {
  const { t } = useTranslation();
  const schema = model.properties[name] ?? {};
  const kind = fieldKind(model, name);
  const [draftName, setDraftName] = useState(name);
  const nameOk = draftName === name || (NAME.test(draftName) && !(draftName in model.properties));
  const keyword = (key: string, value: unknown) => change(setKeyword(name, key, value));
  const num = (value: string) => (value.trim() === "" ? undefined : Number(value));
  const expr = computedExpr(model, name);
  const isComputed = name in model.computed;
  const outcome = evaluation?.computed.find((c) => c.field === name);
  const isPipelineField = model.pipeline?.field === name;

  return (
    <div className="props" data-testid="field-properties">
      <h3>{schema.title ?? name}</h3>
      <label>
        {t("designer.name")}
        <input
          value={draftName}
          onChange={(e) => setDraftName(e.target.value)}
          onBlur={() => {
            if (draftName !== name && nameOk) {
              change(renameField(name, draftName));
              onRenamed(draftName);
            }
          }}
          aria-invalid={!nameOk}
          aria-describedby="prop-name-help"
          data-testid="prop-name"
        />
        <small id="prop-name-help" className={nameOk ? "muted" : "field-error"}>
          {nameOk ? t("designer.nameHelp") : t("designer.nameInvalid")}
        </small>
      </label>
      <label>
        {t("designer.fieldTitle")}
        <input value={schema.title ?? ""} onChange={(e) => keyword("title", e.target.value)} data-testid="prop-title" />
      </label>
      <label>
        {t("designer.help")}
        <textarea rows={2} value={schema.description ?? ""} onChange={(e) => keyword("description", e.target.value)} data-testid="prop-help" />
      </label>
      {kind !== "other" && (
        <label>
          {t("designer.kind")}
          <select value={kind} onChange={(e) => change(changeKind(name, e.target.value as PaletteKind))} data-testid="prop-kind">
            {PALETTE.map((k) => (
              <option key={k} value={k}>
                {t(`designer.kinds.${k}`)}
              </option>
            ))}
          </select>
        </label>
      )}
      <div className="checks">
        <label className="check">
          <input type="checkbox" checked={model.required.includes(name)} onChange={(e) => change(setRequired(name, e.target.checked))} data-testid="prop-required" />
          {t("designer.required")}
        </label>
        <label className="check">
          <input type="checkbox" checked={model.indexes.includes(name)} onChange={(e) => change(setIndexed(name, e.target.checked))} data-testid="prop-index" />
          {t("designer.fastFilter")}
        </label>
      </div>
      <small className="muted">{t("designer.fastFilterHelp")}</small>

      {kind === "link" && (
        <label>
          {t("designer.linkTo")}
          <select value={String(schema["x-ref"] ?? "")} onChange={(e) => keyword("x-ref", e.target.value)} data-testid="prop-ref">
            <option value="">{t("designer.chooseForm")}</option>
            {forms.map((f) => (
              <option key={f.name} value={f.name}>
                {f.definition.title ?? f.name}
              </option>
            ))}
          </select>
        </label>
      )}

      {NUMBER_KINDS.includes(kind) && (
        <div className="pair">
          <label>
            {t("designer.minimum")}
            <input type="number" value={numberText(schema.minimum)} onChange={(e) => keyword("minimum", num(e.target.value))} data-testid="prop-minimum" />
          </label>
          <label>
            {t("designer.maximum")}
            <input type="number" value={numberText(schema.maximum)} onChange={(e) => keyword("maximum", num(e.target.value))} data-testid="prop-maximum" />
          </label>
        </div>
      )}
      {TEXT_KINDS.includes(kind) && (
        <div className="pair">
          <label>
            {t("designer.minLength")}
            <input type="number" min={0} value={numberText(schema.minLength)} onChange={(e) => keyword("minLength", num(e.target.value))} data-testid="prop-minLength" />
          </label>
          <label>
            {t("designer.maxLength")}
            <input type="number" min={0} value={numberText(schema.maxLength)} onChange={(e) => keyword("maxLength", num(e.target.value))} data-testid="prop-maxLength" />
          </label>
        </div>
      )}
      {kind === "text" && (
        <label>
          {t("designer.pattern")}
          <input value={String(schema.pattern ?? "")} onChange={(e) => keyword("pattern", e.target.value)} placeholder="^[A-Z]{2}$" data-testid="prop-pattern" />
        </label>
      )}

      {(kind === "select" || kind === "multiselect") && !isPipelineField && <OptionsEditor model={model} name={name} change={change} />}
      {isPipelineField && <p className="muted small">{t("designer.stageFieldHelp")}</p>}

      {kind !== "other" && !isComputed && <DefaultInput schema={schema} kind={kind} options={optionsOf(model, name)} onChange={(v) => keyword("default", v)} />}

      <label className="check">
        <input
          type="checkbox"
          checked={isComputed}
          onChange={(e) => change(setComputed(name, e.target.checked ? "" : undefined))}
          disabled={isComputed && expr === undefined}
          data-testid="prop-computed"
        />
        {t("designer.computed")}
      </label>
      {isComputed && expr === undefined && <p className="muted small">{t("designer.computedFromFile")}</p>}
      {isComputed && expr !== undefined && (
        <div className="computed-editor">
          <Suspense fallback={<div className="skeleton small-skeleton" aria-busy="true" />}>
            <ScriptEditor
              value={expr}
              onChange={(value) => change(setComputed(name, value))}
              fields={fieldNames(model)}
              problem={outcome?.error}
              label={t("designer.expression", { field: schema.title ?? name })}
              placeholder={t("designer.expressionPlaceholder")}
              testId={`script-computed-${name}`}
            />
          </Suspense>
          <div className="live-result" role="status" data-testid={`computed-result-${name}`}>
            {outcome?.error ? (
              <span className="field-error">{outcome.error.message}</span>
            ) : outcome ? (
              <>
                {t("designer.result")} <code>{JSON.stringify(outcome.value ?? null)}</code>
              </>
            ) : (
              <span className="muted">{t("designer.noResult")}</span>
            )}
          </div>
        </div>
      )}
    </div>
  );
}

const numberText = (value: unknown) => (typeof value === "number" ? String(value) : "");

const COLORS = ["#2f6fdb", "#1a9c5b", "#d98e04", "#d1453b", "#7a5af5", "#6b7280"];

function OptionsEditor({ model, name, change }: { model: DesignModel; name: string; change: (...changes: Change[]) => void }) {
  const { t } = useTranslation();
  const options = optionsOf(model, name);
  const colors = model.colors[name] ?? {};
  const set = (next: string[], renamed: Record<string, string> = {}) => change(setOptions(name, next, renamed));
  return (
    <fieldset className="options">
      <legend>{t("designer.options")}</legend>
      <ol>
        {options.map((option, i) => (
          <li key={i}>
            <input
              aria-label={t("designer.optionValue", { n: i + 1 })}
              value={option}
              onChange={(e) => {
                const next = [...options];
                next[i] = e.target.value;
                set(next, { [option]: e.target.value });
              }}
              data-testid={`option-${i}`}
            />
            <input
              type="color"
              aria-label={t("designer.optionColor", { option })}
              value={colors[option] ?? "#ffffff"}
              onChange={(e) => change(setColor(name, option, e.target.value))}
              data-testid={`option-color-${i}`}
            />
            <button type="button" onClick={() => set(options.filter((_, j) => j !== i))} aria-label={t("designer.remove", { what: option })} disabled={options.length <= 1}>
              ✕
            </button>
          </li>
        ))}
      </ol>
      <button
        type="button"
        onClick={() => {
          let n = options.length + 1;
          while (options.includes(`option_${n}`)) n++;
          const option = `option_${n}`;
          change(setOptions(name, [...options, option]), setColor(name, option, COLORS[options.length % COLORS.length]));
        }}
        data-testid="add-option"
      >
        {t("designer.addOption")}
      </button>
    </fieldset>
  );
}

function DefaultInput({ schema, kind, options, onChange }: { schema: JsonSchema; kind: string; options: string[]; onChange: (value: unknown) => void }) {
  const { t } = useTranslation();
  const value = schema.default;
  if (kind === "multiselect" || kind === "link") return null;
  let input;
  if (kind === "checkbox") {
    input = (
      <select value={value === undefined ? "" : String(value)} onChange={(e) => onChange(e.target.value === "" ? undefined : e.target.value === "true")} data-testid="prop-default">
        <option value="">{t("designer.noDefault")}</option>
        <option value="true">{t("designer.yes")}</option>
        <option value="false">{t("designer.no")}</option>
      </select>
    );
  } else if (kind === "select") {
    input = (
      <select value={value === undefined ? "" : String(value)} onChange={(e) => onChange(e.target.value || undefined)} data-testid="prop-default">
        <option value="">{t("designer.noDefault")}</option>
        {options.map((o) => (
          <option key={o} value={o}>
            {o}
          </option>
        ))}
      </select>
    );
  } else if (NUMBER_KINDS.includes(kind)) {
    input = <input type="number" value={numberText(value)} onChange={(e) => onChange(e.target.value === "" ? undefined : Number(e.target.value))} data-testid="prop-default" />;
  } else {
    const type = kind === "date" ? "date" : "text";
    input = <input type={type} value={value === undefined ? "" : String(value)} onChange={(e) => onChange(e.target.value || undefined)} data-testid="prop-default" />;
  }
  return (
    <label>
      {t("designer.default")}
      {input}
    </label>
  );
}
