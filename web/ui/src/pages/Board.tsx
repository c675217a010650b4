// The kanban board of a form: columns are the pipeline's stages (dragging a card is a
// transition) or the options of any single-select field (`?by=field`; dragging sets it). The
// move shows at once and snaps back with the server's reason when it is refused.
import { useMemo, useState } from "react";
import { useTranslation } from "react-i18next";
import { DndContext, KeyboardSensor, PointerSensor, useDraggable, useDroppable, useSensor, useSensors, type DragEndEvent } from "@dnd-kit/core";
import { Problem } from "../api/client";
import { getForm, listRecords, patchRecord, transition } from "../api/tend";
import { ProblemNotice } from "../components/ProblemNotice";
import { useLoad } from "../hooks/useApi";
import { personName } from "../hooks/usePeople";
import { refName, useRefNames } from "../hooks/useRefNames";
import { Link, navigate, setQuery, useLocation } from "../router";
import { fieldLabel, fields as formFields, recordTitle, singleSelectFields, type StoredForm, type TendRecord } from "../schema";

const PER_COLUMN = 200;

export default function BoardPage({ space, form }: { space: string; form: string }) {
  const stored = useLoad((signal) => getForm(space, form, signal), [space, form]);
  if (stored.problem) return <ProblemNotice problem={stored.problem} onRetry={stored.reload} />;
  if (!stored.data) return <div className="skeleton" aria-busy="true" />;
  return <Board space={space} stored={stored.data} />;
}

function Board({ space, stored }: { space: string; stored: StoredForm }) {
  const { t } = useTranslation();
  const location = useLocation();
  const definition = stored.definition;
  const selects = singleSelectFields(definition);
  const pipeline = definition.pipeline;
  const by = location.query.get("by") ?? pipeline?.field ?? selects[0]?.name ?? "";
  const usesPipeline = pipeline !== undefined && by === pipeline.field;
  const columns = useMemo(() => {
    if (usesPipeline && pipeline) return pipeline.stages.map((s) => ({ value: s.name, title: s.title ?? s.name }));
    const field = formFields(definition).find((f) => f.name === by);
    return (field?.options ?? []).map((o) => ({ value: o, title: o }));
  }, [usesPipeline, pipeline, definition, by]);
  const cards = useLoad(
    async (signal) => {
      const lists = await Promise.all(columns.map((c) => listRecords(space, stored.name, { filter: `${by} = ${JSON.stringify(c.value)}`, limit: PER_COLUMN }, signal)));
      return lists.flatMap((l) => l.items);
    },
    [space, stored.name, by, columns.map((c) => c.value).join("\n")],
  );
  const [moved, setMoved] = useState<Record<string, TendRecord>>({});
  const [refusal, setRefusal] = useState<string | null>(null);
  const records = useMemo(() => (cards.data ?? []).map((r) => moved[r.id] ?? r), [cards.data, moved]);
  const refField = formFields(definition).find((f) => f.ref);
  useRefNames(space, refField ? records.map((r) => ({ form: refField.ref as string, id: String(r.data[refField.name] ?? "") })) : []);
  const sensors = useSensors(useSensor(PointerSensor, { activationConstraint: { distance: 5 } }), useSensor(KeyboardSensor));

  const move = async (record: TendRecord, to: string) => {
    if (record.data[by] === to) return;
    setRefusal(null);
    // Optimistic: the card moves now, and back if the server refuses.
    setMoved((m) => ({ ...m, [record.id]: { ...record, data: { ...record.data, [by]: to } } }));
    try {
      const next = usesPipeline ? await transition(space, stored.name, record, to) : await patchRecord(space, stored.name, record.id, { [by]: to }, record.version);
      setMoved((m) => ({ ...m, [record.id]: next }));
    } catch (err) {
      setMoved((m) => ({ ...m, [record.id]: record }));
      setRefusal(err instanceof Problem ? err.detail : String(err));
    }
  };
  const onDragEnd = (event: DragEndEvent) => {
    const record = records.find((r) => r.id === event.active.id);
    if (record && event.over) void move(record, String(event.over.id));
  };
  // The card's second line: whose it is, by name.
  const personField = formFields(definition).find((f) => f.person);
  const personOf = (record: TendRecord) => {
    const value = personField ? record.data[personField.name] : undefined;
    return typeof value === "string" ? personName(value) ?? value : "";
  };
  const subtitle = (record: TendRecord) => {
    const name = recordTitle(record, definition);
    if (refField && record.data[refField.name]) return refName(refField.ref as string, String(record.data[refField.name])) ?? name;
    return name;
  };

  return (
    <section className="board-page">
      <header className="page-header">
        <h1>{t("board.title", { form: definition.title ?? stored.name })}</h1>
        <label className="inline">
          {t("board.by")}
          <select value={by} onChange={(e) => setQuery({ by: e.target.value })} data-testid="board-by">
            {pipeline && <option value={pipeline.field}>{fieldLabel(pipeline.field)}</option>}
            {selects
              .filter((f) => f.name !== pipeline?.field)
              .map((f) => (
                <option key={f.name} value={f.name}>
                  {fieldLabel(f.name, f.schema)}
                </option>
              ))}
          </select>
        </label>
        <span className="spacer" />
        <Link href={`/s/${encodeURIComponent(space)}/${encodeURIComponent(stored.name)}`}>{definition.title ?? stored.name}</Link>
      </header>
      {refusal && (
        <p className="notice error" role="alert" data-testid="board-refusal">
          {t("board.refused", { detail: refusal })}
        </p>
      )}
      {cards.problem && <ProblemNotice problem={cards.problem} onRetry={cards.reload} />}
      <DndContext sensors={sensors} onDragEnd={onDragEnd}>
        <div className="board" data-testid="board">
          {columns.map((column) => {
            const inColumn = records.filter((r) => r.data[by] === column.value);
            return (
              <Column key={column.value} id={column.value} title={column.title} count={inColumn.length}>
                {inColumn.length === 0 && <p className="muted small">{t("board.empty")}</p>}
                {inColumn.map((record) => (
                  <Card
                    key={record.id}
                    record={record}
                    title={subtitle(record)}
                    detail={personOf(record)}
                    columns={columns}
                    onMove={(to) => void move(record, to)}
                    onOpen={() => navigate(`/s/${encodeURIComponent(space)}/${encodeURIComponent(stored.name)}/r/${record.id}`)}
                  />
                ))}
              </Column>
            );
          })}
        </div>
      </DndContext>
    </section>
  );
}

