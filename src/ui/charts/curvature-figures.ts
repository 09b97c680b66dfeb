// Pure builders for the curvature panel: heatmaps of the Kronecker factors and the spectrum of G ⊗ A.

import type { Data, Layout, Shape } from 'plotly.js-dist-min';
import type { CurvatureSnapshot, MatrixView } from '../../engine/curvature/snapshot.ts';
import { formatValue, TABLE_ROW_LIMIT, type DataTable } from './data-table.ts';
import { DIVERGING_SCALE, SEQUENTIAL_SCALE } from './palette.ts';
import { GRID_COLOR, horizontalLine, PLOT_THEME, type PlotFigure } from './plotly-text.ts';

/** The matrix as rows (plotly's z), row-major data. */
export function matrixRows(view: MatrixView): number[][] {
  const rows: number[][] = [];
  for (let i = 0; i < view.cells; i++) rows.push(Array.from(view.data.subarray(i * view.cells, (i + 1) * view.cells)));
  return rows;
}

/** The largest |value|, so the colour scale can run from −m to m with grey exactly at 0 (1 for an all-zero matrix). */
export function symmetricLimit(data: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < data.length; i++) if (Number.isFinite(data[i])) m = Math.max(m, Math.abs(data[i]));
  return m > 0 ? m : 1;
}

/** "65×65 shown as 48×48 (block averages)" or "48×48". */
export function matrixSizeNote(view: MatrixView): string {
  return view.n > view.cells ? `${view.n}×${view.n} shown as ${view.cells}×${view.cells} (block averages)` : `${view.n}×${view.n}`;
}

export function buildFactorFigure(view: MatrixView, factor: 'A' | 'G'): PlotFigure {
  const limit = symmetricLimit(view.data);
  const data: Data[] = [
    {
      type: 'heatmap',
      uid: `factor-${factor}`,
      z: matrixRows(view),
      zmin: -limit,
      zmax: limit,
      colorscale: DIVERGING_SCALE,
      colorbar: { thickness: 10, len: 0.9, exponentformat: 'e' },
      hovertemplate: `${factor}: row %{y}, column %{x}: %{z:.3g}<extra></extra>`,
    },
  ];
  const blocked = view.n > view.cells;
  const layout: Partial<Layout> = {
    ...PLOT_THEME,
    autosize: true,
    uirevision: `factor-${factor}`,
    margin: { l: 8, r: 8, t: 8, b: 8 },
    xaxis: {
      title: { text: blocked ? 'column (block)' : 'column' },
      automargin: true,
      showgrid: false,
      zeroline: false,
      constrain: 'domain',
    },
    yaxis: {
      title: { text: blocked ? 'row (block)' : 'row' },
      automargin: true,
      showgrid: false,
      zeroline: false,
      autorange: 'reversed',
      scaleanchor: 'x',
      constrain: 'domain',
    },
  };
  return { data, layout };
}

/** How the factors' own spectra are drawn (shared with the panel's legend). */
export const SPECTRUM_FACTOR_STYLES = {
  A: { color: '#D55E00', dash: 'dot', symbol: 'triangle-up' },
  G: { color: '#0072B2', dash: 'dash', symbol: 'square' },
} as const;

/** Ranks (1-based) and values of the positive entries: a log axis cannot show the others. */
function positive(values: ArrayLike<number>): { x: number[]; y: number[] } {
  const x: number[] = [];
  const y: number[] = [];
  for (let i = 0; i < values.length; i++) {
    if (values[i] > 0 && Number.isFinite(values[i])) {
      x.push(i + 1);
      y.push(values[i]);
    }
  }
  return { x, y };
}

/** Markers drawn for the G ⊗ A spectrum: thousands of SVG markers would make every refresh a long task. */
export const SPECTRUM_MAX_POINTS = 256;

/**
 * At most maxPoints of a rank-ordered series, spaced evenly in log(rank) so that the top of the spectrum
 * keeps every point and the long tail is thinned; the first and the last point are always kept.
 */
