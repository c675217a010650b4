// Server state for a page: load on mount and when the key changes, keep the problem if any,
// and allow a retry. Small on purpose; pages that page or mutate manage their own state.
import { useCallback, useEffect, useState } from "react";
import { Problem } from "../api/client";

export type Loaded<T> = { data?: T; problem?: Problem; loading: boolean; reload: () => void };

export function useLoad<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[]): Loaded<T> {
  const [state, setState] = useState<{ data?: T; problem?: Problem; loading: boolean }>({ loading: true });
  const [generation, setGeneration] = useState(0);
  useEffect(() => {
    const controller = new AbortController();
    setState((s) => ({ ...s, loading: true }));
    load(controller.signal)
      .then((data) => setState({ data, loading: false }))
      .catch((err: unknown) => {
        if (controller.signal.aborted) return;
        setState({ problem: err instanceof Problem ? err : new Problem(0, { detail: String(err) }), loading: false });
      });
    return () => controller.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, generation]);
  const reload = useCallback(() => setGeneration((g) => g + 1), []);
  return { ...state, reload };
}
