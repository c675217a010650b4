// Typed calls for watching a space's workflows work: their runs, the timers that will fire,
// the outbox's deliveries, and the webhook endpoints and inbound hooks they go through.
import { api } from "./client";
import type { Page, Space } from "../schema";

export type RunStatus = "succeeded" | "skipped" | "failed";
export type DeliveryStatus = "pending" | "delivering" | "delivered" | "dead";

export interface Run {
  id: string;
  workflow: string;
  workflow_version: number;
  event: number;
  record: string;
  when: boolean | null;
  status: RunStatus;
  effects: Record<string, unknown>[];
  output: string[];
  error?: string;
  retry_of?: string;
  late?: boolean;
  note?: string;
  started_at: string;
  duration_us: number;
}

export interface Timer {
  id: string;
  kind: "date_offset" | "delay" | "cron" | "sla";
  workflow?: string;
  form?: string;
  record?: string | null;
  offset: string;
  due: string;
  due_local: string;
  timezone: string;
  scheduled_at: string;
}

export interface Attempt {
  at: string;
  status?: number;
  latency_ms: number;
  response?: string;
  error?: string;
}

export interface Delivery {
  id: string;
  space: string;
  workflow: string;
  run: string;
  target: { webhook?: string; url?: string; email?: Record<string, unknown> };
  body: unknown;
  status: DeliveryStatus;
  created_at: string;
  next_attempt_at?: string;
  delivered_at?: string;
  round_attempts: number;
  attempts: Attempt[];
}

export interface Endpoint {
  name: string;
  title?: string;
  url: string;
  headers: Record<string, string>;
  enabled: boolean;
  has_secret: boolean;
  /** Only in the answer to the PUT that generated it. */
  secret?: string;
  created_at: string;
  updated_at: string;
}

export type HookAuth = "signature" | "bearer";

export interface Hook {
  name: string;
  title?: string;
  auth: HookAuth;
  schema?: unknown;
  enabled: boolean;
  has_secret: boolean;
  /** Only in the answer to the PUT that generated it. */
  secret?: string;
  created_at: string;
  updated_at: string;
}

export interface WorkflowVersion {
  name: string;
  version: number;
  definition: {
    title?: string;
    trigger?: { form?: string; hook?: string };
    actions?: Record<string, unknown>[];
    when?: string;
  };
}

const spaceBase = (space: string) => `/api/v1/spaces/${encodeURIComponent(space)}`;

/** `?a=1&b=2` of the parameters that have a value, or "". */
function search(params: Record<string, string | number | undefined | null>): string {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined && value !== null && value !== "") query.set(key, String(value));
  const text = query.toString();
  return text ? `?${text}` : "";
}

export async function getSpace(space: string, signal?: AbortSignal): Promise<Space> {
  return (await api<Space>(spaceBase(space), { signal })).body;
}

export interface RunQuery {
  workflow?: string;
  status?: string;
  record?: string;
  since?: string;
  until?: string;
  limit?: number;
  cursor?: string | null;
}

export async function listRuns(space: string, query: RunQuery, signal?: AbortSignal): Promise<Page<Run>> {
  return (await api<Page<Run>>(`${spaceBase(space)}/runs${search({ ...query })}`, { signal })).body;
}

export async function getRun(space: string, id: string, signal?: AbortSignal): Promise<Run> {
  return (await api<Run>(`${spaceBase(space)}/runs/${encodeURIComponent(id)}`, { signal })).body;
}

export async function retryRun(space: string, id: string): Promise<Run> {
  return (await api<Run>(`${spaceBase(space)}/runs/${encodeURIComponent(id)}/retry`, { method: "POST" })).body;
}

export async function listWorkflows(space: string, signal?: AbortSignal): Promise<WorkflowVersion[]> {
  return (await api<Page<WorkflowVersion>>(`${spaceBase(space)}/workflows`, { signal })).body.items;
}

export async function getWorkflow(space: string, name: string, version?: number, signal?: AbortSignal): Promise<WorkflowVersion> {
  return (await api<WorkflowVersion>(`${spaceBase(space)}/workflows/${encodeURIComponent(name)}${search({ version })}`, { signal })).body;
}

export async function listTimers(space: string, query: { workflow?: string; record?: string; cursor?: string | null }, signal?: AbortSignal): Promise<Page<Timer>> {
  return (await api<Page<Timer>>(`${spaceBase(space)}/timers${search({ ...query, limit: 100 })}`, { signal })).body;
}

export async function listDeliveries(space: string, query: { status?: string; workflow?: string; cursor?: string | null; limit?: number }, signal?: AbortSignal): Promise<Page<Delivery>> {
  return (await api<Page<Delivery>>(`${spaceBase(space)}/deliveries${search({ ...query })}`, { signal })).body;
}

export async function getDelivery(space: string, id: string, signal?: AbortSignal): Promise<Delivery> {
  return (await api<Delivery>(`${spaceBase(space)}/deliveries/${encodeURIComponent(id)}`, { signal })).body;
}

export async function redeliver(space: string, id: string): Promise<Delivery> {
  return (await api<Delivery>(`${spaceBase(space)}/deliveries/${encodeURIComponent(id)}/redeliver`, { method: "POST" })).body;
}

export async function listEndpoints(space: string, signal?: AbortSignal): Promise<Endpoint[]> {
  return (await api<Page<Endpoint>>(`${spaceBase(space)}/webhooks`, { signal })).body.items;
}

export async function putEndpoint(space: string, name: string, definition: Record<string, unknown>): Promise<Endpoint> {
  return (await api<Endpoint>(`${spaceBase(space)}/webhooks/${encodeURIComponent(name)}`, { method: "PUT", body: definition })).body;
}

export async function deleteEndpoint(space: string, name: string): Promise<void> {
  await api(`${spaceBase(space)}/webhooks/${encodeURIComponent(name)}`, { method: "DELETE" });
}

export async function deleteHook(space: string, name: string): Promise<void> {
  await api(`${spaceBase(space)}/hooks/${encodeURIComponent(name)}`, { method: "DELETE" });
}

export async function listHooks(space: string, signal?: AbortSignal): Promise<Hook[]> {
  return (await api<Page<Hook>>(`${spaceBase(space)}/hooks`, { signal })).body.items;
}

export async function putHook(space: string, name: string, definition: Record<string, unknown>): Promise<Hook> {
  return (await api<Hook>(`${spaceBase(space)}/hooks/${encodeURIComponent(name)}`, { method: "PUT", body: definition })).body;
}

/** The URL an outside system posts to for hook `name`. */
export function hookUrl(origin: string, space: string, name: string): string {
  return `${origin}${spaceBase(space)}/hooks/${encodeURIComponent(name)}`;
}

/** How many of its runs failed since `since` and how many deliveries are dead, counted up to
 *  `cap` each (a badge shows "cap+" beyond). A caller who may not read deliveries counts none. */
export async function attentionCounts(space: string, since: string, cap = 99, signal?: AbortSignal): Promise<{ failedRuns: number; deadDeliveries: number }> {
  const [runs, deliveries] = await Promise.all([
    listRuns(space, { status: "failed", since, limit: cap + 1 }, signal).then((page) => page.items.length),
    listDeliveries(space, { status: "dead", limit: cap + 1 }, signal)
      .then((page) => page.items.length)
      .catch(() => 0),
  ]);
  return { failedRuns: runs, deadDeliveries: deliveries };
}
