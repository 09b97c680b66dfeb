// Pure builders for the Pruning page's figures from the worker's 'prune' result: test accuracy
// against sparsity per method (one-shot solid, after fine-tuning dashed, the dense model as a line),
// the OBS-predicted against the measured loss increase, and a layer's mask as an image — for the
// MLP's first layer (196 = 14 × 14 inputs) one 14 × 14 tile per hidden unit showing the pixels it
// still sees, and how many units still see each pixel.
import type { Data, Layout, ScatterData } from 'plotly.js-dist-min';

type MarkerSymbol = NonNullable<ScatterData['marker']>['symbol'];
import type { PruneRun } from '../../../engine/tools/prune/prune-experiment.ts';
import { formatValue, type DataTable } from '../../charts/data-table.ts';
import type { LegendItem } from '../../charts/legend-items.ts';
import { GRID_COLOR, horizontalLine, PLOT_THEME, type PlotFigure } from '../../charts/plotly-text.ts';

/** One Okabe–Ito colour, marker and label per method, fixed so that a method looks the same in every figure. */
export const METHOD_STYLES: Readonly<Record<string, { label: string; color: string; symbol: string }>> = {
  magnitude: { label: 'magnitude', color: '#E69F00', symbol: 'circle' },
  'diag-fisher': { label: 'diagonal Fisher', color: '#56B4E9', symbol: 'square' },
  woodfisher: { label: 'WoodFisher (OBS)', color: '#009E73', symbol: 'diamond' },
  'kfac-obs': { label: 'K-FAC-OBS', color: '#0072B2', symbol: 'triangle-up' },
  'ggn-obs': { label: 'exact-GGN OBS', color: '#000000', symbol: 'x' },
};

const styleOf = (method: string) => METHOD_STYLES[method] ?? { label: method, color: '#CC79A7', symbol: 'star' };

function methodsOf(runs: readonly PruneRun[]): string[] {
  return [...new Set(runs.map((r) => r.method))];
}

const pct = (x: number) => `${(100 * x).toFixed(1)} %`;

export function accuracyLegend(runs: readonly PruneRun[]): LegendItem[] {
  const items: LegendItem[] = methodsOf(runs).map((m) => ({
    label: styleOf(m).label,
    color: styleOf(m).color,
    symbol: styleOf(m).symbol,
    dash: 'solid',
  }));
  if (runs.some((r) => r.finetuned)) items.push({ label: 'after fine-tuning (dashed)', color: '#555555', dash: 'dash' });
  items.push({ label: 'dense model', color: '#000000', dash: 'dot' });
  return items;
}

export function buildAccuracyFigure(runs: readonly PruneRun[], dense: number): PlotFigure {
  const data: Data[] = [];
  for (const m of methodsOf(runs)) {
    const rs = runs.filter((r) => r.method === m).sort((a, b) => a.sparsity - b.sparsity);
    const s = styleOf(m);
    data.push({
      type: 'scatter',
      uid: `acc-${m}`,
      name: s.label,
      x: rs.map((r) => r.sparsity),
      y: rs.map((r) => 100 * r.testAccuracy),
      mode: 'lines+markers',
      line: { color: s.color, width: 2 },
      marker: { color: s.color, symbol: s.symbol as MarkerSymbol, size: 7 },
      hovertemplate: `${s.label}, sparsity %{x}: %{y:.1f} %<extra></extra>`,
    });
    if (rs.some((r) => r.finetuned))
      data.push({
        type: 'scatter',
        uid: `acc-${m}-finetuned`,
        name: `${s.label}, fine-tuned`,
        x: rs.map((r) => r.sparsity),
        y: rs.map((r) => 100 * (r.finetuned?.testAccuracy ?? Number.NaN)),
        mode: 'lines+markers',
        line: { color: s.color, width: 1.5, dash: 'dash' },
        marker: { color: s.color, symbol: `${s.symbol}-open` as MarkerSymbol, size: 7 },
        hovertemplate: `${s.label} after fine-tuning, sparsity %{x}: %{y:.1f} %<extra></extra>`,
      });
  }
  const layout: Partial<Layout> = {
    ...PLOT_THEME,
    autosize: true,
    uirevision: 'pruning-accuracy',
    hovermode: 'closest',
    margin: { l: 8, r: 8, t: 8, b: 8 },
    showlegend: false,
    xaxis: { title: { text: 'sparsity (fraction of weights removed)' }, range: [0, 1], automargin: true, gridcolor: GRID_COLOR },
    yaxis: { title: { text: 'test accuracy (%)' }, range: [0, 100], automargin: true, gridcolor: GRID_COLOR },
    shapes: [
      horizontalLine(100 * dense, { color: '#000000', dash: 'dot', width: 1 }, { text: `dense ${pct(dense)}`, textposition: 'start' }),
    ],
  };
  return { data, layout };
}

