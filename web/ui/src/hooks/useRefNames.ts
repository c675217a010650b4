// Names for `x-ref` values: a grid or a record shows the referenced record's name, not its id.
// Ids are looked up in batches (`id in [...]`) and cached for the page's life.
import { useEffect, useState } from "react";
import { listRecords } from "../api/tend";
import { recordTitle } from "../schema";

const cache = new Map<string, string>();
const key = (form: string, id: string) => `${form}/${id}`;

export function refName(form: string, id: string): string | undefined {
  return cache.get(key(form, id));
}

/** Fetches names of the given (form, id) pairs not yet known; re-renders when they arrive. */
export function useRefNames(space: string, wanted: { form: string; id: string }[]): number {
  const [generation, setGeneration] = useState(0);
  const missing = wanted.filter(({ form, id }) => id && !cache.has(key(form, id)));
  const signature = missing.map(({ form, id }) => key(form, id)).sort().join(",");
  useEffect(() => {
    if (!signature) return;
    const byForm = new Map<string, Set<string>>();
    for (const { form, id } of missing) {
      if (!byForm.has(form)) byForm.set(form, new Set());
      byForm.get(form)?.add(id);
    }
    let cancelled = false;
    void Promise.all(
      [...byForm].map(async ([form, ids]) => {
        const list = [...ids].slice(0, 200);
        const filter = `id in [${list.map((id) => JSON.stringify(id)).join(", ")}]`;
        try {
          const page = await listRecords(space, form, { filter, limit: list.length });
          for (const record of page.items) cache.set(key(form, record.id), recordTitle(record));
        } finally {
          // Unknown ids keep showing as ids rather than being asked for again and again.
          for (const id of list) if (!cache.has(key(form, id))) cache.set(key(form, id), id.slice(0, 8));
        }
      }),
    ).then(() => {
      if (!cancelled) setGeneration((g) => g + 1);
    });
    return () => {
      cancelled = true;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [space, signature]);
  return generation;
}