function Column({ id, title, count, children }: { id: string; title: string; count: number; children: React.ReactNode }) {
  const { setNodeRef, isOver } = useDroppable({ id });
  return (
    <section ref={setNodeRef} className={`board-column ${isOver ? "over" : ""}`} aria-label={title} data-testid={`column-${id}`}>
      <h2>
        {title} <span className="muted">{count}</span>
      </h2>
      <div className="cards">{children}</div>
    </section>
  );
}

interface CardProps {
  record: TendRecord;
  title: string;
  detail: string;
  columns: { value: string; title: string }[];
  onMove: (to: string) => void;
  onOpen: () => void;
}

/** A card: dragged with a pointer, or moved with its "move to" list from the keyboard. */
function Card({ record, title, detail, columns, onMove, onOpen }: CardProps) {
  const { t } = useTranslation();
  const { attributes, listeners, setNodeRef, transform, isDragging } = useDraggable({ id: record.id });
  const style = transform ? { transform: `translate3d(${transform.x}px, ${transform.y}px, 0)` } : undefined;
  return (
    <article ref={setNodeRef} style={style} className={`card-item ${isDragging ? "dragging" : ""}`} {...attributes} {...listeners} data-testid="board-card" data-id={record.id}>
      <button type="button" className="card-title link-button" onClick={onOpen}>
        {title}
      </button>
      {detail && <div className="muted small">{detail}</div>}
      <label className="visually-hidden-until-focus">
        <span className="visually-hidden">{t("board.moveCard", { card: title })}</span>
        <select value="" onChange={(e) => e.target.value && onMove(e.target.value)} onPointerDown={(e) => e.stopPropagation()} onKeyDown={(e) => e.stopPropagation()} data-testid="card-move">
          <option value="">{t("board.moveTo")}</option>
          {columns.map((c) => (
            <option key={c.value} value={c.value}>
              {c.title}
            </option>
          ))}
        </select>
      </label>
    </article>
  );
}
