// Typed calls for the resources the pages use.
import { api, formPath } from "./client";
import type { Page, Space, StoredForm, TendRecord } from "../schema";
import { rememberPeople, type Person } from "../hooks/usePeople";

/** A record answer, with the people its person fields and actors name. */
type Named<T> = T & { people?: Record<string, Person> };

function named<T>(body: Named<T>): T {
  rememberPeople(body.people);
  return body;
}

/** A member of a space, as its member list shows them. */
export interface Member {
  user_id: string;
  role: string;
  teams: string[];
  name?: string | null;
  email?: string | null;
}

export async function listMembers(space: string, signal?: AbortSignal): Promise<Member[]> {
  return (await api<Page<Member>>(`/api/v1/spaces/${encodeURIComponent(space)}/members`, { signal })).body.items;
}

export async function listSpaces(signal?: AbortSignal): Promise<Space[]> {
  return (await api<Page<Space>>("/api/v1/spaces", { signal })).body.items;
}

export async function listForms(space: string, signal?: AbortSignal): Promise<StoredForm[]> {
  return (await api<Page<StoredForm>>(`/api/v1/spaces/${encodeURIComponent(space)}/forms`, { signal })).body.items;
}

export async function getForm(space: string, form: string, signal?: AbortSignal): Promise<StoredForm> {
  return (await api<StoredForm>(formPath(space, form), { signal })).body;
}

export async function countRecords(space: string, form: string, filter = "", signal?: AbortSignal): Promise<number> {
  const query = filter ? `?filter=${encodeURIComponent(filter)}` : "";
  return (await api<{ count: number }>(formPath(space, form, `/count${query}`), { signal })).body.count;
}

export interface ListParams {
  filter?: string;
  sort?: string;
  limit?: number;
  cursor?: string | null;
}

export async function listRecords(space: string, form: string, params: ListParams, signal?: AbortSignal): Promise<Page<TendRecord>> {
  const query = new URLSearchParams();
  if (params.filter) query.set("filter", params.filter);
  if (params.sort) query.set("sort", params.sort);
  if (params.limit) query.set("limit", String(params.limit));
  if (params.cursor) query.set("cursor", params.cursor);
  const search = query.toString();
  return named((await api<Named<Page<TendRecord>>>(formPath(space, form, `/records${search ? `?${search}` : ""}`), { signal })).body);
}

export async function getRecord(space: string, form: string, id: string, signal?: AbortSignal): Promise<TendRecord> {
  return named((await api<Named<TendRecord>>(formPath(space, form, `/records/${encodeURIComponent(id)}`), { signal })).body);
}

export async function transition(space: string, form: string, record: TendRecord, to: string): Promise<TendRecord> {
  const path = formPath(space, form, `/records/${encodeURIComponent(record.id)}/transition`);
  return named((await api<Named<TendRecord>>(path, { method: "POST", body: { to }, ifMatch: `"${record.version}"` })).body);
}

export async function patchRecord(space: string, form: string, id: string, patch: unknown, version?: number): Promise<TendRecord> {
  const path = formPath(space, form, `/records/${encodeURIComponent(id)}`);
  const ifMatch = version === undefined ? undefined : `"${version}"`;
  return named(
    (await api<Named<TendRecord>>(path, { method: "PATCH", body: patch, ifMatch, contentType: "application/merge-patch+json" })).body,
  );
}
