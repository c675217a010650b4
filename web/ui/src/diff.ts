// Comparing record data: what a save must send (an RFC 7396 merge patch of what changed) and
// what changed between two versions (for the conflict dialog and the history timeline).

type Data = Record<string, unknown>;

/** JSON text with every object's keys sorted: equal values give equal text whatever the key order
 * (the server stores definitions with sorted keys; the app writes them in display order). */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_, v: unknown) =>
    typeof v === "object" && v !== null && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

export const same = (a: unknown, b: unknown) => canonical(a) === canonical(b);

/** The merge patch turning `before` into `after` at the top level (removed keys → null). */
export function mergePatch(before: Data, after: Data): Data {
  const patch: Data = {};
  for (const [key, value] of Object.entries(after)) if (!same(before[key], value)) patch[key] = value;
  for (const key of Object.keys(before)) if (!(key in after)) patch[key] = null;
  return patch;
}

export interface FieldChange {
  field: string;
  before: unknown;
  after: unknown;
}

/** Every top-level field whose value differs, in a stable order. */
export function changes(before: Data | null | undefined, after: Data | null | undefined): FieldChange[] {
  const a = before ?? {};
  const b = after ?? {};
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return keys.filter((k) => !same(a[k], b[k])).map((field) => ({ field, before: a[field], after: b[field] }));
}

const isObject = (v: unknown): v is Data => typeof v === "object" && v !== null && !Array.isArray(v);

/** Like [`changes`], with changed objects (a checklist) opened one level: `checklist.sso`. */
export function flatChanges(before: Data | null | undefined, after: Data | null | undefined): FieldChange[] {
  return changes(before, after).flatMap((change) =>
    isObject(change.before) || isObject(change.after)
      ? changes(isObject(change.before) ? change.before : {}, isObject(change.after) ? change.after : {}).map((inner) => ({
          ...inner,
          field: `${change.field}.${inner.field}`,
        }))
      : [change],
  );
}
