// Server errors placed where they happen: each `errors[].path` of a problem is a JSON pointer
// into the record's data; @rjsf shows an ErrorSchema (`{field: {__errors: [...]}}`) at fields.
import type { FieldError } from "./api/client";

export interface ErrorSchema {
  __errors?: string[];
  [key: string]: ErrorSchema | string[] | undefined;
}

/** Unescapes one RFC 6901 reference token. */
function token(part: string): string {
  return part.replace(/~1/g, "/").replace(/~0/g, "~");
}

/** The ErrorSchema for `errors`, and the messages that name no field (pointer "" or "/"). */
export function errorSchemaFrom(errors: FieldError[]): { schema: ErrorSchema; general: string[] } {
  const schema: ErrorSchema = {};
  const general: string[] = [];
  for (const { path, message } of errors) {
    const parts = path.split("/").slice(1).map(token).filter((p) => p !== "");
    if (parts.length === 0) {
      general.push(message);
      continue;
    }
    let node: ErrorSchema = schema;
    for (const part of parts) {
      const next = node[part];
      if (next === undefined || Array.isArray(next)) node[part] = {};
      node = node[part] as ErrorSchema;
    }
    node.__errors = [...(node.__errors ?? []), message];
  }
  return { schema, general };
}

/** The top-level field a pointer names (`/address/city` → `address`), or null. */
export function fieldOfPointer(path: string): string | null {
  const first = path.split("/")[1];
  return first ? token(first) : null;
}
