import { describe, expect, it } from 'vitest';
import {
  buildMetricFigure,
  metricSummary,
  metricTable,
  spreadLabels,
  WEBGL_POINT_THRESHOLD,
  type MetricFigureOptions,
  type SeriesSource,
} from '../../src/ui/charts/chart-traces.ts';
import type { RunMeta, RunSeries } from '../../src/ui/charts/metric-series.ts';
import { RUN_DASHES, runStyle } from '../../src/ui/charts/palette.ts';
import { debiasedEma } from '../../src/ui/charts/smoothing.ts';

/** A plain-object stand-in for MetricSeries. */
function source(runs: { meta: RunMeta; s: Partial<RunSeries> }[]): SeriesSource {
  const full = runs.map(({ s }) => ({ step: [], trainLoss: [], timeMs: [], valStep: [], valMetric: [], valTimeMs: [], ...s }));
  return { runs: runs.map((r) => r.meta), series: (run) => full[run] };
}

const twoRuns = source([
  {
    meta: { label: 'SGD', optimizer: 'sgd' },
    s: {
      step: [1, 2, 3, 4],
      trainLoss: [2, 1.5, 1.2, 1.0],
      timeMs: [100, 200, 300, 400],
      valStep: [2, 4],
      valMetric: [0.5, 0.6],
      valTimeMs: [200, 400],
    },
  },
  {
    meta: { label: 'K-FAC-reduce', optimizer: 'kfac-reduce' },
    s: { step: [1, 2, 3], trainLoss: [2, 1, 0.5], timeMs: [250, 500, 750], valStep: [2], valMetric: [0.8], valTimeMs: [500] },
  },
]);

const base: MetricFigureOptions = { metric: 'trainLoss', xAxis: 'step', logY: false, smoothing: 0.6 };

// Plotly's trace union is wide; the tests read a few fields.
type Trace = {
  type: string;
  x: number[];
  y: number[];
  mode: string;
  name: string;
  opacity?: number;
  line: { color: string; dash?: string };
  showlegend?: boolean;
};

