// Imports and exports of a form's records. An import is one POST of the file with its options
// in the query string; it goes through XMLHttpRequest rather than fetch because only XHR
// reports upload progress. An export is a plain GET the browser downloads (the session cookie
// goes along), so its URL is all the grid needs.
import { formPath, Problem, SIGNED_OUT } from "./client";

/** A column of the file and the field it fills (none: left out). */
export interface ColumnMatch {
  header: string;
  field: string | null;
}

export interface RowError {
  row: number;
  column?: string;
  field?: string;
  message: string;
}

export interface ImportOutcome {
  columns: ColumnMatch[];
  dry_run: boolean;
  mode: "all" | "resumable";
  rows: number;
  created: number;
  updated: number;
  unchanged: number;
  failed: number;
  stored: boolean;
  stored_through: number | null;
  errors: RowError[];
  errors_truncated: boolean;
}

export interface ImportOptions {
  /** Each column's field, `null` to leave it out; none at all: matched by the server. */
  mapping?: ColumnMatch[];
  /** Upsert by this indexed field. */
  key?: string;
  workflows: boolean;
  /** Store the valid rows even when some fail. */
  skipFailed: boolean;
  dryRun: boolean;
}

export type ExportFormat = "csv" | "xlsx" | "ndjson";

/** The query string of an import. */
export function importQuery(options: ImportOptions): URLSearchParams {
  const query = new URLSearchParams();
  for (const column of options.mapping ?? []) query.append("map", `${column.header}:${column.field ?? ""}`);
  if (options.key) query.set("key", options.key);
  if (!options.workflows) query.set("workflows", "false");
  if (options.skipFailed) query.set("mode", "resumable");
  if (options.dryRun) query.set("dry_run", "true");
  return query;
}

/** The format the server should read, from the file's name (it sniffs the content otherwise). */
export function fileFormat(name: string): ExportFormat | undefined {
  const lower = name.toLowerCase();
  if (lower.endsWith(".csv") || lower.endsWith(".txt")) return "csv";
  if (lower.endsWith(".xlsx")) return "xlsx";
  if (lower.endsWith(".ndjson") || lower.endsWith(".jsonl")) return "ndjson";
  return undefined;
}

/** Uploads `file` to the import route; `onProgress` gets the share of the file sent (0..1). */
export function importFile(
  space: string,
  form: string,
  file: File,
  options: ImportOptions,
  onProgress?: (sent: number) => void,
): Promise<ImportOutcome> {
  const query = importQuery(options);
  const format = fileFormat(file.name);
  if (format) query.set("format", format);
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open("POST", formPath(space, form, `/import?${query.toString()}`));
    request.setRequestHeader("Accept", "application/json");
    request.withCredentials = true;
    request.upload.onprogress = (event) => {
      if (event.lengthComputable && event.total > 0) onProgress?.(event.loaded / event.total);
    };
    request.onerror = () => reject(new Problem(0, { detail: "network error" }));
    request.onload = () => {
      let body: unknown = null;
      try {
        body = request.responseText ? JSON.parse(request.responseText) : null;
      } catch {
        body = { detail: request.responseText };
      }
      if (request.status >= 200 && request.status < 300) resolve(body as ImportOutcome);
      else {
        if (request.status === 401) window.dispatchEvent(new Event(SIGNED_OUT));
        reject(new Problem(request.status, (body ?? {}) as Record<string, unknown>));
      }
    };
    request.send(file);
  });
}

/** The download URL of the grid's current view. */
export function exportUrl(space: string, form: string, format: ExportFormat, view: { filter: string; sort: string; columns: string[] }): string {
  const query = new URLSearchParams({ format });
  if (view.filter) query.set("filter", view.filter);
  if (view.sort) query.set("sort", view.sort);
  if (view.columns.length > 0) query.set("fields", ["id", ...view.columns.filter((c) => c !== "id")].join(","));
  return formPath(space, form, `/export?${query.toString()}`);
}
