// Pure builders for the NGD page's figures and tables from the 'ngd' job's result: residual norm per
// step (log) with each method's predicted line, the trajectories of two outputs, and the per-step
// ratio against width approaching 1 − η.
import type { Dash, Data, Layout, ScatterData } from 'plotly.js-dist-min';
import type { NgdJobResult } from '../../../worker/jobs/ngd-job.ts';
import { formatValue, type DataTable } from '../../charts/data-table.ts';
import type { LegendItem } from '../../charts/legend-items.ts';
import { runStyle, runSymbol } from '../../charts/palette.ts';
import { GRID_COLOR, horizontalLine, PLOT_THEME, type PlotFigure } from '../../charts/plotly-text.ts';
import { METHOD_LABELS, type NgdPageMethod } from './ngd-store.ts';

type MarkerSymbol = NonNullable<ScatterData['marker']>['symbol'];
type Comparison = NgdJobResult['comparison'];
type WidthResult = Comparison['widths'][number];

const METHOD_INDEX: Record<NgdPageMethod, number> = { ngd: 3, gd: 0, kfac: 4 };
const style = (m: NgdPageMethod) => runStyle(METHOD_INDEX[m]);

function layout(uirevision: string, x: Partial<Layout['xaxis']>, y: Partial<Layout['yaxis']>): Partial<Layout> {
  return {
    ...PLOT_THEME,
    autosize: true,
    uirevision,
    hovermode: 'closest',
    margin: { l: 8, r: 8, t: 8, b: 8 },
    showlegend: false,
    xaxis: { automargin: true, gridcolor: GRID_COLOR, ...x },
    yaxis: { automargin: true, gridcolor: GRID_COLOR, exponentformat: 'power', ...y },
  };
}

export function methodLegend(w: WidthResult, withPredictions: boolean): LegendItem[] {
  const items: LegendItem[] = w.runs.map((r) => ({
    label: METHOD_LABELS[r.method],
    color: style(r.method).color,
    symbol: runSymbol(METHOD_INDEX[r.method]),
  }));
  if (withPredictions) items.push({ label: 'predicted: (1 − η)^k for NGD, (1 − λ₀/λ_max)^k for GD', color: '#6b7280', dash: 'dot' });
  return items;
}

/** ‖u_k − y‖ per step on a log axis, with dotted predicted lines from the same start. */
export function buildResidualFigure(w: WidthResult): PlotFigure {
  const data: Data[] = [];
  for (const r of w.runs) {
    const s = style(r.method);
    const steps = r.residuals.map((_, k) => k);
    data.push({
      type: 'scatter',
      mode: 'lines+markers',
      name: METHOD_LABELS[r.method],
      x: steps,
      y: r.residuals,
      line: { color: s.color, width: 2 },
      marker: { color: s.color, symbol: runSymbol(METHOD_INDEX[r.method]) as MarkerSymbol, size: 6 },
      hovertemplate: `${METHOD_LABELS[r.method]}, step %{x}: ‖r‖ = %{y:.3g}<extra></extra>`,
    });
    if (r.predictedRate !== null) {
      data.push({
        type: 'scatter',
        mode: 'lines',
        name: `${METHOD_LABELS[r.method]} predicted`,
        x: steps,
        y: steps.map((k) => r.residuals[0] * r.predictedRate! ** k),
        line: { color: s.color, dash: 'dot' as Dash, width: 1.5 },
        hovertemplate: `predicted ${r.method === 'ngd' ? '(1 − η)^k' : '(1 − λ₀/λ_max)^k'}, step %{x}: %{y:.3g}<extra></extra>`,
      });
    }
  }
  return {
    data,
    layout: layout('ngd-residual', { title: { text: 'step k' }, dtick: 1 }, { title: { text: 'residual ‖u − y‖' }, type: 'log' }),
  };
}

/** (u_i, u_j) per step for each method, and the target (y_i, y_j). */
export function buildTrajectoryFigure(input: { w: WidthResult; targets: [number, number]; pair: [number, number] }): PlotFigure {
  const { w, targets, pair } = input;
  const data: Data[] = w.runs.map((r) => {
    const s = style(r.method);
    return {
      type: 'scatter',
      mode: 'lines+markers',
      name: METHOD_LABELS[r.method],
      x: r.trajectory.map((p) => p[0]),
      y: r.trajectory.map((p) => p[1]),
      line: { color: s.color, width: 2 },
      marker: { color: s.color, symbol: runSymbol(METHOD_INDEX[r.method]) as MarkerSymbol, size: 6 },
      hovertemplate: `${METHOD_LABELS[r.method]}: (%{x:.3f}, %{y:.3f})<extra></extra>`,
    };
  });
  data.push({
    type: 'scatter',
    mode: 'markers',
    name: 'target',
    x: [targets[0]],
    y: [targets[1]],
    marker: { color: '#000000', symbol: 'star' as MarkerSymbol, size: 14 },
    hovertemplate: 'target (%{x:.3f}, %{y:.3f})<extra></extra>',
  });
  return {
    data,
    layout: layout(
      'ngd-trajectory',
      { title: { text: `output u of example ${pair[0]}` } },
      { title: { text: `output u of example ${pair[1]}` } },
    ),
  };
}