describe('buildMetricFigure', () => {
  it('draws a faint raw line and a smoothed line per run, in the run colour and dash', () => {
    const { data } = buildMetricFigure(twoRuns, base);
    const traces = data as unknown as Trace[];
    expect(traces).toHaveLength(4);
    for (const run of [0, 1]) {
      const [raw, smooth] = [traces[2 * run], traces[2 * run + 1]];
      const { color, dash } = runStyle(run);
      expect(raw.opacity).toBeCloseTo(0.25);
      expect(raw.showlegend).toBe(false);
      expect(raw.line.color).toBe(color);
      expect(smooth.line).toMatchObject({ color, dash });
      expect(smooth.y).toEqual(debiasedEma(twoRuns.series(run).trainLoss, 0.6));
      expect(raw.y).toEqual(twoRuns.series(run).trainLoss);
    }
    expect(traces[1].line.dash).toBe(RUN_DASHES[0]);
    expect(traces[3].line.dash).toBe(RUN_DASHES[1]);
    expect(traces[1].name).toBe('SGD');
  });

  it('draws the evaluated points for the validation metric, one trace per run', () => {
    const { data, layout } = buildMetricFigure(twoRuns, { ...base, metric: 'valMetric' });
    const traces = data as unknown as Trace[];
    expect(traces).toHaveLength(2);
    expect(traces[0]).toMatchObject({ x: [2, 4], y: [0.5, 0.6], mode: 'lines+markers' });
    expect(traces[1]).toMatchObject({ x: [2], y: [0.8] });
    expect(layout.yaxis?.tickformat).toBe('.0%');
  });

  it('puts wall-clock seconds on x in time mode', () => {
    const { data, layout } = buildMetricFigure(twoRuns, { ...base, xAxis: 'time' });
    const traces = data as unknown as Trace[];
    expect(traces[1].x).toEqual([0.1, 0.2, 0.3, 0.4]);
    expect(traces[3].x).toEqual([0.25, 0.5, 0.75]);
    expect(layout.xaxis?.title).toEqual({ text: 'wall-clock time (s)' });
    const val = buildMetricFigure(twoRuns, { ...base, metric: 'valMetric', xAxis: 'time' }).data as unknown as Trace[];
    expect(val[0].x).toEqual([0.2, 0.4]);
  });

  it('labels each line at its end, in the run colour', () => {
    const { layout } = buildMetricFigure(twoRuns, base);
    const labels = layout.annotations ?? [];
    expect(labels).toHaveLength(2);
    const smoothedSgd = debiasedEma([2, 1.5, 1.2, 1.0], 0.6);
    expect(labels[0]).toMatchObject({ x: 4, text: 'SGD', xref: 'x', yref: 'y', showarrow: false, xanchor: 'left' });
    expect(labels[0].y).toBeCloseTo(smoothedSgd[3], 12);
    expect(labels[0].font?.color).toBe(runStyle(0).color);
    expect(labels[1]).toMatchObject({ x: 3, text: 'K-FAC-reduce' });
    expect(labels[1].font?.color).toBe(runStyle(1).color);
  });

  it('uses a log y axis and log10 label positions with logY', () => {
    const { layout } = buildMetricFigure(twoRuns, { ...base, logY: true, smoothing: 0 });
    expect(layout.yaxis?.type).toBe('log');
    const labels = layout.annotations ?? [];
    expect(labels[0].y).toBeCloseTo(Math.log10(1.0), 12);
    expect(labels[1].y).toBeCloseTo(Math.log10(0.5), 12);
    expect(buildMetricFigure(twoRuns, base).layout.yaxis?.type).toBe('linear');
  });

  it('labels the last finite point when a run diverged', () => {
    const diverged = source([
      { meta: { label: 'SGD', optimizer: 'sgd' }, s: { step: [1, 2, 3], trainLoss: [1, 2, NaN], timeMs: [1, 2, 3] } },
    ]);
    const labels = buildMetricFigure(diverged, { ...base, smoothing: 0 }).layout.annotations ?? [];
    expect(labels[0]).toMatchObject({ x: 2, y: 2 });
  });

  it('keeps uirevision through data and smoothing changes, and per axis unit', () => {
    const a = buildMetricFigure(twoRuns, { ...base, revision: 3 }).layout;
    const b = buildMetricFigure(twoRuns, { ...base, smoothing: 0.9, revision: 3 }).layout;
    const c = buildMetricFigure(twoRuns, { ...base, xAxis: 'time', revision: 3 }).layout;
    const d = buildMetricFigure(twoRuns, { ...base, revision: 4 }).layout;
    expect(a.uirevision).toBe(b.uirevision);
    expect(a.xaxis?.uirevision).toBe(b.xaxis?.uirevision);
    expect(c.uirevision).toBe(a.uirevision);
    expect(c.xaxis?.uirevision).not.toBe(a.xaxis?.uirevision);
    expect(d.uirevision).not.toBe(a.uirevision);
    expect(a.hovermode).toBe('x unified');
  });

  it('switches to scattergl above the point threshold', () => {
    const n = WEBGL_POINT_THRESHOLD / 2 + 1;
    const steps = Array.from({ length: n }, (_, i) => i + 1);
    const run = { step: steps, trainLoss: steps.map(() => 1), timeMs: steps };
    const big = source([
      { meta: { label: 'a', optimizer: 'sgd' }, s: run },
      { meta: { label: 'b', optimizer: 'adam' }, s: run },
    ]);
    expect((buildMetricFigure(big, base).data as unknown as Trace[]).every((t) => t.type === 'scattergl')).toBe(true);
    expect((buildMetricFigure(twoRuns, base).data as unknown as Trace[]).every((t) => t.type === 'scatter')).toBe(true);
  });

  it('escapes run labels for plotly text', () => {
    const hostile = source([
      { meta: { label: '<img src=x onerror=alert(1)>&', optimizer: 'sgd' }, s: { step: [1], trainLoss: [1], timeMs: [1] } },
    ]);
    const { data, layout } = buildMetricFigure(hostile, base);
    expect((data as unknown as Trace[])[1].name).toBe('&lt;img src=x onerror=alert(1)&gt;&amp;');
    expect(layout.annotations?.[0].text).not.toContain('<');
  });

  it('shows a waiting note without points, and draws a target line', () => {
    const empty = source([{ meta: { label: 'SGD', optimizer: 'sgd' }, s: {} }]);
    const { layout } = buildMetricFigure(empty, { ...base, metric: 'valMetric', target: 0.9 });
    expect(layout.annotations?.map((a) => a.text)).toEqual(['Waiting for the first points…']);
    expect(layout.shapes?.[0]).toMatchObject({ type: 'line', y0: 0.9, y1: 0.9, yref: 'y' });
  });
});

