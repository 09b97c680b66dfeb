// Pure helpers of the diffusion section of the Influence page: the 2-D scatter of training points
// coloured by their influence on the chosen sample, the ranked lists, the summaries and tables, and
// the exported JSON document. No React and no worker here (test/ui/diffusion-figures.test.ts).
import type { Data, Layout } from 'plotly.js-dist-min';
import type { DiffusionJobResult, DiffusionMethod } from '../../../../worker/jobs/diffusion-job.ts';
import type { DataTable } from '../../../charts/data-table.ts';
import { formatValue } from '../../../charts/data-table.ts';
import { DIVERGING_SCALE } from '../../../charts/palette.ts';
import { GRID_COLOR, PLOT_THEME, type PlotFigure } from '../../../charts/plotly-text.ts';

export const METHOD_LABELS: Record<DiffusionMethod, string> = {
  identity: 'identity (gradient dot product)',
  kfac: 'K-FAC',
  ekfac: 'EK-FAC',
};

/** One training point's score for the chosen sample. */
export interface RankedPoint {
  index: number;
  x: number;
  y: number;
  score: number;
}

/** The scores of every training point for scored sample `query` under `method` (null when not computed). */
export function scoresFor(result: DiffusionJobResult, method: DiffusionMethod, query: number): Float64Array | null {
  const m = result.influence.methods.find((x) => x.method === method);
  if (!m || query < 0 || query >= result.queries) return null;
  const N = result.points.length / 2;
  return m.scores.subarray(query * N, (query + 1) * N);
}

/** The k most helpful (largest score) and most harmful (smallest) training points. */
export function ranked(result: DiffusionJobResult, scores: Float64Array, k: number): { helpful: RankedPoint[]; harmful: RankedPoint[] } {
  const order = Array.from(scores.keys()).sort((a, b) => scores[b] - scores[a] || a - b);
  const point = (index: number): RankedPoint => ({
    index,
    x: result.points[2 * index],
    y: result.points[2 * index + 1],
    score: scores[index],
  });
  const n = Math.min(k, order.length);
  return { helpful: order.slice(0, n).map(point), harmful: order.slice(-n).reverse().map(point) };
}

/** Fraction of the top-k helpful points two methods share (their agreement on what made the sample). */
export function topOverlap(a: Float64Array, b: Float64Array, k: number): number {
  const top = (s: Float64Array) =>
    new Set(
      Array.from(s.keys())
        .sort((i, j) => s[j] - s[i] || i - j)
        .slice(0, k),
    );
  const [ta, tb] = [top(a), top(b)];
  let shared = 0;
  for (const i of ta) if (tb.has(i)) shared++;
  return ta.size === 0 ? 0 : shared / ta.size;
}

function symmetricLimit(scores: Float64Array): number {
  let m = 0;
  for (const s of scores) if (Number.isFinite(s)) m = Math.max(m, Math.abs(s));
  return m > 0 ? m : 1;
}

/** Training points coloured by influence (blue helped, orange hurt, grey ≈ 0), the generated samples, the chosen one. */
export function buildInfluenceScatter(result: DiffusionJobResult, method: DiffusionMethod, query: number): PlotFigure {
  const scores = scoresFor(result, method, query);
  const N = result.points.length / 2;
  const S = result.samples.length / 2;
  const xs = (a: Float32Array, n: number) => Array.from({ length: n }, (_, i) => a[2 * i]);
  const ys = (a: Float32Array, n: number) => Array.from({ length: n }, (_, i) => a[2 * i + 1]);
  const limit = scores ? symmetricLimit(scores) : 1;
  const data: Data[] = [
    {
      type: 'scatter',
      mode: 'markers',
      name: 'generated samples',
      uid: 'samples',
      x: xs(result.samples, S),
      y: ys(result.samples, S),
      marker: { size: 4, color: '#9ca3af', opacity: 0.45 },
      hovertemplate: 'sample (%{x:.2f}, %{y:.2f})<extra></extra>',
    },
    {
      type: 'scatter',
      mode: 'markers',
      name: 'training points',
      uid: 'training',
      x: xs(result.points, N),
      y: ys(result.points, N),
      customdata: Array.from({ length: N }, (_, i) => i),
      marker: {
        size: 7,
        color: scores ? Array.from(scores) : '#6b7280',
        colorscale: DIVERGING_SCALE,
        cmin: -limit,
        cmax: limit,
        line: { width: 0.5, color: '#374151' },
        colorbar: { title: { text: 'influence', side: 'right' }, thickness: 10, len: 0.8, exponentformat: 'e' },
      },
      hovertemplate: scores
        ? 'training point %{customdata}: influence %{marker.color:.3g}<extra></extra>'
        : 'training point %{customdata}<extra></extra>',
    },
    {
      type: 'scatter',
      mode: 'markers',
      name: 'scored samples',
      uid: 'queries',
      x: xs(result.samples, result.queries),
      y: ys(result.samples, result.queries),
      customdata: Array.from({ length: result.queries }, (_, i) => i + 1),
      marker: { size: 11, symbol: 'circle-open', color: '#000000', line: { width: 1.5 } },
      hovertemplate: 'scored sample %{customdata}<extra></extra>',
    },
    {
      type: 'scatter',
      mode: 'markers',
      name: 'chosen sample',
      uid: 'chosen',
      x: [result.samples[2 * query]],
      y: [result.samples[2 * query + 1]],
      marker: { size: 18, symbol: 'star', color: '#CC79A7', line: { width: 1.5, color: '#000000' } },
      hovertemplate: `sample ${query + 1} (%{x:.2f}, %{y:.2f})<extra></extra>`,
    },
  ];
  const axis = { zeroline: false, gridcolor: GRID_COLOR, range: [-1.6, 1.6] as [number, number], automargin: true };
  const layout: Partial<Layout> = {
    ...PLOT_THEME,
    autosize: true,
    uirevision: 'diffusion-scatter',
    margin: { l: 40, r: 10, t: 10, b: 40 },
    showlegend: true,
    legend: { orientation: 'h', y: -0.12 },
    xaxis: { ...axis, title: { text: 'x₁' } },
    yaxis: { ...axis, title: { text: 'x₂' }, scaleanchor: 'x' },
  };
  return { data, layout };
}

