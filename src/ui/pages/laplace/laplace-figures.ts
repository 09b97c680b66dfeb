// Pure figure builders of the Laplace page: log marglik and each δ_l against epochs (expand solid,
// reduce dashed), time per Laplace fit, and the reliability diagram of the MAP, Laplace and
// weight-decay-grid predictions; each with its one-line summary and data table.
import type { ReliabilityBin } from '../../../engine/laplace/calibration.ts';
import type { ScalingRow } from '../../../engine/tools/marglik/fit-scaling.ts';
import type { DataTable } from '../../charts/data-table.ts';
import { formatValue } from '../../charts/data-table.ts';
import { RUN_COLORS } from '../../charts/palette.ts';
import { GRID_COLOR, PLOT_THEME, plotlyText, type PlotFigure } from '../../charts/plotly-text.ts';

/** One Laplace fit as the page keeps it (from the job's progress or its result). */
export interface FitPoint {
  epoch: number;
  logMarglik: number;
  fitMs: number;
  precision: number[];
}

export const FLAVOURS = ['expand', 'reduce'] as const;
export type Flavour = (typeof FLAVOURS)[number];
export const FLAVOUR_COLORS: Record<Flavour, string> = { expand: RUN_COLORS[0], reduce: RUN_COLORS[1] };
const FLAVOUR_DASH: Record<Flavour, 'solid' | 'dash'> = { expand: 'solid', reduce: 'dash' };

const baseLayout = (xTitle: string, yTitle: string, logY = false): PlotFigure['layout'] => ({
  ...PLOT_THEME,
  margin: { l: 64, r: 16, t: 8, b: 44 },
  xaxis: { title: { text: xTitle }, gridcolor: GRID_COLOR, zeroline: false },
  yaxis: { title: { text: yTitle }, gridcolor: GRID_COLOR, type: logY ? 'log' : 'linear', zeroline: false },
  showlegend: true,
  legend: { orientation: 'h', y: -0.25 },
  uirevision: 'laplace',
});

export function marglikFigure(fits: Record<Flavour, FitPoint[]>): PlotFigure {
  return {
    data: FLAVOURS.map((f) => ({
      type: 'scatter',
      mode: 'lines+markers',
      name: `K-FAC-${f}`,
      x: fits[f].map((p) => p.epoch),
      y: fits[f].map((p) => p.logMarglik),
      line: { color: FLAVOUR_COLORS[f], dash: FLAVOUR_DASH[f] },
    })),
    layout: baseLayout('epoch', 'log marginal likelihood'),
  };
}

export function precisionFigure(fits: Record<Flavour, FitPoint[]>, layers: readonly string[]): PlotFigure {
  const data: PlotFigure['data'] = [];
  for (const f of FLAVOURS) {
    layers.forEach((name, k) =>
      data.push({
        type: 'scatter',
        mode: 'lines+markers',
        name: plotlyText(`${name} (${f})`),
        x: fits[f].map((p) => p.epoch),
        y: fits[f].map((p) => p.precision[k]),
        line: { color: RUN_COLORS[(k + 2) % RUN_COLORS.length], dash: FLAVOUR_DASH[f] },
        marker: { symbol: f === 'expand' ? 'circle' : 'square' },
      }),
    );
  }
  return { data, layout: baseLayout('epoch', 'prior precision δ_l', true) };
}

export function fitTimeFigure(fits: Record<Flavour, FitPoint[]>): PlotFigure {
  return {
    data: FLAVOURS.map((f) => ({
      type: 'bar',
      name: `K-FAC-${f}`,
      x: fits[f].map((p) => p.epoch),
      y: fits[f].map((p) => p.fitMs),
      marker: { color: FLAVOUR_COLORS[f] },
    })),
    layout: { ...baseLayout('epoch', 'time per Laplace fit (ms)'), barmode: 'group' },
  };
}

export interface ReliabilitySeries {
  label: string;
  bins: readonly ReliabilityBin[];
}

export function reliabilityFigure(series: readonly ReliabilitySeries[]): PlotFigure {
  const data: PlotFigure['data'] = [
    { type: 'scatter', mode: 'lines', name: 'perfect calibration', x: [0, 1], y: [0, 1], line: { color: '#999999', dash: 'dot' } },
  ];
  series.forEach((s, i) => {
    const filled = s.bins.filter((b) => b.count > 0);
    data.push({
      type: 'scatter',
      mode: 'lines+markers',
      name: plotlyText(s.label),
      x: filled.map((b) => b.confidence),
      y: filled.map((b) => b.accuracy),
      text: filled.map((b) => `${b.count} examples`),
      line: { color: RUN_COLORS[i % RUN_COLORS.length] },
      marker: { size: filled.map((b) => 5 + Math.min(10, Math.sqrt(b.count))) },
    });
  });
  const layout = baseLayout('confidence (top-class probability)', 'accuracy');
  return { data, layout: { ...layout, xaxis: { ...layout.xaxis, range: [0, 1] }, yaxis: { ...layout.yaxis, range: [0, 1.02] } } };
}

