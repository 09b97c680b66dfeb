// Pure builders for the metric charts: plotly traces and layout, the one-line summary and the data table.

import type { Annotation, Dash, Data, Layout, ScatterData, Shape } from 'plotly.js-dist-min';
import { formatPercent, formatValue, lastRows, type DataTable } from './data-table.ts';
import type { RunMeta, RunSeries } from './metric-series.ts';
import { runStyle, runSymbol } from './palette.ts';
import { GRID_COLOR, horizontalLine, PLOT_THEME, plotlyText, shortLabel, type PlotFigure } from './plotly-text.ts';
import { debiasedEma } from './smoothing.ts';

export type MetricName = 'trainLoss' | 'valMetric';
export type XAxisMode = 'step' | 'time';

/** What the builders read: MetricSeries, or any snapshot of it. */
export interface SeriesSource {
  readonly runs: readonly RunMeta[];
  series(run: number): Readonly<RunSeries>;
}

export interface MetricFigureOptions {
  metric: MetricName;
  xAxis: XAxisMode;
  logY: boolean;
  /** Debiased-EMA weight for the training loss, 0..0.99 (the validation points are drawn as they are). */
  smoothing: number;
  /** Axis title for the metric; defaults to METRIC_INFO's. */
  yLabel?: string;
  /** A target value drawn as a dotted line (the validation chart). */
  target?: number | null;
  /** Changes only when zoom should be forgotten (a new experiment); see the uirevision note below. */
  revision?: string | number;
  /** The plot's size on screen, px, when known: end labels get shorter on narrow plots and are kept apart. */
  widthPx?: number;
  heightPx?: number;
}

/** The validation metric is top-1 accuracy (the runner's evaluate()), in [0, 1]. */
export const METRIC_INFO: Record<MetricName, { axisTitle: string; percent: boolean; higherIsBetter: boolean }> = {
  trainLoss: { axisTitle: 'training loss', percent: false, higherIsBetter: false },
  valMetric: { axisTitle: 'validation accuracy', percent: true, higherIsBetter: true },
};

/** Above this many points plotly's WebGL scatter replaces the SVG one (SVG slows down beyond ~10k). */
export const WEBGL_POINT_THRESHOLD = 10_000;

/** The plot size assumed when the caller does not know it (charts.css gives plots about this much room). */
const DEFAULT_WIDTH_PX = 460;
const DEFAULT_HEIGHT_PX = 290;
/** Vertical room for one end label, px. */
const LABEL_GAP_PX = 15;

/** Characters an end label may have: fewer on a phone, where the room the labels take comes out of the curves'. */
export function endLabelChars(widthPx: number): number {
  return widthPx < 420 ? 10 : widthPx < 640 ? 13 : 18;
}

interface RunLine {
  run: number;
  label: string;
  x: number[];
  /** What the line shows: smoothed loss, or the evaluated metric. */
  y: number[];
  /** The training loss before smoothing (absent for the validation metric). */
  raw: number[] | null;
}

function runLines(source: SeriesSource, options: MetricFigureOptions): RunLine[] {
  const toSeconds = (ms: number) => ms / 1000;
  return source.runs.map((meta, run) => {
    const s = source.series(run);
    if (options.metric === 'trainLoss') {
      const x = options.xAxis === 'time' ? s.timeMs.map(toSeconds) : s.step.slice();
      const raw = s.trainLoss.slice();
      return { run, label: meta.label, x, y: debiasedEma(raw, options.smoothing), raw };
    }
    const x = options.xAxis === 'time' ? s.valTimeMs.map(toSeconds) : s.valStep.slice();
    return { run, label: meta.label, x, y: s.valMetric.slice(), raw: null };
  });
}

/** Where y lands on the axis: plotly positions annotations on a log axis by log10 of the value. */
function axisPosition(y: number, logY: boolean): number | null {
  if (!Number.isFinite(y)) return null;
  if (!logY) return y;
  return y > 0 ? Math.log10(y) : null;
}