export function accuracySummary(runs: readonly PruneRun[], dense: number): string {
  const highest = Math.max(...runs.map((r) => r.sparsity));
  const at = runs.filter((r) => r.sparsity === highest).sort((a, b) => b.testAccuracy - a.testAccuracy);
  return `Dense model ${pct(dense)}. At sparsity ${highest}: ${at.map((r) => `${styleOf(r.method).label} ${pct(r.testAccuracy)}`).join(', ')}.`;
}

export function accuracyTable(runs: readonly PruneRun[]): DataTable {
  const finetuned = runs.some((r) => r.finetuned);
  return {
    caption: 'Test accuracy after pruning, per method and sparsity',
    columns: ['method', 'sparsity', 'test accuracy', ...(finetuned ? ['after fine-tuning'] : []), 'seconds'],
    rows: runs.map((r) => [
      styleOf(r.method).label,
      String(r.sparsity),
      pct(r.testAccuracy),
      ...(finetuned ? [r.finetuned ? pct(r.finetuned.testAccuracy) : '—'] : []),
      r.seconds.toFixed(2),
    ]),
  };
}

/** Runs with a prediction and a positive measured increase can go on the log–log chart. */
function predictedPoints(runs: readonly PruneRun[]) {
  return runs.filter((r) => r.predictedIncrease !== null && r.predictedIncrease > 0 && r.lossAfter - r.lossBefore > 0);
}

export function buildLossFigure(runs: readonly PruneRun[]): PlotFigure {
  const points = predictedPoints(runs);
  const data: Data[] = methodsOf(points).map((m) => {
    const rs = points.filter((r) => r.method === m);
    const s = styleOf(m);
    return {
      type: 'scatter',
      uid: `loss-${m}`,
      name: s.label,
      x: rs.map((r) => r.predictedIncrease!),
      y: rs.map((r) => r.lossAfter - r.lossBefore),
      text: rs.map((r) => `sparsity ${r.sparsity}`),
      mode: 'markers',
      marker: { color: s.color, symbol: s.symbol as MarkerSymbol, size: 8 },
      hovertemplate: `${s.label}, %{text}: predicted %{x:.3g}, measured %{y:.3g}<extra></extra>`,
    };
  });
  const all = points.flatMap((r) => [r.predictedIncrease!, r.lossAfter - r.lossBefore]);
  if (all.length > 0) {
    const lo = Math.min(...all);
    const hi = Math.max(...all);
    data.push({
      type: 'scatter',
      uid: 'loss-diagonal',
      name: 'measured = predicted',
      x: [lo, hi],
      y: [lo, hi],
      mode: 'lines',
      line: { color: '#000000', dash: 'dot', width: 1 },
      hoverinfo: 'skip',
    });
  }
  const layout: Partial<Layout> = {
    ...PLOT_THEME,
    autosize: true,
    uirevision: 'pruning-loss',
    hovermode: 'closest',
    margin: { l: 8, r: 8, t: 8, b: 8 },
    showlegend: false,
    xaxis: {
      title: { text: 'predicted increase Σ ρ (quadratic model)' },
      type: 'log',
      automargin: true,
      exponentformat: 'power',
      gridcolor: GRID_COLOR,
    },
    yaxis: {
      title: { text: 'measured increase of the training loss' },
      type: 'log',
      automargin: true,
      exponentformat: 'power',
      gridcolor: GRID_COLOR,
    },
  };
  return { data, layout };
}

export function lossSummary(runs: readonly PruneRun[]): string {
  const points = predictedPoints(runs);
  if (points.length === 0) return 'No run has both a prediction and a measured increase above zero.';
  const ratios = points.map((r) => (r.lossAfter - r.lossBefore) / r.predictedIncrease!).sort((a, b) => a - b);
  return `Measured / predicted loss increase: median ${formatValue(ratios[Math.floor(ratios.length / 2)])} over ${points.length} runs (1 would be a perfect quadratic model).`;
}

export function lossTable(runs: readonly PruneRun[]): DataTable {
  return {
    caption: 'Predicted and measured increase of the mean training loss on the curvature examples',
    columns: ['method', 'sparsity', 'predicted Σ ρ', 'measured', 'loss after'],
    rows: runs.map((r) => [
      styleOf(r.method).label,
      String(r.sparsity),
      r.predictedIncrease === null ? '— (magnitude predicts nothing)' : formatValue(r.predictedIncrease),
      formatValue(r.lossAfter - r.lossBefore),
      formatValue(r.lossAfter),
    ]),
  };
}

export const MLP_IMAGE_SIDE = 14;

