// Pure builders for the Thermodynamic page's figures and tables from the 'thermo' job's result
// (src/worker/jobs/thermo-job.ts): the race's loss and accuracy, the device's inverse error against
// S and b, and the cost model digital n³ vs analog n²κ² with the measured κ as width grows.
import type { Dash, Data, Layout, ScatterData } from 'plotly.js-dist-min';

type MarkerSymbol = NonNullable<ScatterData['marker']>['symbol'];
import type { ThermoJobResult } from '../../../worker/jobs/thermo-job.ts';
import { formatPercent, formatValue, type DataTable } from '../../charts/data-table.ts';
import type { LegendItem } from '../../charts/legend-items.ts';
import { runStyle, runSymbol } from '../../charts/palette.ts';
import { GRID_COLOR, horizontalLine, PLOT_THEME, plotlyText, type PlotFigure } from '../../charts/plotly-text.ts';
import { debiasedEma } from '../../charts/smoothing.ts';

type Race = ThermoJobResult['race'];
type Errors = ThermoJobResult['errors'];
type Cost = ThermoJobResult['cost'];

function baseLayout(uirevision: string, x: Partial<Layout['xaxis']>, y: Partial<Layout['yaxis']>): Partial<Layout> {
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

export function raceLegend(race: Race): LegendItem[] {
  return race.runs.map((r, i) => ({ label: r.label, ...runStyle(i) }));
}

/** Training loss per step, debiased EMA (0.6) per run. */
export function buildLossFigure(race: Race): PlotFigure {
  const data: Data[] = race.runs.map((r, i) => ({
    type: 'scatter',
    mode: 'lines',
    name: plotlyText(r.label),
    x: r.losses.map((_, k) => k + 1),
    y: debiasedEma(r.losses, 0.6),
    line: { color: runStyle(i).color, dash: runStyle(i).dash as Dash, width: 2 },
    hovertemplate: `${plotlyText(r.label)}, step %{x}: %{y:.4g}<extra></extra>`,
  }));
  return {
    data,
    layout: baseLayout('thermo-loss', { title: { text: 'step' } }, { title: { text: 'training loss (smoothed)' }, type: 'log' }),
  };
}

export function buildAccuracyFigure(race: Race): PlotFigure {
  const data: Data[] = race.runs.map((r, i) => ({
    type: 'scatter',
    mode: 'lines+markers',
    name: plotlyText(r.label),
    x: r.evalSteps,
    y: r.accuracies,
    line: { color: runStyle(i).color, dash: runStyle(i).dash as Dash, width: 2 },
    marker: { color: runStyle(i).color, symbol: runSymbol(i) as MarkerSymbol, size: 5 },
    hovertemplate: `${plotlyText(r.label)}, step %{x}: %{y:.1%}<extra></extra>`,
  }));
  const layout = baseLayout('thermo-acc', { title: { text: 'step' } }, { title: { text: 'validation accuracy' }, tickformat: '.0%' });
  layout.shapes = [
    horizontalLine(
      race.target,
      { color: '#6b7280', dash: 'dot', width: 1 },
      { text: `target ${formatPercent(race.target)}`, textposition: 'end' },
    ),
  ];
  return { data, layout };
}

/** The share of digital K-FAC's step advantage over Adam a run keeps (null when undefined). */
export function keptShare(race: Race, stepsToTarget: number | null): number | null {
  const adam = race.runs.find((r) => r.optimizer === 'adam')?.stepsToTarget ?? null;
  const kfac = race.runs.find((r) => r.optimizer === 'kfac')?.stepsToTarget ?? null;
  if (adam === null || kfac === null || stepsToTarget === null || !(adam > kfac)) return null;
  return (adam - stepsToTarget) / (adam - kfac);
}

export function raceTable(race: Race): DataTable {
  return {
    caption: `Steps to ${formatPercent(race.target)} validation accuracy (checked every few steps), final loss and time per run`,
    columns: ['run', 'steps to target', 'kept share of K-FAC’s advantage', 'final loss (last 10 steps)', 'final accuracy', 'time'],
    rows: race.runs.map((r) => {
      const kept = r.optimizer === 'kfac-thermodynamic' ? keptShare(race, r.stepsToTarget) : null;
      return [
        r.label + (r.error ? ` (stopped: ${r.error})` : ''),
        r.stepsToTarget === null ? 'not reached' : String(r.stepsToTarget),
        kept === null ? '—' : formatPercent(kept),
        formatValue(r.finalLoss),
        formatPercent(r.accuracies.at(-1)),
        `${(r.ms / 1000).toFixed(1)} s`,
      ];
    }),
  };
}

const bitsLabel = (b: number) => (b === 0 ? 'exact (no quantisation)' : `${b} bits`);

export function errorLegend(errors: Errors): LegendItem[] {
  return [...errors.bits.map((b, i) => ({ label: bitsLabel(b), ...runStyle(i) })), { label: '∝ 1/√S', color: '#6b7280', dash: 'dot' }];
}

/** Relative error against S (log–log), one line per b, and a 1/√S guide through the first exact point. */
export function buildErrorVsSamplesFigure(errors: Errors): PlotFigure {
  const data: Data[] = errors.bits.map((b, i) => ({
    type: 'scatter',
    mode: 'lines+markers',
    name: bitsLabel(b),
    x: errors.samples,
    y: errors.errors[i],
    line: { color: runStyle(i).color, dash: runStyle(i).dash as Dash, width: 2 },
    marker: { color: runStyle(i).color, symbol: runSymbol(i) as MarkerSymbol, size: 6 },
    hovertemplate: `${bitsLabel(b)}, S = %{x}: %{y:.3g}<extra></extra>`,
  }));
  const exactRow = errors.bits.indexOf(0) >= 0 ? errors.bits.indexOf(0) : errors.bits.length - 1;
  const [s0, e0] = [errors.samples[0], errors.errors[exactRow][0]];
  data.push({
    type: 'scatter',
    mode: 'lines',
    name: '∝ 1/√S',
    x: errors.samples,
    y: errors.samples.map((s) => e0 * Math.sqrt(s0 / s)),
    line: { color: '#6b7280', dash: 'dot', width: 1 },
    hoverinfo: 'skip',
  });
  return {
    data,
    layout: baseLayout(
      'thermo-err-s',
      { title: { text: 'samples S' }, type: 'log' },
      { title: { text: '‖M̂⁻¹ − M⁻¹‖ / ‖M⁻¹‖' }, type: 'log' },
    ),
  };
}

export function errorVsBitsLegend(errors: Errors): LegendItem[] {
  return errors.samples.map((s, i) => ({ label: `S = ${s}`, ...runStyle(i) }));
}

/** Relative error against b (categories, exact last), one line per S. */
export function buildErrorVsBitsFigure(errors: Errors): PlotFigure {
  const order = errors.bits.map((b, i) => ({ b, i })).sort((x, y) => (x.b === 0 ? 99 : x.b) - (y.b === 0 ? 99 : y.b));
  const labels = order.map(({ b }) => (b === 0 ? 'exact' : String(b)));
  const data: Data[] = errors.samples.map((s, j) => ({
    type: 'scatter',
    mode: 'lines+markers',
    name: `S = ${s}`,
    x: labels,
    y: order.map(({ i }) => errors.errors[i][j]),
    line: { color: runStyle(j).color, dash: runStyle(j).dash as Dash, width: 2 },
    marker: { color: runStyle(j).color, symbol: runSymbol(j) as MarkerSymbol, size: 6 },
    hovertemplate: `S = ${s}, b = %{x}: %{y:.3g}<extra></extra>`,
  }));
  return {
    data,
    layout: baseLayout('thermo-err-b', { title: { text: 'bits b' }, type: 'category' }, { title: { text: 'relative error' }, type: 'log' }),
  };
}

export function errorTable(errors: Errors): DataTable {
  return {
    caption: 'The device’s relative error ‖M̂⁻¹ − M⁻¹‖_F / ‖M⁻¹‖_F, mean over the model’s damped factors and 2 seeds',
    columns: ['bits b', ...errors.samples.map((s) => `S = ${s}`)],
    rows: errors.bits.map((b, i) => [bitsLabel(b), ...errors.errors[i].map((e) => formatValue(e))]),
  };
}

export const COST_LEGEND: LegendItem[] = [
  { label: 'digital n³', color: '#0072B2', symbol: 'circle' },
  { label: 'analog n²κ²', color: '#D55E00', symbol: 'diamond' },
];

/** Operations per factor inversion against the factor's size n, both models, every factor at every width. */
export function buildCostFigure(cost: Cost): PlotFigure {
  const points = cost.flatMap((w) => w.factors.map((f) => ({ ...f, width: w.width })));
  const text = points.map((p) => `width ${p.width}: ${plotlyText(p.layer)} ${p.factor} (n = ${p.n}, κ = ${formatValue(p.condition)})`);
  const data: Data[] = [
    {
      type: 'scatter',
      mode: 'markers',
      name: 'digital n³',
      x: points.map((p) => p.n),
      y: points.map((p) => p.digital),
      text,
      marker: { color: '#0072B2', symbol: 'circle', size: 7 },
      hovertemplate: '%{text}<br>digital %{y:.3g}<extra></extra>',
    },
    {
      type: 'scatter',
      mode: 'markers',
      name: 'analog n²κ²',
      x: points.map((p) => p.n),
      y: points.map((p) => p.analog),
      text,
      marker: { color: '#D55E00', symbol: 'diamond', size: 7 },
      hovertemplate: '%{text}<br>analog %{y:.3g}<extra></extra>',
    },
  ];
  return {
    data,
    layout: baseLayout(
      'thermo-cost',
      { title: { text: 'factor size n' }, type: 'log' },
      { title: { text: 'operations per inversion' }, type: 'log' },
    ),
  };
}

export function costTable(cost: Cost): DataTable {
  return {
    caption: 'Per factor and width: size n, condition number κ of the π-damped factor, digital n³ and analog n²κ²',
    columns: ['width', 'layer', 'factor', 'n', 'κ', 'n³', 'n²κ²', 'analog / digital'],
    rows: cost.flatMap((w) =>
      w.factors.map((f) => [
        String(w.width),
        f.layer,
        f.factor,
        String(f.n),
        formatValue(f.condition),
        formatValue(f.digital),
        formatValue(f.analog),
        formatValue(f.analog / f.digital),
      ]),
    ),
  };
}

/** One line per figure for the live summaries. */
export function raceSummary(race: Race): string {
  return race.runs
    .map((r) => `${r.label}: ${r.stepsToTarget === null ? 'target not reached' : `target at step ${r.stepsToTarget}`}`)
    .join('; ');
}

export function errorSummary(errors: Errors): string {
  const b8 = errors.bits.indexOf(8);
  if (b8 < 0) return `Relative error at the largest S: ${formatValue(errors.errors[0].at(-1))}.`;
  return `At 8 bits the relative error falls from ${formatValue(errors.errors[b8][0])} at S = ${errors.samples[0]} to ${formatValue(errors.errors[b8].at(-1))} at S = ${errors.samples.at(-1)}.`;
}

export function costSummary(cost: Cost): string {
  const last = cost.at(-1);
  if (!last) return 'No widths measured.';
  const worst = last.factors.reduce((a, f) => (f.condition > a.condition ? f : a), last.factors[0]);
  return `At width ${last.width} the worst-conditioned factor (${worst.layer} ${worst.factor}, n = ${worst.n}) has κ = ${formatValue(worst.condition)}: analog ${formatValue(worst.analog)} against digital ${formatValue(worst.digital)} operations.`;
}
