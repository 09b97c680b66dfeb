// Pure builders for the Memorisation page's figures from the 'edit' job's sweep
// (src/engine/memorisation/sweep.ts): the four accuracies against ρ (K-FAC solid, SVD at equal rank
// dashed, rectangle dotted) with the slider's ρ marked; the (i, j) grid of Kronecker components
// kept or removed at that ρ; and a layer's curvature spectrum {κ_i μ_j} with the cut.
import type { Data, Layout } from 'plotly.js-dist-min';
import type { LayerDiagnostics, SweepResult, SweepRow } from '../../../engine/memorisation/sweep.ts';
import type { EditMethod } from '../../../engine/tools/edit/edit.ts';
import { thinByLogRank } from '../../charts/curvature-figures.ts';
import { formatPercent, formatValue, type DataTable } from '../../charts/data-table.ts';
import type { LegendItem } from '../../charts/legend-items.ts';
import { GRID_COLOR, PLOT_THEME, type PlotFigure } from '../../charts/plotly-text.ts';

export const METRICS = [
  { key: 'memorisedAccuracy', label: 'memorised (memorised label)', color: '#D55E00' },
  { key: 'memorisedTrueLabelAccuracy', label: 'memorised (true label)', color: '#CC79A7' },
  { key: 'cleanTrainAccuracy', label: 'clean training', color: '#009E73' },
  { key: 'testAccuracy', label: 'test', color: '#0072B2' },
] as const;

export const METHOD_STYLES: Record<EditMethod, { label: string; dash: 'solid' | 'dash' | 'dot' }> = {
  kfac: { label: 'K-FAC edit (pairwise)', dash: 'solid' },
  svd: { label: 'SVD at equal rank', dash: 'dash' },
  rectangle: { label: 'rectangle variant', dash: 'dot' },
};

export function accuracyLegend(): LegendItem[] {
  return [
    ...METRICS.map((m) => ({ label: m.label, color: m.color })),
    ...(Object.keys(METHOD_STYLES) as EditMethod[]).map((k) => ({
      label: METHOD_STYLES[k].label,
      color: '#000000',
      dash: METHOD_STYLES[k].dash,
    })),
  ];
}

export const rhoLabel = (rho: number) => String(rho);

export function rowAt(sweep: SweepResult, method: EditMethod, rho: number): SweepRow | undefined {
  return sweep.rows.find((r) => r.method === method && r.rho === rho);
}

/** The four accuracies against ρ (a categorical axis: the grid is dense near 1), every method. */
export function buildAccuracyFigure(sweep: SweepResult, rho: number): PlotFigure {
  const x = sweep.rhos.map(rhoLabel);
  const data: Data[] = [];
  for (const method of ['svd', 'rectangle', 'kfac'] as const) {
    if (!sweep.rows.some((r) => r.method === method)) continue;
    for (const m of METRICS) {
      data.push({
        type: 'scatter',
        uid: `${method}-${m.key}`,
        name: `${m.label}, ${METHOD_STYLES[method].label}`,
        x,
        y: sweep.rhos.map((r) => (rowAt(sweep, method, r)?.[m.key] ?? Number.NaN) * 100),
        mode: method === 'kfac' ? 'lines+markers' : 'lines',
        line: { color: m.color, dash: METHOD_STYLES[method].dash, width: method === 'kfac' ? 2.5 : 1.5 },
        marker: { color: m.color, size: 5 },
        opacity: method === 'kfac' ? 1 : 0.75,
        hovertemplate: `${METHOD_STYLES[method].label}<br>${m.label} at ρ = %{x}: %{y:.1f}%<extra></extra>`,
      });
    }
  }
  const layout: Partial<Layout> = {
    ...PLOT_THEME,
    autosize: true,
    uirevision: 'memorisation-accuracy',
    hovermode: 'closest',
    margin: { l: 8, r: 8, t: 8, b: 8 },
    showlegend: false,
    xaxis: { title: { text: 'keep-mass ρ (the grid, evenly spaced)' }, type: 'category', automargin: true, gridcolor: GRID_COLOR },
    yaxis: { title: { text: 'accuracy (%)' }, range: [-2, 102], automargin: true, gridcolor: GRID_COLOR },
    shapes: [
      {
        type: 'line',
        xref: 'x',
        yref: 'paper',
        x0: rhoLabel(rho),
        x1: rhoLabel(rho),
        y0: 0,
        y1: 1,
        line: { color: '#000000', width: 1, dash: 'dot' },
      },
    ],
  };
  return { data, layout };
}

