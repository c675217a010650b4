// A form's versions and a field-level diff between any two of them (or the draft): which
// fields were added, removed or changed, and what else changed (rules, pipeline, indexes...).
import { useCallback } from "react";
import { useTranslation } from "react-i18next";
import { changeKind, VersionHistory, type DefinitionChange } from "../components/VersionHistory";
import { changes } from "../diff";
import type { FormDefinition } from "../schema";
import { formVersion } from "./api";

/** Field by field, then the other parts of the definition (`rules`, `pipeline`... prefixed with `@`). */
export function definitionChanges(before: FormDefinition | undefined, after: FormDefinition | undefined): DefinitionChange[] {
  const fields = changes(before?.schema.properties, after?.schema.properties).map((c) => ({ what: c.field, kind: changeKind(c.before, c.after), before: c.before, after: c.after }));
  const rest = (d?: FormDefinition) => {
    if (!d) return {};
    const { schema, ...others } = d;
    const { properties: _properties, ...root } = schema;
    return { ...others, schema: root } as Record<string, unknown>;
  };
  const parts = changes(rest(before), rest(after)).map((c) => ({ what: `@${c.field}`, kind: changeKind(c.before, c.after), before: c.before, after: c.after }));
  return [...fields, ...parts];
}

export function VersionsTab({ space, form, latest, draft }: { space: string; form: string; latest: number; draft: FormDefinition }) {
  const { t } = useTranslation();
  const load = useCallback((version: number, signal: AbortSignal) => formVersion(space, form, version, signal), [space, form]);
  return (
    <VersionHistory
      latest={latest}
      draft={draft}
      load={load}
      diff={definitionChanges}
      describe={(what) => (what.startsWith("@") ? t("designer.part", { part: what.slice(1) }) : what)}
      strings="designer"
      label={t("designer.tabs.versions")}
    />
  );
}
