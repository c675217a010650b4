// The logic behind the pages that watch workflows work, apart from React: where a run's
// error points in its workflow's scripts, what its effects link to, and the shell command an
// outside system can post to an inbound hook with.
import type { HookAuth, Run, WorkflowVersion } from "./api/watching";

/** Where in a workflow a script error happened: which script (`when` or action `action`'s
 *  script, body or field) and its 1-based line and column. */
export interface ScriptPlace {
  /** The action's index, or null for `when`. */
  action: number | null;
  /** The script's role in the action: "script", "set `health`", "notify body"… */
  part: string;
  line: number;
  column?: number;
}

/** Reads a run's error (`workflow s/w, action 0 script: line 7, column 13: …`) for its place. */
export function scriptPlace(error: string | undefined): ScriptPlace | null {
  if (!error) return null;
  const found = /, (when|action (\d+) ([^:]+)): line (\d+)(?:, column (\d+))?:/.exec(error);
  if (!found) return null;
  const column = found[5] ? Number(found[5]) : undefined;
  if (found[1] === "when") return { action: null, part: "when", line: Number(found[4]), column };
  return { action: Number(found[2]), part: found[3], line: Number(found[4]), column };
}

/** The source of the script a place points at, when the workflow's definition has it. */
export function scriptSource(workflow: WorkflowVersion | undefined, place: ScriptPlace): string | null {
  const definition = workflow?.definition;
  if (!definition) return null;
  if (place.action === null) return definition.when ?? null;
  const action = definition.actions?.[place.action];
  if (!action) return null;
  if (place.part === "script" && typeof action.script === "string") return action.script;
  const notify = action.notify as Record<string, unknown> | undefined;
  if (place.part === "notify body" && typeof notify?.body === "string") return notify.body;
  const field = /^(?:set|create) `(.+)`$/.exec(place.part)?.[1];
  if (field) {
    const values = (action.set ?? (action.create as Record<string, unknown> | undefined)?.data) as Record<string, unknown> | undefined;
    const source = values?.[field];
    if (typeof source === "string") return source;
  }
  return null;
}

/** A few lines around `line` of `source`, numbered, the line itself marked. */
export function excerpt(source: string, line: number, around = 3): { number: number; text: string; at: boolean }[] {
  const lines = source.replace(/\n$/, "").split("\n");
  const from = Math.max(1, line - around);
  const to = Math.min(lines.length, line + around);
  const shown = [];
  for (let n = from; n <= to; n++) shown.push({ number: n, text: lines[n - 1], at: n === line });
  return shown;
}

/** A link an effect leads to: a record page or a delivery. */
export interface EffectLink {
  kind: "record" | "delivery";
  href: string;
  label: string;
}

/** The nil UUID: a run without a triggering record (manual, cron, hook). */
export const NIL = "00000000-0000-0000-0000-000000000000";

/** The page of a record, of a delivery. */
export const recordHref = (space: string, form: string, id: string) => `/s/${encodeURIComponent(space)}/${encodeURIComponent(form)}/r/${encodeURIComponent(id)}`;
export const deliveryHref = (space: string, id: string) => `/space/${encodeURIComponent(space)}/deliveries/${encodeURIComponent(id)}`;
export const runHref = (space: string, id: string) => `/space/${encodeURIComponent(space)}/runs/${encodeURIComponent(id)}`;

/** What one of a run's effects links to: the record it changed or created, the delivery it
 *  queued. `form` is the triggering record's form (the workflow's trigger). */
export function effectLinks(space: string, run: Run, form: string | undefined, effect: Record<string, unknown>): EffectLink[] {
  const [kind] = Object.keys(effect);
  const value = effect[kind] as Record<string, unknown> | undefined;
  const own = form && run.record !== NIL ? [{ kind: "record" as const, href: recordHref(space, form, run.record), label: run.record }] : [];
  switch (kind) {
    case "set":
    case "assign":
    case "transition":
      return own;
    case "create":
      return typeof value?.form === "string" && typeof value?.id === "string"
        ? [{ kind: "record", href: recordHref(space, value.form, value.id), label: value.id }]
        : [];
    case "notify":
      return typeof value?.delivery === "string" ? [{ kind: "delivery", href: deliveryHref(space, value.delivery), label: value.delivery }] : [];
    case "script":
      // What a script asked for: `update`/`transition` of the triggering record, or
      // `update_record` of another; a script's creations and notifications carry no id.
      if (value?.effect === "update" || value?.effect === "transition") return own;
      return value?.effect === "update_record" && typeof value.form === "string" && typeof value.id === "string"
        ? [{ kind: "record", href: recordHref(space, value.form, value.id), label: value.id }]
        : [];
    default:
      return [];
  }
}

/** A badge's text: the count, or `cap+` beyond it; empty for none. */
export function badgeText(count: number, cap = 99): string {
  if (count <= 0) return "";
  return count > cap ? `${cap}+` : String(count);
}

/** `value` as one shell word. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** A JSON body that fits a hook's schema well enough to try it: each declared property with
 *  a placeholder of its type (the first of an enum); `{"event": "test"}` without a schema. */
export function sampleBody(schema: unknown): unknown {
  const s = schema as { properties?: Record<string, { type?: string | string[]; enum?: unknown[] }> } | undefined;
  if (!s?.properties) return { event: "test" };
  const body: Record<string, unknown> = {};
  for (const [name, property] of Object.entries(s.properties)) {
    const type = Array.isArray(property.type) ? property.type[0] : property.type;
    if (property.enum?.length) body[name] = property.enum[0];
    else if (type === "integer" || type === "number") body[name] = 0;
    else if (type === "boolean") body[name] = false;
    else if (type === "array") body[name] = [];
    else if (type === "object") body[name] = {};
    else body[name] = "text";
  }
  return body;
}

/** A POSIX shell command that posts `body` to an inbound hook the way the server checks it:
 *  a Standard Webhooks signature (HMAC-SHA256 over `id.timestamp.body` with the secret's key,
 *  via openssl) or the secret as a bearer token. Without the secret (it is shown once), the
 *  command reads it from `TEND_HOOK_SECRET`. */
export function senderCommand(url: string, auth: HookAuth, body: unknown, secret?: string): string {
  const lines = [
    secret ? `SECRET=${shellQuote(secret)}` : `SECRET="\${TEND_HOOK_SECRET:?set TEND_HOOK_SECRET to the hook's secret}"`,
    `BODY=${shellQuote(JSON.stringify(body))}`,
  ];
  const post = [`curl -sS -X POST ${shellQuote(url)}`, `-H 'content-type: application/json'`];
  if (auth === "bearer") {
    post.push(`-H "authorization: Bearer $SECRET"`);
  } else {
    lines.push(
      `ID="msg_$(date +%s)_$$"`,
      `TS="$(date +%s)"`,
      `KEY="$(printf %s "\${SECRET#whsec_}" | base64 -d | od -An -v -tx1 | tr -d ' \\n')"`,
      `SIG="$(printf %s "$ID.$TS.$BODY" | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$KEY" -binary | base64)"`,
    );
    post.push(`-H "webhook-id: $ID"`, `-H "webhook-timestamp: $TS"`, `-H "webhook-signature: v1,$SIG"`);
  }
  post.push(`--data-binary "$BODY"`);
  return [...lines, post.join(" \\\n  ")].join("\n");
}