export function thinByLogRank(series: { x: number[]; y: number[] }, maxPoints = SPECTRUM_MAX_POINTS): { x: number[]; y: number[] } {
  const n = series.x.length;
  if (n <= maxPoints) return series;
  const picked = new Set<number>([0, n - 1]);
  for (let k = 0; k < maxPoints; k++) picked.add(Math.min(n - 1, Math.round(Math.expm1((k / (maxPoints - 1)) * Math.log(n)))));
  const indices = [...picked].sort((a, b) => a - b);
  return { x: indices.map((i) => series.x[i]), y: indices.map((i) => series.y[i]) };
}

/**
 * The spectrum on log-y against rank: the eigenvalues of G ⊗ A as markers coloured by magnitude (viridis),
 * those of A and of G as their own lines, and the damping λ as a horizontal line.
 */
export function buildSpectrumFigure(snapshot: CurvatureSnapshot): PlotFigure {
  const kron = thinByLogRank(positive(snapshot.kron));
  const data: Data[] = [
    {
      type: 'scatter',
      uid: 'spectrum-kron',
      name: 'G ⊗ A',
      x: kron.x,
      y: kron.y,
      mode: 'markers',
      marker: { size: 5, color: kron.y.map((v) => Math.log10(v)), colorscale: SEQUENTIAL_SCALE, showscale: false },
      hovertemplate: 'G ⊗ A, rank %{x}: %{y:.3g}<extra></extra>',
    },
  ];
  for (const factor of ['A', 'G'] as const) {
    const values = positive(factor === 'A' ? snapshot.eigA : snapshot.eigG);
    const style = SPECTRUM_FACTOR_STYLES[factor];
    data.push({
      type: 'scatter',
      uid: `spectrum-${factor}`,
      name: factor,
      x: values.x,
      y: values.y,
      mode: 'lines+markers',
      line: { color: style.color, dash: style.dash, width: 1.5 },
      marker: { color: style.color, symbol: style.symbol, size: 5 },
      hovertemplate: `${factor}, rank %{x}: %{y:.3g}<extra></extra>`,
    });
  }
  const shapes: Partial<Shape>[] = [];
  if (snapshot.damping > 0 && Number.isFinite(snapshot.damping)) {
    shapes.push(
      horizontalLine(
        snapshot.damping,
        { color: '#1b1f24', width: 1, dash: 'dash' },
        { text: `damping λ = ${formatValue(snapshot.damping)}`, textposition: 'end', font: { size: 11 } },
      ),
    );
  }
  const layout: Partial<Layout> = {
    ...PLOT_THEME,
    autosize: true,
    uirevision: 'spectrum',
    hovermode: 'closest',
    margin: { l: 8, r: 8, t: 8, b: 8 },
    showlegend: false, // the legend is HTML, under the plot (ChartLegend)
    xaxis: { title: { text: 'rank (largest first)' }, automargin: true, zeroline: false, gridcolor: GRID_COLOR },
    yaxis: { title: { text: 'eigenvalue' }, type: 'log', automargin: true, exponentformat: 'power', gridcolor: GRID_COLOR },
    shapes,
  };
  return { data, layout };
}

export interface SpectrumStats {
  top: number;
  /** Smallest eigenvalue of G ⊗ A (products of the factors' extremes; may be ≤ 0 from rounding). */
  smallest: number;
  /** top / smallest, or null when smallest is not positive. */
  conditionNumber: number | null;
  /** How many of the eigA.length · eigG.length eigenvalues of G ⊗ A are below the damping. */
  belowDamping: number;
  total: number;
}

/** Exact statistics of G ⊗ A from the factors' eigenvalues (snapshot.kron keeps only the largest). */
export function spectrumStats(snapshot: CurvatureSnapshot): SpectrumStats {
  const { eigA, eigG, damping } = snapshot;
  let top = -Infinity;
  let smallest = Infinity;
  let belowDamping = 0;
  for (let i = 0; i < eigG.length; i++) {
    for (let j = 0; j < eigA.length; j++) {
      const v = eigG[i] * eigA[j];
      if (v > top) top = v;
      if (v < smallest) smallest = v;
      if (v < damping) belowDamping++;
    }
  }
  const total = eigA.length * eigG.length;
  if (total === 0) return { top: NaN, smallest: NaN, conditionNumber: null, belowDamping: 0, total: 0 };
  return { top, smallest, conditionNumber: smallest > 0 ? top / smallest : null, belowDamping, total };
}