/** The training loss per step (every step, or a stride of them for long runs). */
export function buildLossFigure(result: DiffusionJobResult): PlotFigure {
  const n = result.losses.length;
  const stride = Math.max(1, Math.floor(n / 500));
  const x: number[] = [];
  const y: number[] = [];
  for (let i = 0; i < n; i += stride) {
    x.push(i + 1);
    y.push(result.losses[i]);
  }
  return {
    data: [{ type: 'scatter', mode: 'lines', name: 'training loss', uid: 'loss', x, y, line: { color: '#0072B2', width: 1.5 } }],
    layout: {
      ...PLOT_THEME,
      autosize: true,
      uirevision: 'diffusion-loss',
      margin: { l: 50, r: 10, t: 10, b: 40 },
      xaxis: { title: { text: 'step' }, gridcolor: GRID_COLOR, automargin: true },
      yaxis: { title: { text: 'loss ‖ε − ε̂‖² (mean)' }, type: 'log', gridcolor: GRID_COLOR, automargin: true },
    },
  };
}

export function scatterSummary(result: DiffusionJobResult, method: DiffusionMethod, query: number): string {
  const scores = scoresFor(result, method, query);
  if (!scores) return `No ${METHOD_LABELS[method]} scores in this result.`;
  const { helpful, harmful } = ranked(result, scores, 1);
  let positive = 0;
  for (const s of scores) if (s > 0) positive++;
  return (
    `Sample ${query + 1} at (${result.samples[2 * query].toFixed(2)}, ${result.samples[2 * query + 1].toFixed(2)}), ${METHOD_LABELS[method]}: ` +
    `${positive} of ${scores.length} training points helped it; the most helpful is point ${helpful[0].index} (score ${formatValue(helpful[0].score)}), ` +
    `the most harmful point ${harmful[0].index} (score ${formatValue(harmful[0].score)}).`
  );
}

export function scatterTable(result: DiffusionJobResult, method: DiffusionMethod, query: number): DataTable {
  const scores = scoresFor(result, method, query);
  const N = result.points.length / 2;
  return {
    caption: `Influence of each training point on sample ${query + 1} (${METHOD_LABELS[method]})`,
    columns: ['point', 'x₁', 'x₂', 'influence'],
    rows: Array.from({ length: N }, (_, i) => [
      String(i),
      result.points[2 * i].toFixed(3),
      result.points[2 * i + 1].toFixed(3),
      scores ? formatValue(scores[i]) : '—',
    ]),
  };
}

export function lossSummary(result: DiffusionJobResult): string {
  const n = result.losses.length;
  if (n === 0) return 'The weights of the previous run were reused: no training this time.';
  const tail = Array.from(result.losses.subarray(Math.max(0, n - 50)));
  const mean = tail.reduce((a, b) => a + b, 0) / tail.length;
  return `${n} Adam steps in ${result.trainSeconds.toFixed(1)} s; the loss fell from ${formatValue(result.losses[0])} to ${formatValue(mean)} (mean of the last ${tail.length} steps).`;
}

export function lossTable(result: DiffusionJobResult): DataTable {
  const n = result.losses.length;
  const stride = Math.max(1, Math.ceil(n / 200));
  const rows: string[][] = [];
  for (let i = 0; i < n; i += stride) rows.push([String(i + 1), formatValue(result.losses[i])]);
  return { caption: 'Training loss', columns: ['step', 'loss'], rows, note: stride > 1 ? `Every ${stride}th step.` : undefined };
}

/** The JSON a user downloads: settings, data, samples, and every method's scores (arrays, not typed arrays). */
export function diffusionExport(result: DiffusionJobResult, date: Date = new Date()) {
  const N = result.points.length / 2;
  const pairs = (a: Float32Array, n: number) => Array.from({ length: n }, (_, i) => [a[2 * i], a[2 * i + 1]]);
  return {
    kind: 'kfac-lab diffusion influence',
    createdAt: date.toISOString(),
    device: result.device,
    setup: result.setup,
    measurement: result.influence.measurement,
    damping: result.influence.damping,
    relativeDamping: result.influence.relativeDamping,
    meanEigenvalue: result.influence.meanEigenvalue,
    trainDraws: result.influence.trainDraws,
    queryDraws: result.influence.queryDraws,
    trainSeconds: result.trainSeconds,
    finalLoss: result.losses.length > 0 ? result.losses[result.losses.length - 1] : null,
    points: pairs(result.points, N),
    samples: pairs(result.samples, result.samples.length / 2),
    queries: Array.from({ length: result.queries }, (_, q) => ({
      sample: q,
      at: [result.samples[2 * q], result.samples[2 * q + 1]],
      loss: result.influence.queryLoss[q],
    })),
    methods: result.influence.methods.map((m) => ({
      method: m.method,
      fitSeconds: m.fitSeconds,
      scoreSeconds: m.scoreSeconds,
      /** scores[q][n]: positive = training point n helped sample q. */
      scores: Array.from({ length: result.queries }, (_, q) => Array.from(m.scores.subarray(q * N, (q + 1) * N))),
    })),
  };
}
