// The pipeline: which select field holds the stage, the stages in order (title, SLA, checklist),
// and the moves allowed between them as a from × to grid of checkboxes.
import { useTranslation } from "react-i18next";
import type { ChecklistItem, Stage } from "../schema";
import type { FieldError } from "../api/client";
import { addField, allows, setKeyword, fieldKind, fieldNames, freshName, renameStage, setMove, setOptions, setPipeline, setStages, type DesignModel } from "./model";

type Change = (model: DesignModel) => DesignModel;

const SLA = /^\d+[mhdw]$/;
const slug = (text: string) =>
  text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "");

/** Checklist items may be written as bare strings (id and label at once). */
const items = (stage: Stage): ChecklistItem[] => (stage.checklist ?? []).map((i) => (typeof i === "string" ? { id: i, label: i } : i));

export function PipelineTab({ model, change, errors }: { model: DesignModel; change: (...c: Change[]) => void; errors: FieldError[] }) {
  const { t } = useTranslation();
  const pipeline = model.pipeline;
  const selects = fieldNames(model).filter((n) => fieldKind(model, n) === "select");
  const stages = pipeline?.stages ?? [];
  const setStage = (i: number, patch: Partial<Stage>) => change(setStages(stages.map((s, j) => (j === i ? { ...s, ...patch } : s))));
  const createStageField = () => {
    const name = "stage" in model.properties ? freshName(model, "stage") : "stage";
    change(addField("select", name), setOptions(name, ["stage_1"]), setKeyword(name, "title", t("designer.stageFieldTitle")), setPipeline(name));
  };

  const mine = errors.filter((e) => e.path.startsWith("/pipeline"));
  return (
    <section className="pipeline-editor" aria-label={t("designer.tabs.pipeline")}>
      {mine.map((e, i) => (
        <div key={i} className="field-error" role="alert" data-testid="pipeline-error">
          <code>{e.path}</code> {e.message}
        </div>
      ))}
      <div className="rule-row">
        <label>
          {t("designer.stageField")}
          <select value={pipeline?.field ?? ""} onChange={(e) => change(setPipeline(e.target.value || undefined))} data-testid="pipeline-field">
            <option value="">{t("designer.noPipeline")}</option>
            {selects.map((n) => (
              <option key={n} value={n}>
                {String(model.properties[n]?.title ?? n)}
              </option>
            ))}
          </select>
        </label>
        {!pipeline && (
          <button type="button" onClick={createStageField} data-testid="create-pipeline">
            {t("designer.createPipeline")}
          </button>
        )}
      </div>
      {pipeline && (
        <>
          <h3>{t("designer.stages")}</h3>
          <ol className="stages">
            {stages.map((stage, i) => (
              <li key={i} className="card stage" data-testid={`stage-${i}`}>
                <div className="rule-row">
                  <label>
                    {t("designer.stageTitle")}
                    <input
                      value={stage.title ?? ""}
                      onChange={(e) => {
                        const title = e.target.value;
                        const generated = !stage.title || slug(stage.title) === stage.name;
                        const name = slug(title);
                        if (generated && name && !stages.some((s, j) => j !== i && s.name === name)) {
                          change(renameStage(stage.name, name), (m) => setStages((m.pipeline?.stages ?? []).map((s, j) => (j === i ? { ...s, title } : s)))(m));
                        } else setStage(i, { title: title || undefined });
                      }}
                      data-testid={`stage-title-${i}`}
                    />
                  </label>
                  <label>
                    {t("designer.stageName")}
                    <input
                      value={stage.name}
                      onChange={(e) => change(renameStage(stage.name, e.target.value))}
                      data-testid={`stage-name-${i}`}
                    />
                  </label>
                  <label>
                    {t("designer.sla")}
                    <input
                      value={stage.sla ?? ""}
                      placeholder="3d"
                      onChange={(e) => setStage(i, { sla: e.target.value || undefined })}
                      aria-invalid={!!stage.sla && !SLA.test(stage.sla)}
                      data-testid={`stage-sla-${i}`}
                    />
                  </label>
                  <span className="stage-buttons">
                    <button type="button" disabled={i === 0} onClick={() => change(setStages(swap(stages, i, i - 1)))} aria-label={t("designer.moveUp", { what: stage.title ?? stage.name })}>
                      ↑
                    </button>
                    <button type="button" disabled={i === stages.length - 1} onClick={() => change(setStages(swap(stages, i, i + 1)))} aria-label={t("designer.moveDown", { what: stage.title ?? stage.name })}>
                      ↓
                    </button>
                    <button type="button" disabled={stages.length <= 1} onClick={() => change(setStages(stages.filter((_, j) => j !== i)))} aria-label={t("designer.remove", { what: stage.title ?? stage.name })}>
                      ✕
                    </button>
                  </span>
                </div>
                <small className="muted">{t("designer.slaHelp")}</small>
                <fieldset className="checklist-editor">
                  <legend>{t("designer.checklist")}</legend>
                  <ul>
                    {items(stage).map((item, k) => (
                      <li key={k}>
                        <input
                          aria-label={t("designer.checklistItem", { n: k + 1 })}
                          value={item.label}
                          onChange={(e) => {
                            const label = e.target.value;
                            const next = items(stage).map((it, j) => (j === k ? { id: it.id.startsWith("item_") || it.id === slug(it.label) ? slug(label) || it.id : it.id, label } : it));
                            setStage(i, { checklist: next });
                          }}
                          data-testid={`checklist-${i}-${k}`}
                        />
                        <button type="button" onClick={() => setStage(i, { checklist: items(stage).filter((_, j) => j !== k) })} aria-label={t("designer.remove", { what: item.label })}>
                          ✕
                        </button>
                      </li>
                    ))}
                  </ul>
                  <button
                    type="button"
                    onClick={() => setStage(i, { checklist: [...items(stage), { id: `item_${items(stage).length + 1}`, label: "" }] })}
                    data-testid={`add-checklist-${i}`}
                  >
                    {t("designer.addChecklistItem")}
                  </button>
                </fieldset>
              </li>
            ))}
          </ol>
          <button
            type="button"
            onClick={() => {
              let n = stages.length + 1;
              while (stages.some((s) => s.name === `stage_${n}`)) n++;
              change(setStages([...stages, { name: `stage_${n}` }]));
            }}
            data-testid="add-stage"
          >
            {t("designer.addStage")}
          </button>

          <h3>{t("designer.moves")}</h3>
          <p className="muted small">{t("designer.movesHelp")}</p>
          <table className="moves-grid" data-testid="moves-grid">
            <thead>
              <tr>
                <th scope="col">{t("designer.fromTo")}</th>
                {stages.map((s) => (
                  <th key={s.name} scope="col">
                    {s.title ?? s.name}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {stages.map((from) => (
                <tr key={from.name}>
                  <th scope="row">{from.title ?? from.name}</th>
                  {stages.map((to) => (
                    <td key={to.name}>
                      {from.name === to.name ? (
                        <span className="muted" aria-hidden="true">
                          —
                        </span>
                      ) : (
                        <input
                          type="checkbox"
                          checked={allows(pipeline, from.name, to.name)}
                          onChange={(e) => change(setMove(from.name, to.name, e.target.checked))}
                          aria-label={t("designer.move", { from: from.title ?? from.name, to: to.title ?? to.name })}
                          data-testid={`move-${from.name}-${to.name}`}
                        />
                      )}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}

function swap<T>(list: T[], a: number, b: number): T[] {
  const next = [...list];
  [next[a], next[b]] = [next[b], next[a]];
  return next;
}