export function marglikSummary(fits: Record<Flavour, FitPoint[]>): string {
  const parts = FLAVOURS.filter((f) => fits[f].length > 0).map((f) => {
    const last = fits[f][fits[f].length - 1];
    return `K-FAC-${f}: log marglik ${formatValue(last.logMarglik)} at epoch ${last.epoch}`;
  });
  return parts.length ? `${parts.join('; ')}.` : 'No Laplace fit yet.';
}

export function fitTimeSummary(fits: Record<Flavour, FitPoint[]>): string {
  const mean = (xs: FitPoint[]) => xs.reduce((s, p) => s + p.fitMs, 0) / xs.length;
  const parts = FLAVOURS.filter((f) => fits[f].length > 0).map((f) => `K-FAC-${f} ${mean(fits[f]).toFixed(0)} ms`);
  if (parts.length === 0) return 'No Laplace fit yet.';
  const ratio = fits.expand.length && fits.reduce.length ? ` (reduce / expand ${(mean(fits.reduce) / mean(fits.expand)).toFixed(2)})` : '';
  return `Mean time per Laplace fit: ${parts.join(', ')}${ratio}.`;
}

export function fitsTable(fits: Record<Flavour, FitPoint[]>, layers: readonly string[], what: 'marglik' | 'precision' | 'time'): DataTable {
  const rows: string[][] = [];
  for (const f of FLAVOURS) {
    for (const p of fits[f]) {
      if (what === 'marglik') rows.push([`${f}, epoch ${p.epoch}`, formatValue(p.logMarglik)]);
      else if (what === 'time') rows.push([`${f}, epoch ${p.epoch}`, p.fitMs.toFixed(0)]);
      else rows.push([`${f}, epoch ${p.epoch}`, ...p.precision.map(formatValue)]);
    }
  }
  const columns = what === 'marglik' ? ['fit', 'log marglik'] : what === 'time' ? ['fit', 'ms'] : ['fit', ...layers.map((l) => `δ ${l}`)];
  const caption =
    what === 'marglik' ? 'Log marginal likelihood per fit' : what === 'time' ? 'Time per Laplace fit' : 'Prior precision per layer';
  return { caption, columns, rows };
}

export function reliabilityTable(series: readonly ReliabilitySeries[]): DataTable {
  const rows: string[][] = [];
  for (const s of series)
    for (const b of s.bins)
      if (b.count > 0)
        rows.push([
          `${s.label}, ${b.lo.toFixed(1)}–${b.hi.toFixed(1)}`,
          String(b.count),
          formatValue(b.confidence),
          formatValue(b.accuracy),
        ]);
  return {
    caption: 'Reliability: per confidence bin, mean confidence and accuracy',
    columns: ['bin', 'examples', 'confidence', 'accuracy'],
    rows,
  };
}

/** Time per Laplace fit against R (log–log), expand and reduce. */
export function scalingFigure(rows: readonly ScalingRow[]): PlotFigure {
  const layout = baseLayout('weight-sharing size R (positions per convolution)', 'time per Laplace fit (ms)', true);
  return {
    data: FLAVOURS.map((f) => {
      const mine = rows.filter((r) => r.approx === f);
      return {
        type: 'scatter',
        mode: 'lines+markers',
        name: `K-FAC-${f}`,
        x: mine.map((r) => r.R),
        y: mine.map((r) => r.fitMs),
        line: { color: FLAVOUR_COLORS[f], dash: FLAVOUR_DASH[f] },
      };
    }),
    layout: { ...layout, xaxis: { ...layout.xaxis, type: 'log' } },
  };
}

export function scalingSummary(rows: readonly ScalingRow[]): string {
  const Rs = [...new Set(rows.map((r) => r.R))];
  const parts = Rs.map((R) => {
    const e = rows.find((r) => r.R === R && r.approx === 'expand');
    const r = rows.find((x) => x.R === R && x.approx === 'reduce');
    return e && r ? `R = ${R}: reduce / expand ${(r.fitMs / e.fitMs).toFixed(2)}` : `R = ${R}`;
  });
  return `${parts.join('; ')}.`;
}

export function scalingTable(rows: readonly ScalingRow[]): DataTable {
  return {
    caption: 'Time per Laplace fit (median ms) and its parts',
    columns: ['model, approximation', 'R', 'fit', 'loss pass', 'factor pass', 'eigendecompositions'],
    rows: rows.map((r) => [
      `${r.model}, ${r.approx}`,
      String(r.R),
      r.fitMs.toFixed(0),
      r.lossMs.toFixed(0),
      r.factorsMs.toFixed(0),
      r.eigenMs.toFixed(0),
    ]),
  };
}