function lastFinite(x: readonly number[], y: readonly number[], logY: boolean): { x: number; y: number } | null {
  for (let i = Math.min(x.length, y.length) - 1; i >= 0; i--) {
    const pos = axisPosition(y[i], logY);
    if (pos !== null && Number.isFinite(x[i])) return { x: x[i], y: pos };
  }
  return null;
}

/**
 * Moves label positions (px, any order) apart so neighbours are at least `gap` apart, each group of colliding
 * labels centred on where its members want to be. Returns the new positions in the input's order.
 */
export function spreadLabels(positions: readonly number[], gap: number): number[] {
  const order = positions.map((_, i) => i).sort((a, b) => positions[a] - positions[b]);
  // Each cluster places its k-th member at start + k·gap; start is the mean of (wanted_k − k·gap).
  const clusters: { count: number; offsetSum: number; start: number }[] = [];
  for (const i of order) {
    clusters.push({ count: 1, offsetSum: positions[i], start: positions[i] });
    while (clusters.length > 1) {
      const b = clusters[clusters.length - 1];
      const a = clusters[clusters.length - 2];
      if (a.start + a.count * gap <= b.start) break;
      clusters.pop();
      a.offsetSum += b.offsetSum - b.count * a.count * gap;
      a.count += b.count;
      a.start = a.offsetSum / a.count;
    }
  }
  const out = new Array<number>(positions.length);
  let k = 0;
  for (const c of clusters) for (let j = 0; j < c.count; j++, k++) out[order[k]] = c.start + j * gap;
  return out;
}

function endLabels(lines: readonly RunLine[], options: MetricFigureOptions, maxChars: number): Partial<Annotation>[] {
  const ends = lines
    .map((line) => ({ line, end: lastFinite(line.x, line.y, options.logY) }))
    .filter((e): e is { line: RunLine; end: { x: number; y: number } } => e.end !== null);
  if (ends.length === 0) return [];
  // Pixels per axis unit, guessed from the data's span (the autorange): enough to keep labels from stacking.
  let lo = Infinity;
  let hi = -Infinity;
  for (const { line } of ends) {
    for (const values of [line.y, line.raw ?? []]) {
      for (const v of values) {
        const pos = axisPosition(v, options.logY);
        if (pos === null) continue;
        lo = Math.min(lo, pos);
        hi = Math.max(hi, pos);
      }
    }
  }
  // The plot area is the div less the x-axis labels and title, about 60 px.
  const plotHeight = Math.max(80, (options.heightPx ?? DEFAULT_HEIGHT_PX) - 60);
  const pxPerUnit = hi > lo ? plotHeight / (hi - lo) : 0;
  const wanted = ends.map(({ end }) => (end.y - lo) * pxPerUnit);
  const placed = spreadLabels(wanted, LABEL_GAP_PX);
  return ends.map(({ line, end }, i) => ({
    x: end.x,
    y: end.y,
    xref: 'x',
    yref: 'y',
    text: plotlyText(shortLabel(line.label, maxChars)),
    showarrow: false,
    xanchor: 'left',
    yanchor: 'middle',
    xshift: 6,
    yshift: placed[i] - wanted[i],
    font: { color: runStyle(line.run).color, size: 12 },
    bgcolor: 'rgba(255, 255, 255, 0.85)',
  }));
}

/**
 * Traces and layout for one metric chart. Per run: for the training loss a faint raw line and the smoothed
 * line in the run's colour and dash; for the validation metric the evaluated points, lines and markers.
 * The last point of each line carries the run's label in its colour.
 *
 * uirevision: layout.uirevision is constant for an experiment, so a zoom survives data updates and smoothing
 * changes; each axis adds its unit (step/time, linear/log) so switching units starts that axis afresh rather
 * than keeping a range that meant something else.
 */
