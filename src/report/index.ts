export { lineChartSvg } from './charts.ts';
export type { LineChartOptions, LineSeries } from './charts.ts';
export { renderTrainingReport } from './training-report.ts';
export type { RenderedReport, ReportInput } from './training-report.ts';