describe('spreadLabels', () => {
  it('leaves labels that do not collide where they are', () => {
    expect(spreadLabels([0, 50, 100], 10)).toEqual([0, 50, 100]);
  });

  it('spreads colliding labels around their mean, keeping their order', () => {
    const out = spreadLabels([1, 0, 2], 10);
    expect(out[1]).toBeCloseTo(-9);
    expect(out[0]).toBeCloseTo(1);
    expect(out[2]).toBeCloseTo(11);
  });

  it('merges clusters that come to overlap', () => {
    const out = spreadLabels([0, 0, 12, 12], 10);
    const sorted = [...out].sort((a, b) => a - b);
    for (let i = 1; i < sorted.length; i++) expect(sorted[i] - sorted[i - 1]).toBeGreaterThanOrEqual(10 - 1e-9);
    expect(sorted.reduce((a, b) => a + b) / 4).toBeCloseTo(6); // centred on the wanted mean
  });
});

describe('metricSummary', () => {
  it('lists the latest values, best first', () => {
    expect(metricSummary(twoRuns, 'trainLoss', 0)).toBe('Training loss, latest: K-FAC-reduce 0.5 at step 3; SGD 1 at step 4.');
    expect(metricSummary(twoRuns, 'valMetric', 0.6)).toBe(
      'Validation accuracy, latest: K-FAC-reduce 80.0% at step 2; SGD 60.0% at step 4.',
    );
    expect(metricSummary(twoRuns, 'trainLoss', 0.6)).toMatch(/^Training loss \(smoothed\), latest: /);
  });

  it('says when a run is not finite, and when there is no data', () => {
    const diverged = source([
      { meta: { label: 'SGD', optimizer: 'sgd' }, s: { step: [1, 2], trainLoss: [1, Infinity], timeMs: [1, 2] } },
      { meta: { label: 'Adam', optimizer: 'adam' }, s: { step: [1, 2], trainLoss: [1, 0.5], timeMs: [1, 2] } },
    ]);
    expect(metricSummary(diverged, 'trainLoss', 0)).toBe('Training loss, latest: Adam 0.5 at step 2; SGD not finite at step 2.');
    expect(metricSummary(source([]), 'valMetric', 0)).toBe('Validation accuracy: no data yet.');
  });
});

describe('metricTable', () => {
  it('has a row per step and a column per run, with gaps where a run has no point', () => {
    const table = metricTable(twoRuns, 'trainLoss', 'step', 'Training loss');
    expect(table.columns).toEqual(['Step', 'SGD', 'K-FAC-reduce']);
    expect(table.rows).toEqual([
      ['1', '2', '2'],
      ['2', '1.5', '1'],
      ['3', '1.2', '0.5'],
      ['4', '1', '—'],
    ]);
    expect(table.note).toMatch(/raw/);
  });

  it('adds seconds in time mode and percentages for accuracy', () => {
    const table = metricTable(twoRuns, 'valMetric', 'time', 'Validation');
    expect(table.columns).toEqual(['Step', 'SGD', 'SGD: time (s)', 'K-FAC-reduce', 'K-FAC-reduce: time (s)']);
    expect(table.rows[0]).toEqual(['2', '50.0%', '0.20', '80.0%', '0.50']);
  });

  it('keeps only the last 200 rows, and says so', () => {
    const steps = Array.from({ length: 500 }, (_, i) => i + 1);
    const long = source([{ meta: { label: 'SGD', optimizer: 'sgd' }, s: { step: steps, trainLoss: steps, timeMs: steps } }]);
    const table = metricTable(long, 'trainLoss', 'step', 'Loss');
    expect(table.rows).toHaveLength(200);
    expect(table.rows[0][0]).toBe('301');
    expect(table.note).toMatch(/last 200 of 500/);
  });
});
