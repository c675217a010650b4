// Typed calls for dashboards: their definitions, their per-widget numbers, and the owners a
// dashboard can be narrowed to.
import { api } from "./client";
import type { Page } from "../schema";

export type WidgetKind = "kpi" | "bar" | "line" | "pie" | "donut" | "funnel" | "table";
export type NumberFormat = "number" | "percent" | "currency";

export interface GroupBy {
  field: string;
  bucket?: "day" | "week" | "month" | "quarter" | "year";
  bins?: number[];
  as?: string;
}

export interface AggregateQuery {
  filter?: string;
  group_by?: (string | GroupBy)[];
  metrics?: { op: string; field?: string; as?: string }[];
}

export interface WidgetDef {
  id: string;
  title: string;
  type: WidgetKind;
  form: string;
  query?: AggregateQuery;
  ratio?: { numerator: AggregateQuery; denominator: AggregateQuery };
  segments?: { label: string; filter: string; color?: string }[];
  periods?: "month" | "quarter" | "year";
  date_field?: string;
  owner_field?: string;
  format?: NumberFormat;
  currency?: string;
}

export interface DashboardDef {
  title: string;
  description?: string;
  date_range?: { from: string; to: string };
  /** Team name → the owners in it: what the team filter narrows to. */
  teams?: Record<string, string[]>;
  widgets: WidgetDef[];
}

export interface StoredDashboard {
  name: string;
  version: number;
  definition: DashboardDef;
  updated_at: string;
}

export interface WidgetRow {
  key: Record<string, unknown>;
  values: Record<string, unknown>;
  filter?: string;
}

export interface WidgetData {
  id: string;
  form: string;
  keys: string[];
  metrics: string[];
  rows: WidgetRow[];
  total: Record<string, unknown>;
  error?: { code: string; message: string };
}

export interface DashboardData {
  name: string;
  version: number;
  from: string;
  to: string;
  owner?: string;
  team?: string;
  widgets: WidgetData[];
}

const base = (space: string) => `/api/v1/spaces/${encodeURIComponent(space)}/dashboards`;

export async function listDashboards(space: string, signal?: AbortSignal): Promise<StoredDashboard[]> {
  return (await api<Page<StoredDashboard>>(base(space), { signal })).body.items;
}

export async function getDashboard(space: string, name: string, signal?: AbortSignal): Promise<StoredDashboard> {
  return (await api<StoredDashboard>(`${base(space)}/${encodeURIComponent(name)}`, { signal })).body;
}

export interface DataParams {
  from?: string;
  to?: string;
  owner?: string;
  team?: string;
}

export async function dashboardData(space: string, name: string, params: DataParams, signal?: AbortSignal): Promise<DashboardData> {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value) query.set(key, value);
  const search = query.toString();
  return (await api<DashboardData>(`${base(space)}/${encodeURIComponent(name)}/data${search ? `?${search}` : ""}`, { signal })).body;
}

/** The values of `field` in `form`, most frequent first: who a dashboard can be narrowed to. */
export async function distinctValues(space: string, form: string, field: string, signal?: AbortSignal): Promise<string[]> {
  const path = `/api/v1/spaces/${encodeURIComponent(space)}/forms/${encodeURIComponent(form)}/aggregate`;
  const body = { group_by: [field], metrics: [{ op: "count", as: "n" }], sort: "-n", limit: 200 };
  const answer = await api<{ groups: { key: Record<string, unknown> }[] }>(path, { method: "POST", body, signal });
  return answer.body.groups.map((g) => g.key[field]).filter((v): v is string => typeof v === "string");
}
