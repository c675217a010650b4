// A list the server pages with cursors: the first page whenever the key changes, more on
// demand, and the problem if a page failed. For the runs, timers and deliveries lists.
import { useCallback, useEffect, useState } from "react";
import { Problem } from "../api/client";
import type { Page } from "../schema";

export interface Paged<T> {
  items: T[];
  problem?: Problem;
  loading: boolean;
  /** Whether the server has more. */
  more: boolean;
  loadMore: () => void;
  reload: () => void;
}

export function usePaged<T>(load: (cursor: string | null, signal?: AbortSignal) => Promise<Page<T>>, key: string): Paged<T> {
  const [state, setState] = useState<{ items: T[]; next: string | null; problem?: Problem; loading: boolean }>({ items: [], next: null, loading: true });
  const fetchPage = useCallback(
    (cursor: string | null, signal?: AbortSignal) => {
      setState((s) => ({ ...s, loading: true, problem: undefined }));
      load(cursor, signal)
        .then((page) => setState((s) => ({ items: cursor ? [...s.items, ...page.items] : page.items, next: page.next_cursor, loading: false })))
        .catch((err: unknown) => {
          if (signal?.aborted) return;
          setState((s) => ({ ...s, loading: false, problem: err instanceof Problem ? err : new Problem(0, { detail: String(err) }) }));
        });
    },
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [key],
  );
  useEffect(() => {
    const controller = new AbortController();
    setState({ items: [], next: null, loading: true });
    fetchPage(null, controller.signal);
    return () => controller.abort();
  }, [fetchPage]);
  return {
    items: state.items,
    problem: state.problem,
    loading: state.loading,
    more: state.next !== null,
    loadMore: () => fetchPage(state.next),
    reload: () => fetchPage(null),
  };
}
