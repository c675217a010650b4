// The designer's calls: try a draft on a record (nothing stored), publish it as the form's next
// version (a PUT for a new form, else a merge patch with If-Match on the version it started
// from), and read past versions.
import { api, formPath, Problem } from "../api/client";
import { same } from "../diff";
import type { FormDefinition, StoredForm } from "../schema";
import type { ScriptProblem } from "./ScriptEditor";

export interface DraftEvaluation {
  record: Record<string, unknown>;
  valid: boolean;
  computed: { field: string; path: string; value?: unknown; error?: ScriptProblem }[];
  rules: { name?: string; path: string; field: string; outcome: "passed" | "failed" | "not_boolean" | "error" | "skipped"; error?: ScriptProblem }[];
  errors: { path: string; message: string }[];
}

export async function evaluateDraft(
  space: string,
  form: string,
  definition: FormDefinition,
  record: Record<string, unknown>,
  id: string | undefined,
  signal?: AbortSignal,
): Promise<DraftEvaluation> {
  const body = id ? { definition, record, id } : { definition, record };
  return (await api<DraftEvaluation>(formPath(space, form, "/evaluate"), { method: "POST", body, signal })).body;
}

type Json = unknown;
const isObject = (v: Json): v is Record<string, Json> => typeof v === "object" && v !== null && !Array.isArray(v);

/** The RFC 7396 merge patch turning `before` into `after`, at every depth. */
export function deepMergePatch(before: Json, after: Json): Json {
  if (!isObject(before) || !isObject(after)) return after;
  const patch: Record<string, Json> = {};
  for (const [key, value] of Object.entries(after)) {
    if (!(key in before)) patch[key] = value;
    else if (!same(before[key], value)) patch[key] = deepMergePatch(before[key], value);
  }
  for (const key of Object.keys(before)) if (!(key in after)) patch[key] = null;
  return patch;
}

/** Stores `definition` as the next version; `base` is the version the designer opened (none for a new form). */
export async function publish(space: string, form: string, definition: FormDefinition, base: StoredForm | null, force: boolean): Promise<StoredForm> {
  const query = force ? "?force=true" : "";
  if (!base) return (await api<StoredForm>(formPath(space, form, query), { method: "PUT", body: definition })).body;
  const patch = deepMergePatch(base.definition, definition);
  return (
    await api<StoredForm>(formPath(space, form, query), {
      method: "PATCH",
      body: patch,
      ifMatch: `"${base.version}"`,
      contentType: "application/merge-patch+json",
    })
  ).body;
}

export interface Refusal {
  failing: number;
  examples: { id: string; errors: { path: string; message: string }[] }[];
}

/** The impact a 409 from publishing reports: how many stored records the version rejects, and some of them. */
export function refusal(problem: Problem): Refusal | null {
  if (problem.status !== 409 || typeof problem.body.failing_records !== "number") return null;
  return { failing: problem.body.failing_records, examples: (problem.body.examples ?? []) as Refusal["examples"] };
}

export async function formVersion(space: string, form: string, version: number, signal?: AbortSignal): Promise<StoredForm> {
  return (await api<StoredForm>(formPath(space, form, `?version=${version}`), { signal })).body;
}