/**
 * "G ⊗ A of layer blocks.0.mlp.fc1 (K-FAC-reduce, step 40): top eigenvalue 3.2e+1, condition number 4.5e+6,
 * 1,234 of 4,225 eigenvalues below the damping λ = 0.001."
 */
export function curvatureSummary(snapshot: CurvatureSnapshot, runLabel: string, step: number): string {
  const stats = spectrumStats(snapshot);
  if (stats.total === 0) return `Layer ${snapshot.layer} (${runLabel}, step ${step}): no eigenvalues.`;
  const condition =
    stats.conditionNumber === null
      ? 'not positive definite without damping (smallest eigenvalue ' + formatValue(stats.smallest) + ')'
      : `condition number ${formatValue(stats.conditionNumber)}`;
  return (
    `G ⊗ A of layer ${snapshot.layer} (${runLabel}, step ${step}): top eigenvalue ${formatValue(stats.top)}, ` +
    `${condition}, ${stats.belowDamping.toLocaleString('en-US')} of ${stats.total.toLocaleString('en-US')} eigenvalues below the damping λ = ${formatValue(snapshot.damping)}.`
  );
}

/** "Input factor A, 65×65 shown as 48×48 (block averages): entries from −0.012 to 3.4, mean diagonal 0.81." */
export function factorSummary(view: MatrixView, factor: 'A' | 'G'): string {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of view.data) {
    if (!Number.isFinite(v)) continue;
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  let diagonal = 0;
  for (let i = 0; i < view.cells; i++) diagonal += view.data[i * view.cells + i];
  const kind = factor === 'A' ? 'Input factor A' : 'Gradient factor G';
  if (lo > hi) return `${kind}, ${matrixSizeNote(view)}: no finite entries.`;
  return `${kind}, ${matrixSizeNote(view)}: entries from ${formatValue(lo)} to ${formatValue(hi)}, mean diagonal ${formatValue(diagonal / Math.max(1, view.cells))}.`;
}

export function factorTable(view: MatrixView, factor: 'A' | 'G'): DataTable {
  const header = Array.from({ length: view.cells }, (_, j) => `col ${j}`);
  const rows = matrixRows(view).map((row, i) => [`row ${i}`, ...row.map((v) => formatValue(v))]);
  return {
    caption: `Factor ${factor}: ${matrixSizeNote(view)}`,
    columns: [factor, ...header],
    rows,
  };
}

export function spectrumTable(snapshot: CurvatureSnapshot): DataTable {
  const count = Math.max(snapshot.kron.length, snapshot.eigA.length, snapshot.eigG.length);
  const shown = Math.min(count, TABLE_ROW_LIMIT);
  const cell = (values: ArrayLike<number>, i: number) => (i < values.length ? formatValue(values[i]) : '');
  const rows = Array.from({ length: shown }, (_, i) => [
    String(i + 1),
    cell(snapshot.kron, i),
    cell(snapshot.eigA, i),
    cell(snapshot.eigG, i),
  ]);
  const notes: string[] = [];
  if (shown < count) notes.push(`Showing the largest ${shown} of ${count.toLocaleString('en-US')} ranks.`);
  if (snapshot.kron.length < snapshot.eigA.length * snapshot.eigG.length)
    notes.push(`G ⊗ A: only the largest ${snapshot.kron.length} are kept.`);
  return {
    caption: `Eigenvalues of layer ${snapshot.layer}, largest first`,
    columns: ['Rank', 'G ⊗ A', 'A', 'G'],
    rows,
    ...(notes.length > 0 ? { note: notes.join(' ') } : {}),
  };
}
