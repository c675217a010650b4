// What needs someone's attention in a space, for the nav's badges: its failed runs of the last
// week and its dead deliveries. Counted again after a retry or redelivery and every minute.
import { useEffect, useState } from "react";
import { attentionCounts } from "../api/watching";
import { ATTENTION_CHANGED } from "../components/Watch";

const WEEK_MS = 7 * 24 * 3600 * 1000;
const EVERY_MS = 60_000;

export function useAttention(space: string): { runs?: number; deliveries?: number } {
  const [counts, setCounts] = useState<{ runs?: number; deliveries?: number }>({});
  useEffect(() => {
    let controller = new AbortController();
    const count = () => {
      controller.abort();
      controller = new AbortController();
      const since = new Date(Date.now() - WEEK_MS).toISOString();
      attentionCounts(space, since, 99, controller.signal)
        .then(({ failedRuns, deadDeliveries }) => setCounts({ runs: failedRuns, deliveries: deadDeliveries }))
        .catch(() => {
          // A viewer who may not list runs, or a failed count: no badge rather than an error.
        });
    };
    count();
    const timer = window.setInterval(count, EVERY_MS);
    window.addEventListener(ATTENTION_CHANGED, count);
    return () => {
      controller.abort();
      window.clearInterval(timer);
      window.removeEventListener(ATTENTION_CHANGED, count);
    };
  }, [space]);
  return counts;
}
