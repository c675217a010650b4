// Typed calls for the template gallery, copying and exporting spaces, and the next days'
// calendar of what would fire.
import { api } from "./client";
import type { Page, Space } from "../schema";

export interface Named {
  name: string;
  title?: string | null;
}

/** A built-in template pack, as the gallery shows it. */
export interface PackSummary {
  name: string;
  title: string;
  description: string;
  version: string;
  forms: Named[];
  workflows: Named[];
  dashboards: Named[];
  views: Named[];
  sample_records: number;
}

export async function listPacks(signal?: AbortSignal): Promise<PackSummary[]> {
  return (await api<Page<PackSummary>>("/api/v1/packs", { signal })).body.items;
}

/** What `POST /api/v1/spaces` takes: a template to install, or a space to copy. */
export interface NewSpace {
  name: string;
  title?: string;
  template?: string;
  sample_data?: boolean;
  from_space?: string;
}

export async function createSpace(space: NewSpace): Promise<Space> {
  return (await api<Space>("/api/v1/spaces", { method: "POST", body: space })).body;
}

/** Where a space's definitions download as a zipped pack. */
export function packHref(space: string): string {
  return `/api/v1/spaces/${encodeURIComponent(space)}/pack`;
}

export type TimerKind = "date_offset" | "delay" | "cron" | "sla";

/** One thing that would fire. */
export interface UpcomingItem {
  at: string;
  /** On the wall clock of `timezone`, `YYYY-MM-DDTHH:MM:SS`. */
  local: string;
  timezone: string;
  kind: TimerKind;
  spec: string;
  workflows: string[];
  title?: string;
  condition?: string;
  form?: string;
  record?: string;
  label?: string;
  person?: string;
  overdue: boolean;
}

export interface Upcoming {
  from: string;
  until: string;
  timezone: string;
  items: UpcomingItem[];
  truncated: boolean;
}

export async function getUpcoming(space: string, days: number, signal?: AbortSignal): Promise<Upcoming> {
  return (await api<Upcoming>(`/api/v1/spaces/${encodeURIComponent(space)}/upcoming?days=${days}`, { signal })).body;
}