/** Whether a layer's inputs are the 14 × 14 pixels (the MLP's first layer). */
export function seesPixels(dIn: number): boolean {
  return dIn === MLP_IMAGE_SIDE * MLP_IMAGE_SIDE;
}

/** A mask [dOut, dIn] as an image: for pixel inputs a mosaic of 14 × 14 tiles (one per unit, 1 px gaps, NaN between); else as it is. */
export function maskImage(mask: ArrayLike<number>, dOut: number, dIn: number): { z: (number | null)[][]; tiles: number } {
  if (!seesPixels(dIn))
    return { z: Array.from({ length: dOut }, (_, i) => Array.from({ length: dIn }, (_, j) => mask[i * dIn + j])), tiles: 0 };
  const side = MLP_IMAGE_SIDE;
  const cols = Math.ceil(Math.sqrt(dOut));
  const rows = Math.ceil(dOut / cols);
  const z: (number | null)[][] = Array.from({ length: rows * (side + 1) - 1 }, () =>
    new Array<number | null>(cols * (side + 1) - 1).fill(null),
  );
  for (let u = 0; u < dOut; u++) {
    const [tr, tc] = [Math.floor(u / cols), u % cols];
    for (let p = 0; p < dIn; p++) z[tr * (side + 1) + Math.floor(p / side)][tc * (side + 1) + (p % side)] = mask[u * dIn + p];
  }
  return { z, tiles: dOut };
}

/** For pixel inputs: how many units still see each pixel, [14][14]. */
export function pixelCoverage(mask: ArrayLike<number>, dOut: number, dIn: number): number[][] {
  const side = MLP_IMAGE_SIDE;
  const out = Array.from({ length: side }, () => new Array<number>(side).fill(0));
  for (let u = 0; u < dOut; u++) for (let p = 0; p < dIn; p++) out[Math.floor(p / side)][p % side] += mask[u * dIn + p];
  return out;
}

function imageLayout(revision: string): Partial<Layout> {
  return {
    ...PLOT_THEME,
    autosize: true,
    uirevision: revision,
    margin: { l: 8, r: 8, t: 8, b: 8 },
    xaxis: { visible: false, constrain: 'domain' },
    yaxis: { visible: false, autorange: 'reversed', scaleanchor: 'x' },
  };
}

export function buildMaskFigure(mask: ArrayLike<number>, dOut: number, dIn: number): PlotFigure {
  const { z } = maskImage(mask, dOut, dIn);
  return {
    data: [
      {
        type: 'heatmap',
        uid: 'mask',
        z,
        zmin: 0,
        zmax: 1,
        colorscale: [
          [0, '#f2f2f2'],
          [1, '#0072B2'],
        ],
        showscale: false,
        hoverongaps: false,
        hovertemplate: seesPixels(dIn) ? 'kept %{z}<extra></extra>' : 'output %{y}, input %{x}: kept %{z}<extra></extra>',
      },
    ],
    layout: imageLayout('pruning-mask'),
  };
}

export function buildCoverageFigure(mask: ArrayLike<number>, dOut: number, dIn: number): PlotFigure {
  return {
    data: [
      {
        type: 'heatmap',
        uid: 'coverage',
        z: pixelCoverage(mask, dOut, dIn),
        zmin: 0,
        zmax: dOut,
        colorscale: 'Viridis',
        colorbar: { title: { text: 'units' }, thickness: 10 },
        hovertemplate: 'pixel (%{y}, %{x}): seen by %{z} units<extra></extra>',
      },
    ],
    layout: imageLayout('pruning-coverage'),
  };
}

export function maskSummary(run: PruneRun, layer: number): string {
  const l = run.layers[layer];
  const total = l.dOut * l.dIn;
  return `${styleOf(run.method).label} at sparsity ${run.sparsity}: layer ${l.name} keeps ${l.kept.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} weights (${pct(l.kept / total)}).`;
}

export function maskTable(run: PruneRun): DataTable {
  return {
    caption: `Weights kept per layer: ${styleOf(run.method).label} at sparsity ${run.sparsity}`,
    columns: ['layer', 'weights', 'kept', 'kept %'],
    rows: run.layers.map((l) => [l.name, `${l.dOut} × ${l.dIn}`, String(l.kept), pct(l.kept / (l.dOut * l.dIn))]),
  };
}

export function coverageTable(mask: ArrayLike<number>, dOut: number, dIn: number): DataTable {
  const c = pixelCoverage(mask, dOut, dIn);
  return {
    caption: 'Units that still see each pixel (row = image row)',
    columns: ['row', ...Array.from({ length: MLP_IMAGE_SIDE }, (_, j) => String(j))],
    rows: c.map((row, i) => [String(i), ...row.map(String)]),
  };
}

export function methodLabel(method: string): string {
  return styleOf(method).label;
}