export function buildMetricFigure(source: SeriesSource, options: MetricFigureOptions): PlotFigure {
  const info = METRIC_INFO[options.metric];
  const lines = runLines(source, options);
  const totalPoints = lines.reduce((n, line) => n + line.x.length, 0);
  const type = totalPoints > WEBGL_POINT_THRESHOLD ? 'scattergl' : 'scatter';
  const valueFormat = info.percent ? '.1%' : '.4g';

  const data: Data[] = [];
  for (const line of lines) {
    const { color } = runStyle(line.run);
    // RUN_DASHES and RUN_SYMBOLS hold plotly's names; the contract types them as plain strings.
    const dash = runStyle(line.run).dash as Dash;
    const symbol = runSymbol(line.run) as NonNullable<ScatterData['marker']>['symbol'];
    const name = plotlyText(line.label);
    const group = `run-${line.run}`;
    if (line.raw !== null) {
      data.push({
        type,
        uid: `${group}-raw`,
        x: line.x,
        y: line.raw,
        mode: 'lines',
        name: `${name} (raw)`,
        legendgroup: group,
        showlegend: false,
        opacity: 0.25,
        line: { color, width: 1 },
        hoverinfo: 'skip',
      });
      data.push({
        type,
        uid: `${group}-smoothed`,
        x: line.x,
        y: line.y,
        customdata: line.raw,
        mode: 'lines',
        name,
        legendgroup: group,
        line: { color, dash, width: 2 },
        hovertemplate: `%{y:${valueFormat}} (raw %{customdata:${valueFormat}})`,
      });
    } else {
      data.push({
        type,
        uid: `${group}-val`,
        x: line.x,
        y: line.y,
        mode: 'lines+markers',
        name,
        legendgroup: group,
        line: { color, dash, width: 2 },
        marker: { color, symbol, size: 7 },
        hovertemplate: `%{y:${valueFormat}}`,
      });
    }
  }

  const widthPx = options.widthPx ?? DEFAULT_WIDTH_PX;
  const maxChars = endLabelChars(widthPx);
  const annotations = endLabels(lines, options, maxChars);
  if (totalPoints === 0) {
    annotations.push({
      xref: 'paper',
      yref: 'paper',
      x: 0.5,
      y: 0.5,
      text: lines.length === 0 ? 'No experiment yet' : 'Waiting for the first points…',
      showarrow: false,
      font: { color: '#57606a', size: 13 },
    });
  }
  const shapes: Partial<Shape>[] = [];
  if (options.target !== null && options.target !== undefined && Number.isFinite(options.target)) {
    shapes.push(
      horizontalLine(
        options.target,
        { color: '#57606a', width: 1, dash: 'dot' },
        {
          text: `target ${info.percent ? formatPercent(options.target) : formatValue(options.target)}`,
          textposition: 'start',
          font: { color: '#57606a', size: 11 },
        },
      ),
    );
  }

  const revision = options.revision ?? 0;
  const layout: Partial<Layout> = {
    ...PLOT_THEME,
    autosize: true,
    uirevision: `metric-${revision}`,
    hovermode: 'x unified',
    // No right margin for the end labels: plotly's autorange already widens the x range to fit annotations.
    margin: { l: 8, r: 12, t: 8, b: 8 },
    showlegend: false, // the legend is HTML, under the plot (ChartLegend)
    xaxis: {
      title: { text: options.xAxis === 'time' ? 'wall-clock time (s)' : 'step' },
      uirevision: `metric-${revision}-${options.xAxis}`,
      unifiedhovertitle: { text: options.xAxis === 'time' ? '%{x:.2f} s' : 'step %{x}' },
      automargin: true,
      zeroline: false,
      gridcolor: GRID_COLOR,
    },
    yaxis: {
      title: { text: plotlyText(options.yLabel ?? info.axisTitle) },
      type: options.logY ? 'log' : 'linear',
      uirevision: `metric-${revision}-${options.logY ? 'log' : 'linear'}`,
      automargin: true,
      zeroline: false,
      gridcolor: GRID_COLOR,
      ...(info.percent ? { tickformat: '.0%' } : {}),
      // Before any point, plotly's default range (-1 to 4) would show a negative loss or "-100% to 400%".
      ...(totalPoints === 0 && !options.logY ? { range: [0, 1] } : {}),
    },
    annotations,
    shapes,
  };
  return { data, layout };
}

