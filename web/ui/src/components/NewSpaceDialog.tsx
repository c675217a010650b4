// Making a space from a template pack (with or without its sample data) or as a copy of
// another space: a name and a title, then one POST. The server's refusal lands on the field it
// names (`/name`, `/title`), anything else shows as the server wrote it.
import { useEffect, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { Problem } from "../api/client";
import { createSpace } from "../api/templates";
import type { Space } from "../schema";
import { ProblemNotice } from "./ProblemNotice";

const SPACE_NAME = /^[a-z][a-z0-9_-]{0,62}$/;

export type NewSpaceSource = { template: string; title: string; sampleRecords: number } | { fromSpace: string; title: string };

/** A free name like `base`, `base-2`, ... */
export function freeName(base: string, taken: string[]): string {
  if (!taken.includes(base)) return base;
  for (let n = 2; ; n++) if (!taken.includes(`${base}-${n}`)) return `${base}-${n}`;
}

export function NewSpaceDialog({ source, taken, onClose, onCreated }: { source: NewSpaceSource; taken: string[]; onClose: () => void; onCreated: (space: Space) => void }) {
  const { t } = useTranslation();
  const base = "template" in source ? source.template : `${source.fromSpace}-copy`;
  const [name, setName] = useState(() => freeName(base, taken));
  const [title, setTitle] = useState("template" in source ? source.title : t("spaceCopy.copyTitle", { title: source.title }));
  const [sample, setSample] = useState(true);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<Problem>();
  const first = useRef<HTMLInputElement>(null);
  useEffect(() => first.current?.focus(), []);
  useEffect(() => {
    const escape = (e: KeyboardEvent) => e.key === "Escape" && onClose();
    window.addEventListener("keydown", escape);
    return () => window.removeEventListener("keydown", escape);
  }, [onClose]);

  const nameTaken = taken.includes(name);
  const localNameError = name && !SPACE_NAME.test(name) ? t("spaceCopy.nameHelp") : nameTaken ? t("spaceCopy.nameTaken") : undefined;
  const serverError = (path: string) => problem?.errors.find((e) => e.path === path)?.message;
  const nameError = localNameError ?? serverError("/name") ?? (problem?.status === 409 ? problem.detail : undefined);
  const titleError = serverError("/title");
  const placed = nameError !== undefined || titleError !== undefined;

  const submit = async () => {
    setBusy(true);
    setProblem(undefined);
    try {
      const body = "template" in source ? { name, title, template: source.template, sample_data: sample } : { name, title, from_space: source.fromSpace };
      onCreated(await createSpace(body));
    } catch (err) {
      setProblem(err instanceof Problem ? err : new Problem(0, { detail: String(err) }));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="modal-backdrop">
      <form
        className="modal new-space"
        role="dialog"
        aria-modal="true"
        aria-labelledby="new-space-title"
        data-testid="new-space-dialog"
        onSubmit={(e) => {
          e.preventDefault();
          if (!localNameError && name && !busy) void submit();
        }}
      >
        <h2 id="new-space-title">{"template" in source ? t("spaceCopy.installTitle", { pack: source.title }) : t("spaceCopy.copyHeading", { space: source.fromSpace })}</h2>
        <p className="muted small">{"template" in source ? t("spaceCopy.installIntro") : t("spaceCopy.copyIntro")}</p>
        <label className="stacked">
          {t("spaceCopy.name")}
          <input ref={first} value={name} onChange={(e) => setName(e.target.value.trim())} aria-invalid={nameError ? true : undefined} aria-describedby="new-space-name-help" data-testid="new-space-name" />
          <small id="new-space-name-help" className={nameError ? "field-error" : "muted"}>
            {nameError ?? t("spaceCopy.nameHelp")}
          </small>
        </label>
        <label className="stacked">
          {t("spaceCopy.title")}
          <input value={title} onChange={(e) => setTitle(e.target.value)} aria-invalid={titleError ? true : undefined} data-testid="new-space-title" />
          {titleError && <small className="field-error">{titleError}</small>}
        </label>
        {"template" in source && source.sampleRecords > 0 && (
          <label className="checkbox">
            <input type="checkbox" checked={sample} onChange={(e) => setSample(e.target.checked)} data-testid="new-space-sample" />
            {t("spaceCopy.sampleData", { count: source.sampleRecords })}
          </label>
        )}
        {problem && !placed && <ProblemNotice problem={problem} />}
        <div className="modal-actions">
          <button type="button" onClick={onClose} data-testid="new-space-cancel">
            {t("spaceCopy.cancel")}
          </button>
          <button type="submit" className="primary" disabled={busy || !name || localNameError !== undefined} data-testid="new-space-submit">
            {busy ? t("spaceCopy.working") : "template" in source ? t("spaceCopy.install") : t("spaceCopy.copy")}
          </button>
        </div>
      </form>
    </div>
  );
}
