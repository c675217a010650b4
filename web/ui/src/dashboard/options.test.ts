import { describe, expect, it } from "vitest";
import type { WidgetData, WidgetDef } from "../api/dashboards";
import { chartOption, formatMetric, isEmpty, rowForClick, rowLabel, type Labels } from "./options";

const labels: Labels = { none: "(none)", quarter: (q, y) => `Q${q} ${y}` };

const overdue: WidgetDef = {
  id: "overdue",
  title: "Overdue tasks",
  type: "bar",
  form: "task",
  query: { group_by: ["assignee"], metrics: [{ op: "count", as: "overdue" }] },
};
const overdueData: WidgetData = {
  id: "overdue",
  form: "task",
  keys: ["assignee"],
  metrics: ["overdue"],
  rows: [
    { key: { assignee: "ana@example.com" }, values: { overdue: 2 }, filter: 'assignee = "ana@example.com"' },
    { key: { assignee: null }, values: { overdue: 1 }, filter: "assignee = null" },
  ],
  total: { overdue: 3 },
};

describe("widget data to chart options", () => {
  it("draws owners as horizontal bars, largest on top, and maps clicks back to rows", () => {
    const option = chartOption(overdue, overdueData, "en", labels) as any;
    expect(option.yAxis.type).toBe("category");
    expect(option.yAxis.data).toEqual(["(none)", "ana@example.com"]);
    expect(option.series[0].data).toEqual([1, 2]);
    expect(rowForClick(overdue, overdueData, 1)?.filter).toBe('assignee = "ana@example.com"');
  });

  it("draws periods along the bottom with quarter labels and percentages", () => {
    const grr: WidgetDef = { id: "grr", title: "GRR", type: "line", form: "arr_movement", periods: "quarter", format: "percent", ratio: { numerator: {}, denominator: {} } };
    const data: WidgetData = {
      id: "grr",
      form: "arr_movement",
      keys: ["period"],
      metrics: ["value", "numerator", "denominator"],
      rows: [
        { key: { period: "2026-01-01" }, values: { value: 1 } },
        { key: { period: "2026-04-01" }, values: { value: 0.9545454545 } },
      ],
      total: { value: 0.92 },
    };
    const option = chartOption(grr, data, "en", labels) as any;
    expect(option.xAxis.data).toEqual(["Q1 2026", "Q2 2026"]);
    expect(option.series[0].type).toBe("line");
    expect(option.series[0].data).toEqual([1, 0.9545454545]);
    expect(option.series[0].label.formatter({ value: 0.9545454545 })).toBe("95.5%");
    expect(option.xAxis.boundaryGap).toBe(true);
    expect(rowForClick(grr, data, 0)?.key.period).toBe("2026-01-01");
  });

  it("draws segments as donut slices and funnel stages in their order", () => {
    const bands: WidgetDef = {
      id: "bands",
      title: "Bands",
      type: "donut",
      form: "account",
      query: {},
      segments: [
        { label: "Healthy", filter: "health >= 75", color: "#1a7f37" },
        { label: "At risk", filter: "health < 50" },
      ],
    };
    const data: WidgetData = {
      id: "bands",
      form: "account",
      keys: ["segment"],
      metrics: ["accounts", "arr"],
      rows: [
        { key: { segment: "Healthy" }, values: { accounts: 110, arr: 5 } },
        { key: { segment: "At risk" }, values: { accounts: 112, arr: 7 } },
      ],
      total: {},
    };
    const donut = chartOption(bands, data, "en", labels) as any;
    expect(donut.series[0].radius).toEqual(["45%", "70%"]);
    expect(donut.series[0].data).toEqual([
      { name: "Healthy", value: 110, itemStyle: { color: "#1a7f37" } },
      { name: "At risk", value: 112 },
    ]);
    const funnel = chartOption({ ...bands, type: "funnel" }, data, "en", labels) as any;
    expect(funnel.series[0].sort).toBe("none");
    expect(funnel.series[0].data.map((d: { name: string }) => d.name)).toEqual(["Healthy", "At risk"]);
    expect(chartOption({ ...bands, type: "kpi" }, data, "en", labels)).toBeNull();
  });

  it("labels month buckets in the reader's language and knows when there is nothing to draw", () => {
    const nps: WidgetDef = { id: "nps", title: "NPS", type: "line", form: "nps_response", query: { group_by: [{ field: "received_on", bucket: "month", as: "month" }] } };
    const data: WidgetData = { id: "nps", form: "nps_response", keys: ["month"], metrics: ["nps"], rows: [{ key: { month: "2026-10-01" }, values: { nps: 25 } }], total: {} };
    expect(rowLabel(nps, data, data.rows[0], "en", labels)).toBe("Oct 2026");
    expect(rowLabel(nps, data, data.rows[0], "zh-CN", labels)).toBe("2026年10月");
    expect(isEmpty(nps, data)).toBe(false);
    expect(isEmpty(nps, { ...data, rows: [] })).toBe(true);
  });

  it("formats KPI numbers as people expect", () => {
    expect(formatMetric(0.92, "percent", "en")).toBe("92.0%");
    expect(formatMetric(230000, "currency", "en", "USD")).toBe("$230,000");
    expect(formatMetric(1250000, "currency", "en", "USD", true)).toBe("$1.3M");
    expect(formatMetric(null, "number", "en")).toBe("—");
  });
});
