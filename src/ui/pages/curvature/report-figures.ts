// Pure builders for the Curvature page's figures from the worker's curvature report
// (src/engine/tools/curvature-report/): the factor heatmaps reuse the race's builder; the spectrum
// figure puts K-FAC's {κ_i μ_j}, EK-FAC's Λ and the exact block's eigenvalues on one log axis
// against rank, so the eye sees where the Kronecker product misses the exact curvature.
import type { Data, Layout } from 'plotly.js-dist-min';
import type { MatrixView } from '../../../engine/curvature/snapshot.ts';
import type { ReportApproximation, ReportHeatmap, ReportLayer } from '../../../engine/tools/curvature-report/curvature-report.ts';
import { thinByLogRank } from '../../charts/curvature-figures.ts';
import { formatValue, TABLE_ROW_LIMIT, type DataTable } from '../../charts/data-table.ts';
import type { LegendItem } from '../../charts/legend-items.ts';
import { GRID_COLOR, PLOT_THEME, type PlotFigure } from '../../charts/plotly-text.ts';

export type Approx = 'expand' | 'reduce';

export function heatmapView(h: ReportHeatmap): MatrixView {
  return { n: h.n, cells: h.cells, data: Float64Array.from(h.data) };
}

/** How each spectrum is drawn (Okabe–Ito colours, each with its own dash and marker). */
export const SPECTRUM_STYLES = {
  kfac: { label: 'K-FAC {κᵢ μⱼ}', color: '#0072B2', dash: 'solid', symbol: 'circle' },
  ekfac: { label: 'EK-FAC Λ', color: '#D55E00', dash: 'dash', symbol: 'diamond' },
  exact: { label: 'exact GGN block', color: '#000000', dash: 'dot', symbol: 'x' },
} as const;

export function spectrumLegend(hasExact: boolean): LegendItem[] {
  const items: LegendItem[] = [SPECTRUM_STYLES.kfac, SPECTRUM_STYLES.ekfac];
  if (hasExact) items.push(SPECTRUM_STYLES.exact);
  return items;
}

function positive(values: readonly number[]): { x: number[]; y: number[] } {
  const x: number[] = [];
  const y: number[] = [];
  values.forEach((v, i) => {
    if (v > 0 && Number.isFinite(v)) {
      x.push(i + 1);
      y.push(v);
    }
  });
  return { x, y };
}

/** The spectra of one layer under one approximation (plus the exact block's, when there is one). */
export function buildReportSpectrumFigure(layer: ReportLayer, approx: Approx): PlotFigure {
  const a = layer[approx];
  const series: [keyof typeof SPECTRUM_STYLES, readonly number[]][] = [
    ['kfac', a.kfac],
    ['ekfac', a.ekfac],
  ];
  if (layer.exact) series.push(['exact', layer.exact.eigenvalues]);
  const data: Data[] = series.map(([key, values]) => {
    const style = SPECTRUM_STYLES[key];
    const points = thinByLogRank(positive(values));
    return {
      type: 'scatter',
      uid: `${approx}-${key}`,
      name: style.label,
      x: points.x,
      y: points.y,
      mode: 'lines+markers',
      line: { color: style.color, dash: style.dash, width: 1.5 },
      marker: { color: style.color, symbol: style.symbol, size: 4 },
      hovertemplate: `${style.label}, rank %{x}: %{y:.3g}<extra></extra>`,
    };
  });
  const layout: Partial<Layout> = {
    ...PLOT_THEME,
    autosize: true,
    uirevision: `report-spectrum-${approx}`,
    hovermode: 'closest',
    margin: { l: 8, r: 8, t: 8, b: 8 },
    showlegend: false,
    xaxis: { title: { text: 'rank (largest first)' }, type: 'log', automargin: true, gridcolor: GRID_COLOR },
    yaxis: { title: { text: 'eigenvalue' }, type: 'log', automargin: true, exponentformat: 'power', gridcolor: GRID_COLOR },
  };
  return { data, layout };
}

/** "Relative Frobenius error against the exact block: K-FAC 0.31, EK-FAC 0.12." or why there is none. */
export function fitText(a: ReportApproximation, layer: ReportLayer): string {
  if (!a.fit) return `No exact block for this layer (${layer.params.toLocaleString('en-US')} weights is above the size limit), so no fit.`;
  return `Relative Frobenius error against the exact block: K-FAC ${formatValue(a.fit.kfac)}, EK-FAC ${formatValue(a.fit.ekfac)}.`;
}

export function spectrumSummary(layer: ReportLayer, approx: Approx): string {
  const a = layer[approx];
  const top = (values: readonly number[]) => (values.length > 0 ? formatValue(values[0]) : '—');
  const exact = layer.exact ? `, exact block ${top(layer.exact.eigenvalues)}` : '';
  return `K-FAC-${approx} on layer ${layer.name}: largest eigenvalue K-FAC ${top(a.kfac)}, EK-FAC ${top(a.ekfac)}${exact}. ${fitText(a, layer)}`;
}

export function spectrumTable(layer: ReportLayer, approx: Approx): DataTable {
  const a = layer[approx];
  const exact = layer.exact?.eigenvalues ?? [];
  const count = Math.max(a.kfac.length, a.ekfac.length, exact.length);
  const shown = Math.min(count, TABLE_ROW_LIMIT);
  const cell = (values: readonly number[], i: number) => (i < values.length ? formatValue(values[i]) : '');
  const columns = ['Rank', 'K-FAC', 'EK-FAC', ...(layer.exact ? ['exact'] : [])];
  const rows = Array.from({ length: shown }, (_, i) => [
    String(i + 1),
    cell(a.kfac, i),
    cell(a.ekfac, i),
    ...(layer.exact ? [cell(exact, i)] : []),
  ]);
  return {
    caption: `Eigenvalues of layer ${layer.name}, K-FAC-${approx}, largest first`,
    columns,
    rows,
    ...(shown < count ? { note: `Showing the largest ${shown} of ${count.toLocaleString('en-US')} ranks.` } : {}),
  };
}

/** One row per layer: sizes and both approximations' fits. */
export function layerTable(layers: readonly ReportLayer[]): DataTable {
  const fit = (a: ReportApproximation, key: 'kfac' | 'ekfac') => (a.fit ? formatValue(a.fit[key]) : '—');
  return {
    caption: 'The K-FAC layers and how well each approximation fits their exact curvature block',
    columns: ['Layer', 'weights (dOut × width)', 'shared dims', 'expand: K-FAC', 'expand: EK-FAC', 'reduce: K-FAC', 'reduce: EK-FAC'],
    rows: layers.map((l) => [
      l.name,
      `${l.dOut} × ${l.width} = ${l.params.toLocaleString('en-US')}`,
      l.sharedDims.length > 0 ? l.sharedDims.join(', ') : 'none',
      fit(l.expand, 'kfac'),
      fit(l.expand, 'ekfac'),
      fit(l.reduce, 'kfac'),
      fit(l.reduce, 'ekfac'),
    ]),
  };
}