export function accuracyTable(sweep: SweepResult): DataTable {
  return {
    caption: 'Accuracy after each edit (ρ = 1: the unedited model)',
    columns: ['method', 'ρ', 'kept rank', ...METRICS.map((m) => m.label)],
    rows: sweep.rows.map((r) => [
      METHOD_STYLES[r.method].label,
      rhoLabel(r.rho),
      String(r.keptRank),
      ...METRICS.map((m) => formatPercent(r[m.key])),
    ]),
  };
}

export function accuracySummary(sweep: SweepResult, rho: number): string {
  const k = rowAt(sweep, 'kfac', rho);
  const s = rowAt(sweep, 'svd', rho);
  if (!k) return 'No K-FAC edit at this ρ.';
  const text = (r: SweepRow) => `memorised ${formatPercent(r.memorisedAccuracy)}, test ${formatPercent(r.testAccuracy)}`;
  return `At ρ = ${rho}: K-FAC edit ${text(k)} (rank ${k.keptRank})${s ? `; SVD at equal rank ${text(s)}` : ''}; unedited ${text({ ...k, ...sweep.baseline })}.`;
}

/** Whether component q of a layer is kept by the pairwise edit at `rho` (bands count from the largest curvature). */
export function keptMask(layer: LayerDiagnostics, rho: number): boolean[] {
  if (rho >= 1) return layer.bands.map(() => true);
  const level = layer.levels.indexOf(rho);
  // ρ off the band levels (cannot happen for the job's own grid): keep what the next larger level keeps.
  const at = level >= 0 ? level : layer.levels.findIndex((l) => l >= rho);
  return layer.bands.map((b) => at >= 0 && b <= at);
}

/** The (i, j) grid: kept components blue, removed orange; rows i are G's eigenvectors (κ descending), columns j A's (μ descending). */
export function buildPairsFigure(layer: LayerDiagnostics, rho: number): PlotFigure {
  const kept = keptMask(layer, rho);
  const z = Array.from({ length: layer.dOut }, (_, i) => Array.from({ length: layer.dIn }, (_, j) => (kept[i * layer.dIn + j] ? 1 : 0)));
  return {
    data: [
      {
        type: 'heatmap',
        z,
        zmin: 0,
        zmax: 1,
        colorscale: [
          [0, '#E69F00'],
          [0.5, '#E69F00'],
          [0.5, '#0072B2'],
          [1, '#0072B2'],
        ],
        showscale: false,
        hovertemplate: 'κ index i = %{y}, μ index j = %{x}: %{z}<extra>1 kept, 0 removed</extra>',
      },
    ],
    layout: {
      ...PLOT_THEME,
      autosize: true,
      uirevision: `pairs-${layer.name}`,
      margin: { l: 8, r: 8, t: 8, b: 8 },
      xaxis: { title: { text: 'j: eigenvector of A (μ largest first)' }, automargin: true },
      yaxis: { title: { text: 'i: eigenvector of G (κ largest first)' }, autorange: 'reversed', automargin: true },
    },
  };
}

export function pairsSummary(layer: LayerDiagnostics, rho: number): string {
  const kept = keptMask(layer, rho).filter(Boolean).length;
  return `Layer ${layer.name} at ρ = ${rho}: ${kept.toLocaleString('en-US')} of ${(layer.dOut * layer.dIn).toLocaleString('en-US')} components kept (top-left: the largest κ_i μ_j).`;
}

