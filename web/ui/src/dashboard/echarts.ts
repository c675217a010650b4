// The parts of ECharts the dashboards use, registered once. Imported only through a dynamic
// import, so charts are a chunk of their own and the first visit never downloads them.
import * as echarts from "echarts/core";
import { BarChart, FunnelChart, LineChart, PieChart } from "echarts/charts";
import { GridComponent, LegendComponent, TooltipComponent } from "echarts/components";
import { SVGRenderer } from "echarts/renderers";

echarts.use([BarChart, LineChart, PieChart, FunnelChart, GridComponent, TooltipComponent, LegendComponent, SVGRenderer]);

export default echarts;
