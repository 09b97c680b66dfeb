// A live metric chart: plotly draws from the MetricSeries on its throttled notifications, React renders only
// on settings changes and for the slow summary.

import { memo, useCallback, useEffect } from 'react';
import { ChartFigure } from './ChartFigure.tsx';
import { buildMetricFigure, metricSummary, metricTable, type MetricName, type XAxisMode } from './chart-traces.ts';
import { runLegend } from './legend-items.ts';
import type { MetricSeries } from './metric-series.ts';
import { usePlot, useSeriesTick, type PlotSize } from './use-plot.ts';

export interface MetricChartProps {
  series: MetricSeries;
  metric: MetricName;
  xAxis: XAxisMode;
  logY: boolean;
  /** Debiased-EMA weight, 0..0.99 (training loss only). */
  smoothing: number;
  title: string;
  id: string;
  /** Axis title; defaults to "training loss" / "validation accuracy". */
  yLabel?: string;
  /** The experiment's target (validation accuracy), drawn as a dotted line. */
  target?: number | null;
}

/** Memoised: its props are settings and a stable series, so a parent's re-render (a store update) skips it. */
export const MetricChart = memo(function MetricChart({
  series,
  metric,
  xAxis,
  logY,
  smoothing,
  title,
  id,
  yLabel,
  target = null,
}: MetricChartProps) {
  // Re-renders at most every couple of seconds, for the summary and an open data table.
  useSeriesTick(series);
  const build = useCallback(
    (size: PlotSize) => buildMetricFigure(series, { metric, xAxis, logY, smoothing, yLabel, target, revision: series.generation, ...size }),
    [series, metric, xAxis, logY, smoothing, yLabel, target],
  );
  const plot = usePlot(build);
  const { request } = plot;
  useEffect(() => {
    // The validation chart changes only at evaluations: redraw only when it has new points.
    if (metric !== 'valMetric') return series.subscribe(request);
    let drawn = -1;
    return series.subscribe(() => {
      const points = series.runs.reduce((n, _, i) => n + series.series(i).valStep.length, series.generation * 1e9);
      if (points === drawn) return;
      drawn = points;
      request();
    });
  }, [series, request, metric]);

  return (
    <ChartFigure
      id={id}
      title={title}
      summary={metricSummary(series, metric, smoothing)}
      table={() => metricTable(series, metric, xAxis, title)}
      plotRef={plot.ref}
      legend={runLegend(
        series.runs.map((r) => r.label),
        metric === 'valMetric',
      )}
      canSave={plot.ready}
      error={plot.error}
    />
  );
});
