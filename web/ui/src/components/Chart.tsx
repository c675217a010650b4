// One ECharts chart: loads the library on first use, draws `option` as SVG, follows its box's
// size, and reports a click on a data point by its index.
import { useEffect, useRef, useState } from "react";

type ECharts = typeof import("./../dashboard/echarts").default;
type Instance = ReturnType<ECharts["init"]>;

let library: Promise<ECharts> | undefined;
function loadECharts(): Promise<ECharts> {
  library ??= import("../dashboard/echarts").then((m) => m.default);
  return library;
}

export function Chart({
  option,
  label,
  onPick,
  testId,
}: {
  option: Record<string, unknown>;
  label: string;
  onPick?: (index: number) => void;
  testId?: string;
}) {
  const box = useRef<HTMLDivElement>(null);
  const chart = useRef<Instance>();
  const pick = useRef(onPick);
  pick.current = onPick;
  const [failed, setFailed] = useState(false);

  useEffect(() => {
    let disposed = false;
    let observer: ResizeObserver | undefined;
    loadECharts()
      .then((echarts) => {
        if (disposed || !box.current) return;
        const instance = echarts.init(box.current, undefined, { renderer: "svg" });
        chart.current = instance;
        instance.on("click", (params: { dataIndex?: number }) => {
          if (typeof params.dataIndex === "number") pick.current?.(params.dataIndex);
        });
        instance.setOption(option, true);
        observer = new ResizeObserver(() => instance.resize());
        observer.observe(box.current);
      })
      .catch(() => setFailed(true));
    return () => {
      disposed = true;
      observer?.disconnect();
      chart.current?.dispose();
      chart.current = undefined;
    };
    // The chart is made once; option changes are applied below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  useEffect(() => {
    chart.current?.setOption(option, true);
  }, [option]);

  return <div ref={box} className={`chart${failed ? " chart-failed" : ""}${onPick ? " clickable" : ""}`} role="img" aria-label={label} data-testid={testId} />;
}