/** The layer's curvature spectrum {κ_i μ_j}, largest first, with the pairwise cut at ρ. */
export function buildSpectrumFigure(layer: LayerDiagnostics, rho: number): PlotFigure {
  const products = sortedProducts(layer);
  const kept = keptMask(layer, rho).filter(Boolean).length;
  const points = thinByLogRank({ x: products.map((_, i) => i + 1), y: products.map((p) => p) });
  const positive = points.x.flatMap((x, k) => (points.y[k] > 0 ? [[x, points.y[k]] as const] : []));
  return {
    data: [
      {
        type: 'scatter',
        x: positive.map((p) => p[0]),
        y: positive.map((p) => p[1]),
        mode: 'lines',
        line: { color: '#0072B2', width: 2 },
        hovertemplate: 'rank %{x}: κμ = %{y:.3g}<extra></extra>',
      },
    ],
    layout: {
      ...PLOT_THEME,
      autosize: true,
      uirevision: `spectrum-${layer.name}`,
      margin: { l: 8, r: 8, t: 8, b: 8 },
      showlegend: false,
      xaxis: { title: { text: 'rank of κ_i μ_j (largest first)' }, type: 'log', automargin: true, gridcolor: GRID_COLOR },
      yaxis: { title: { text: 'curvature κ_i μ_j' }, type: 'log', exponentformat: 'power', automargin: true, gridcolor: GRID_COLOR },
      shapes:
        kept < products.length
          ? [
              {
                type: 'line',
                xref: 'x',
                yref: 'paper',
                x0: kept + 0.5,
                x1: kept + 0.5,
                y0: 0,
                y1: 1,
                line: { color: '#D55E00', width: 2, dash: 'dash' },
                label: { text: `cut at ρ = ${rho}`, textposition: 'end' },
              },
            ]
          : [],
    },
  };
}

export function sortedProducts(layer: LayerDiagnostics): number[] {
  const out: number[] = [];
  for (const k of layer.kappa) for (const m of layer.mu) out.push(k * m);
  return out.sort((a, b) => b - a);
}

export function spectrumTable(layer: LayerDiagnostics): DataTable {
  return {
    caption: `Energy and activation per curvature band, layer ${layer.name}`,
    columns: ['band (kept up to ρ)', 'share of ‖W‖²', 'activation, memorised', 'activation, clean', 'memorised / clean'],
    rows: [...layer.levels.map(String), 'removed at every ρ < 1'].map((label, b) => [
      label,
      formatPercent(layer.energyShare[b]),
      formatValue(layer.activation.memorised[b]),
      formatValue(layer.activation.clean[b]),
      layer.activation.clean[b] > 0 ? formatValue(layer.activation.memorised[b] / layer.activation.clean[b]) : '—',
    ]),
  };
}

/**
 * What the result shows, in numbers: the gentlest ρ < 1 at which the K-FAC edit halves
 * memorised-label accuracy while test accuracy drops by at most 2 points, and SVD at that rank.
 */
export function findings(sweep: SweepResult): string {
  const base = sweep.baseline;
  const ok = (r: SweepRow) => r.rho < 1 && r.memorisedAccuracy <= base.memorisedAccuracy / 2 && r.testAccuracy >= base.testAccuracy - 0.02;
  const kfac = sweep.rows.filter((r) => r.method === 'kfac' && ok(r)).sort((a, b) => b.rho - a.rho)[0];
  const unedited = `Unedited: memorised ${formatPercent(base.memorisedAccuracy)} (true label ${formatPercent(base.memorisedTrueLabelAccuracy)}), clean training ${formatPercent(base.cleanTrainAccuracy)}, test ${formatPercent(base.testAccuracy)}.`;
  if (!kfac) return `${unedited} On this grid no K-FAC edit halves memorised-label accuracy while keeping test accuracy within 2 points.`;
  const svd = rowAt(sweep, 'svd', kfac.rho);
  const svdText = svd
    ? ` SVD at the same rank (${svd.keptRank}): memorised ${formatPercent(svd.memorisedAccuracy)}, test ${formatPercent(svd.testAccuracy)}${ok(svd) ? ' — it meets the goal too' : ' — it does not meet the goal'}.`
    : '';
  return `${unedited} At ρ = ${kfac.rho} the K-FAC edit brings memorised-label accuracy to ${formatPercent(kfac.memorisedAccuracy)} (true label ${formatPercent(kfac.memorisedTrueLabelAccuracy)}) with test ${formatPercent(kfac.testAccuracy)} and clean training ${formatPercent(kfac.cleanTrainAccuracy)}.${svdText}`;
}
