// The builder's calls: a space's workflows and one of them (any version), saving the next
// version (a PUT for a new workflow, else a merge patch with If-Match on the version the builder
// opened), the dry run and the manual run, the last run of each workflow, and the pickers' lists
// (webhook endpoints, inbound hooks, members).
import { api } from "../api/client";
import { deepMergePatch } from "../designer/api";
import type { FieldError } from "../api/client";
import type { Page, Space, TendRecord } from "../schema";
import type { StoredWorkflow, WorkflowDefinition } from "./model";

const base = (space: string) => `/api/v1/spaces/${encodeURIComponent(space)}`;
const workflowPath = (space: string, name: string, rest = "") => `${base(space)}/workflows/${encodeURIComponent(name)}${rest}`;

/** The space's own time zone (timers use it when a workflow names none); undefined: UTC. */
export async function spaceZone(space: string, signal?: AbortSignal): Promise<string | undefined> {
  return (await api<Space>(base(space), { signal })).body.timezone;
}

export async function listWorkflows(space: string, signal?: AbortSignal): Promise<StoredWorkflow[]> {
  return (await api<Page<StoredWorkflow>>(`${base(space)}/workflows`, { signal })).body.items;
}

export async function getWorkflow(space: string, name: string, version?: number, signal?: AbortSignal): Promise<StoredWorkflow> {
  return (await api<StoredWorkflow>(workflowPath(space, name, version ? `?version=${version}` : ""), { signal })).body;
}

/** A stored version and what the server warns about it (a webhook endpoint not defined...). */
export type Saved = StoredWorkflow & { warnings: FieldError[] };

export async function saveWorkflow(space: string, name: string, definition: WorkflowDefinition, opened: StoredWorkflow | null): Promise<Saved> {
  if (!opened) return (await api<Saved>(workflowPath(space, name), { method: "PUT", body: definition })).body;
  return (
    await api<Saved>(workflowPath(space, name), {
      method: "PATCH",
      body: deepMergePatch(opened.definition, definition),
      ifMatch: `"${opened.version}"`,
      contentType: "application/merge-patch+json",
    })
  ).body;
}

export interface Run {
  id: string;
  workflow: string;
  workflow_version: number;
  record: string;
  when: boolean | null;
  status: "succeeded" | "skipped" | "failed";
  effects: unknown[];
  output: string[];
  error?: string;
  started_at: string;
}

export interface Delivery {
  id: string;
  target: unknown;
  body?: unknown;
  status?: string;
}

export interface DryRun {
  run: Run;
  records: TendRecord[];
  deliveries: Delivery[];
}

export interface DryRunInput {
  record_id?: string;
  record?: Record<string, unknown>;
  old?: Record<string, unknown>;
  event?: string;
}

export async function dryRun(space: string, name: string, input: DryRunInput): Promise<DryRun> {
  return (await api<DryRun>(workflowPath(space, name, "/test"), { method: "POST", body: input })).body;
}

export async function runNow(space: string, name: string, record?: string): Promise<Run> {
  return (await api<Run>(workflowPath(space, name, "/run"), { method: "POST", body: record ? { record } : {} })).body;
}

export async function lastRun(space: string, workflow: string, signal?: AbortSignal): Promise<Run | null> {
  const query = new URLSearchParams({ workflow, limit: "1" });
  return (await api<Page<Run>>(`${base(space)}/runs?${query}`, { signal })).body.items[0] ?? null;
}

export interface Named {
  name: string;
  title?: string;
  enabled?: boolean;
}

export async function listEndpoints(space: string, signal?: AbortSignal): Promise<Named[]> {
  return (await api<Page<Named>>(`${base(space)}/webhooks`, { signal })).body.items;
}

export async function listHooks(space: string, signal?: AbortSignal): Promise<Named[]> {
  return (await api<Page<Named>>(`${base(space)}/hooks`, { signal })).body.items;
}

export { listMembers, type Member } from "../api/tend";