/** The latest finite value of each run, with its step, or the step where it stopped being finite. */
function latest(values: readonly number[], steps: readonly number[]): { value: number; step: number; finite: boolean } | null {
  const n = Math.min(values.length, steps.length);
  if (n === 0) return null;
  const value = values[n - 1];
  return { value, step: steps[n - 1], finite: Number.isFinite(value) };
}

/**
 * One line for the figure's live summary: every run's latest value, best first, e.g.
 * "Training loss (smoothed), latest: K-FAC-reduce 0.301 at step 120; Adam 0.412 at step 120."
 */
export function metricSummary(source: SeriesSource, metric: MetricName, smoothing: number): string {
  const info = METRIC_INFO[metric];
  const smoothed = metric === 'trainLoss' && smoothing > 0;
  const items: { label: string; value: number; step: number; finite: boolean }[] = [];
  source.runs.forEach((meta, run) => {
    const s = source.series(run);
    const values = metric === 'trainLoss' ? debiasedEma(s.trainLoss, smoothing) : s.valMetric;
    const steps = metric === 'trainLoss' ? s.step : s.valStep;
    const last = latest(values, steps);
    if (last !== null) items.push({ label: meta.label, ...last });
  });
  const title = info.axisTitle[0].toUpperCase() + info.axisTitle.slice(1);
  if (items.length === 0) return `${title}: no data yet.`;
  const sign = info.higherIsBetter ? -1 : 1;
  items.sort((a, b) => (a.finite === b.finite ? sign * (a.value - b.value) : a.finite ? -1 : 1));
  const parts = items.map((item) =>
    item.finite
      ? `${item.label} ${info.percent ? formatPercent(item.value) : formatValue(item.value)} at step ${item.step}`
      : `${item.label} not finite at step ${item.step}`,
  );
  return `${title}${smoothed ? ' (smoothed)' : ''}, latest: ${parts.join('; ')}.`;
}

/** Index of `step` in an ascending step list, or -1. */
function indexOfStep(steps: readonly number[], step: number): number {
  let lo = 0;
  let hi = steps.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (steps[mid] === step) return mid;
    if (steps[mid] < step) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/**
 * The data behind a metric chart as a table: one row per step (the last TABLE_ROW_LIMIT), one column per run
 * with its raw value, plus the run's wall-clock seconds when the chart's x-axis is time.
 */
export function metricTable(source: SeriesSource, metric: MetricName, xAxis: XAxisMode, title: string): DataTable {
  const info = METRIC_INFO[metric];
  const columns = ['Step'];
  const perRun = source.runs.map((meta, run) => {
    const s = source.series(run);
    columns.push(meta.label);
    if (xAxis === 'time') columns.push(`${meta.label}: time (s)`);
    return metric === 'trainLoss'
      ? { steps: s.step, values: s.trainLoss, timeMs: s.timeMs }
      : { steps: s.valStep, values: s.valMetric, timeMs: s.valTimeMs };
  });
  const allSteps = [...new Set(perRun.flatMap((r) => r.steps))].sort((a, b) => a - b);
  const { start, note } = lastRows(allSteps.length);
  const rows = allSteps.slice(start).map((step) => {
    const row = [String(step)];
    for (const r of perRun) {
      const i = indexOfStep(r.steps, step);
      const value = i < 0 ? null : r.values[i];
      row.push(info.percent ? formatPercent(value) : formatValue(value));
      if (xAxis === 'time') row.push(i < 0 ? '—' : (r.timeMs[i] / 1000).toFixed(2));
    }
    return row;
  });
  const notes = [note, metric === 'trainLoss' ? 'Training loss values are raw, before smoothing.' : undefined].filter(Boolean);
  return { caption: `${title}: data`, columns, rows, ...(notes.length > 0 ? { note: notes.join(' ') } : {}) };
}
