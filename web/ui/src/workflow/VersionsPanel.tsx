// A workflow's versions and a part-by-part diff between any two (or the draft): the trigger's
// settings one by one, `when`, each step.
import { useCallback } from "react";
import { useTranslation } from "react-i18next";
import { changeKind, VersionHistory, type DefinitionChange } from "../components/VersionHistory";
import { changes } from "../diff";
import { getWorkflow } from "./api";
import type { WorkflowDefinition } from "./model";

/** A definition flattened for the diff: `trigger.cron`, `when`, `step 2`, `title`... */
export function flatten(definition: WorkflowDefinition | undefined): Record<string, unknown> {
  if (!definition) return {};
  const { trigger, actions, ...rest } = definition;
  const flat: Record<string, unknown> = { ...rest };
  for (const [key, value] of Object.entries(trigger ?? {})) flat[`trigger.${key}`] = value;
  (actions ?? []).forEach((action, i) => (flat[`step ${i + 1}`] = action));
  return flat;
}

export function workflowChanges(before: WorkflowDefinition | undefined, after: WorkflowDefinition | undefined): DefinitionChange[] {
  return changes(flatten(before), flatten(after)).map((c) => ({ what: c.field, kind: changeKind(c.before, c.after), before: c.before, after: c.after }));
}

export function VersionsPanel({ space, name, latest, draft }: { space: string; name: string; latest: number; draft: WorkflowDefinition }) {
  const { t } = useTranslation();
  const load = useCallback((version: number, signal: AbortSignal) => getWorkflow(space, name, version, signal), [space, name]);
  return (
    <div data-testid="workflow-versions">
      <VersionHistory latest={latest} draft={draft} load={load} diff={workflowChanges} strings="workflows.versions" label={t("workflows.tabs.versions")} />
    </div>
  );
}