/** Mean of the first (up to 6) per-step ratios against width, per method, with the 1 − η line. */
export function buildRatioFigure(c: Comparison): PlotFigure {
  const methods = c.widths[0]?.runs.map((r) => r.method) ?? [];
  const data: Data[] = methods.map((m) => ({
    type: 'scatter',
    mode: 'lines+markers',
    name: METHOD_LABELS[m],
    x: c.widths.map((w) => w.width),
    y: c.widths.map((w) => meanRatio(w, m)),
    line: { color: style(m).color, width: 2 },
    marker: { color: style(m).color, symbol: runSymbol(METHOD_INDEX[m]) as MarkerSymbol, size: 7 },
    hovertemplate: `${METHOD_LABELS[m]}, width %{x}: mean ratio %{y:.4f}<extra></extra>`,
  }));
  const l = layout('ngd-ratio', { title: { text: 'width m' }, type: 'log' }, { title: { text: 'mean ‖r_{k+1}‖ / ‖r_k‖ (first 6 steps)' } });
  l.shapes = [
    horizontalLine(
      1 - c.eta,
      { color: '#6b7280', dash: 'dot', width: 1 },
      { text: `1 − η = ${(1 - c.eta).toFixed(2)}`, textposition: 'end' },
    ),
  ];
  return { data, layout: l };
}

export function meanRatio(w: WidthResult, method: NgdPageMethod): number | null {
  const r = w.runs.find((x) => x.method === method);
  if (!r) return null;
  const first = r.ratios.slice(0, 6);
  return first.reduce((a, b) => a + b, 0) / first.length;
}

export function residualTable(w: WidthResult): DataTable {
  return {
    caption: `Residual ‖u − y‖ per step at width ${w.width}, and each method's per-step ratio`,
    columns: ['step', ...w.runs.flatMap((r) => [METHOD_LABELS[r.method], `${r.method} ratio`])],
    rows: w.runs[0].residuals.map((_, k) => [
      String(k),
      ...w.runs.flatMap((r) => [formatValue(r.residuals[k]), k === 0 ? '—' : r.ratios[k - 1].toFixed(4)]),
    ]),
  };
}

export function trajectoryTable(input: { w: WidthResult; targets: [number, number] }): DataTable {
  const { w, targets } = input;
  return {
    caption: `Outputs of the two chosen examples per step (target ${targets.map((t) => t.toFixed(3)).join(', ')})`,
    columns: ['step', ...w.runs.map((r) => METHOD_LABELS[r.method])],
    rows: w.runs[0].trajectory.map((_, k) => [
      String(k),
      ...w.runs.map((r) => `(${r.trajectory[k][0].toFixed(3)}, ${r.trajectory[k][1].toFixed(3)})`),
    ]),
  };
}

export function widthTable(c: Comparison): DataTable {
  const methods = c.widths[0]?.runs.map((r) => r.method) ?? [];
  return {
    caption:
      'Per width: the Gram matrix J Jᵀ at the initial weights (λ₀ smallest, λ_max largest eigenvalue), GD’s predicted rate and each method’s mean ratio over the first 6 steps',
    columns: ['width', 'λ₀', 'λ_max', 'GD predicted 1 − λ₀/λ_max', ...methods.map((m) => `${METHOD_LABELS[m]} mean ratio`)],
    rows: c.widths.map((w) => [
      String(w.width),
      formatLambda0(w),
      formatValue(w.lambdaMax),
      w.gdRate.toFixed(4),
      ...methods.map((m) => {
        const v = meanRatio(w, m);
        return v === null ? '—' : v.toFixed(4);
      }),
    ]),
  };
}

/** λ₀ for display: rounding leaves a singular Gram matrix's smallest eigenvalue at ±1e-16 relative; say so. */
export function formatLambda0(w: WidthResult): string {
  return Math.abs(w.lambda0) <= 1e-10 * w.lambdaMax ? '≈ 0 (singular)' : formatValue(w.lambda0);
}

export function residualSummary(w: WidthResult, eta: number): string {
  const ngd = meanRatio(w, 'ngd');
  return `Width ${w.width}: NGD’s mean per-step ratio ${ngd === null ? '—' : ngd.toFixed(4)} against 1 − η = ${(1 - eta).toFixed(2)}; λ₀ = ${formatLambda0(w)}.`;
}
