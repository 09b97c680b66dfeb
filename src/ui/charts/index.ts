// The charts' public API, for the lab's App.
export { ChartControls, DEFAULT_CHART_SETTINGS, type ChartSettings, type ChartControlsProps } from './ChartControls.tsx';
export { ChartFigure, type ChartFigureProps } from './ChartFigure.tsx';
export { CurvaturePanel, type CurvaturePanelProps } from './CurvaturePanel.tsx';
export { MetricChart, type MetricChartProps } from './MetricChart.tsx';
export { PhaseBars, type PhaseBarsProps } from './PhaseBars.tsx';
export { MetricSeries, NOTIFY_INTERVAL_MS, type RunMeta, type RunSeries } from './metric-series.ts';
export { RUN_COLORS, RUN_DASHES, runStyle, phaseStyle } from './palette.ts';
export { debiasedEma } from './smoothing.ts';
export { loadPlotly, savePlotPng } from './plotly-loader.ts';
export type { MetricName, XAxisMode } from './chart-traces.ts';
