// A widget's numbers as people read them and as ECharts draws them: labels for rows (segments,
// periods, date buckets, owners), numbers through Intl (92.0 %, $1.2M), and the chart option
// for each kind. Pure, so it is tested without a browser.
import type { NumberFormat, WidgetData, WidgetDef, WidgetRow } from "../api/dashboards";

/** A calm palette; health-like segments still carry their word, never colour alone. */
export const PALETTE = ["#2f5bd3", "#1a7f37", "#c27c0e", "#b42318", "#7a4bc2", "#0f7c8c", "#8a6d3b", "#5a6472"];

const FUNNEL_SHADES = ["#2f5bd3", "#4a72dc", "#6889e3", "#87a1ea", "#a6b9f0", "#c4d1f6"];
const FONT = 'system-ui, -apple-system, "Segoe UI", "PingFang SC", "Noto Sans CJK SC", "Microsoft YaHei", sans-serif';

export interface Labels {
  none: string;
  quarter: (quarter: number, year: number) => string;
  /** A user id's name, for keys that are people (an owner field); undefined for other values. */
  person?: (value: string) => string | undefined;
}

/** The metric a widget draws: a ratio's value, else the first metric. */
export function mainMetric(data: WidgetData): string | undefined {
  return data.metrics[0];
}

export function asNumber(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

/** A number in the widget's format; `compact` for axis ticks. */
export function formatMetric(value: unknown, format: NumberFormat | undefined, locale: string, currency?: string, compact = false): string {
  const n = asNumber(value);
  if (n === null) return "—";
  switch (format) {
    case "percent":
      return new Intl.NumberFormat(locale, { style: "percent", minimumFractionDigits: compact ? 0 : 1, maximumFractionDigits: 1 }).format(n);
    case "currency":
      return new Intl.NumberFormat(locale, {
        style: "currency",
        currency: currency ?? "USD",
        notation: compact ? "compact" : "standard",
        maximumFractionDigits: compact ? 1 : 0,
      }).format(n);
    default:
      return new Intl.NumberFormat(locale, { notation: compact ? "compact" : "standard", maximumFractionDigits: 1 }).format(n);
  }
}

/** How a key column's values are grouped: a date bucket, a period, or plain values. */
function bucketOf(widget: WidgetDef, key: string): string | undefined {
  if (key === "period") return widget.periods;
  for (const g of widget.query?.group_by ?? []) {
    if (typeof g !== "string" && (g.as ?? g.field) === key) return g.bucket;
  }
  return undefined;
}

function dateLabel(value: string, bucket: string | undefined, locale: string, labels: Labels): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!m) return value;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(year, month - 1, day);
  if (bucket === "quarter") return labels.quarter(Math.floor((month - 1) / 3) + 1, year);
  if (bucket === "year") return String(year);
  if (bucket === "month") return new Intl.DateTimeFormat(locale, { year: "numeric", month: "short" }).format(date);
  return new Intl.DateTimeFormat(locale, { year: "numeric", month: "short", day: "numeric" }).format(date);
}

/** A row's label: its key values, formatted, joined. */
export function rowLabel(widget: WidgetDef, data: WidgetData, row: WidgetRow, locale: string, labels: Labels): string {
  const parts = data.keys.map((key) => {
    const value = row.key[key];
    if (value === null || value === undefined) return labels.none;
    if (typeof value === "string") return labels.person?.(value) ?? dateLabel(value, bucketOf(widget, key), locale, labels);
    if (typeof value === "object") {
      const bin = value as { from?: number; to?: number };
      const from = bin.from === undefined ? "" : formatMetric(bin.from, "number", locale);
      const to = bin.to === undefined ? "" : formatMetric(bin.to, "number", locale);
      return bin.from === undefined ? `< ${to}` : bin.to === undefined ? `≥ ${from}` : `${from}–${to}`;
    }
    return String(value);
  });
  return parts.join(" · ");
}

/** The ECharts option for a chart widget (bar, line, pie, donut, funnel); null for the others. */
export function chartOption(widget: WidgetDef, data: WidgetData, locale: string, labels: Labels): Record<string, unknown> | null {
  const metric = mainMetric(data);
  if (!metric) return null;
  const names = data.rows.map((row) => rowLabel(widget, data, row, locale, labels));
  const values = data.rows.map((row) => asNumber(row.values[metric]));
  const format = (v: unknown) => formatMetric(v, widget.format, locale, widget.currency);
  const axisFormat = (v: unknown) => formatMetric(v, widget.format, locale, widget.currency, true);
  const base = {
    color: PALETTE,
    animationDuration: 300,
    // The page's own font, named: ECharts measures text with it, so labels fit what is drawn.
    textStyle: { fontFamily: FONT },
    tooltip: { trigger: widget.type === "bar" || widget.type === "line" ? "axis" : "item", valueFormatter: format, confine: true },
  };
  const grid = { left: 8, right: 16, top: 16, bottom: 8, containLabel: true };
  switch (widget.type) {
    case "bar": {
      // Names (owners, segments) read best down the side; periods and dates along the bottom.
      const byTime = data.keys.some((k) => bucketOf(widget, k) !== undefined);
      const category = {
        type: "category",
        data: byTime ? names : [...names].reverse(),
        axisTick: { show: false },
        axisLabel: byTime ? {} : { width: 160, overflow: "truncate" },
      };
      const value = { type: "value", axisLabel: { formatter: axisFormat }, splitLine: { lineStyle: { color: "#eee" } } };
      const series = {
        type: "bar",
        name: metric,
        data: byTime ? values : [...values].reverse(),
        barMaxWidth: 28,
        label: { show: true, position: byTime ? "top" : "right", formatter: (p: { value: unknown }) => format(p.value) },
      };
      return { ...base, grid, xAxis: byTime ? category : value, yAxis: byTime ? value : category, series: [series] };
    }
    case "line":
      return {
        ...base,
        grid,
        // A gap at both ends keeps the first and last labels off the axes.
        xAxis: { type: "category", data: names, boundaryGap: true, axisTick: { show: false } },
        yAxis: { type: "value", scale: true, axisLabel: { formatter: axisFormat }, splitLine: { lineStyle: { color: "#eee" } } },
        series: [
          {
            type: "line",
            name: metric,
            data: values,
            symbolSize: 7,
            label: { show: data.rows.length <= 8, position: "top", formatter: (p: { value: unknown }) => axisFormat(p.value) },
          },
        ],
      };
    case "pie":
    case "donut":
      return {
        ...base,
        series: [
          {
            type: "pie",
            name: metric,
            radius: widget.type === "donut" ? ["45%", "70%"] : "70%",
            center: ["50%", "45%"],
            data: names.map((name, i) => ({ name, value: values[i], ...colourOf(widget, data.rows[i]) })),
            label: { formatter: (p: { name: string; value: unknown }) => `${p.name}\n${format(p.value)}` },
          },
        ],
      };
    case "funnel":
      return {
        ...base,
        series: [
          {
            type: "funnel",
            name: metric,
            sort: "none",
            left: "10%",
            width: "80%",
            gap: 2,
            // Stages of one process: shades of one colour, widest darkest, none of them "bad".
            data: names.map((name, i) => ({ name, value: values[i], itemStyle: { color: FUNNEL_SHADES[Math.min(i, FUNNEL_SHADES.length - 1)] } })),
            label: { position: "inside", formatter: (p: { name: string; value: unknown }) => `${p.name}: ${format(p.value)}` },
          },
        ],
      };
    default:
      return null;
  }
}

/** A segment's own colour, where the definition gives one. */
function colourOf(widget: WidgetDef, row: WidgetRow): { itemStyle?: { color: string } } {
  const color = widget.segments?.find((s) => s.label === row.key.segment)?.color;
  return color ? { itemStyle: { color } } : {};
}

/** Which row a click on a chart's data point `index` means (horizontal bars are drawn reversed). */
export function rowForClick(widget: WidgetDef, data: WidgetData, index: number): WidgetRow | undefined {
  const reversed = widget.type === "bar" && !data.keys.some((k) => bucketOf(widget, k) !== undefined);
  return data.rows[reversed ? data.rows.length - 1 - index : index];
}

/** Whether a widget has nothing to show. */
export function isEmpty(widget: WidgetDef, data: WidgetData): boolean {
  if (widget.type === "kpi") return false;
  const metric = mainMetric(data);
  return data.rows.length === 0 || (metric !== undefined && data.rows.every((r) => !asNumber(r.values[metric])));
}
