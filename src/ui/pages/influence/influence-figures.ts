// Pure builders for the Influence page's LDS figure and tables (docs/curvature-tools.md §3): LDS per
// method as a bar with its spread over the queries, and the seed-to-seed ceiling as a dashed line.
import type { InfluenceMethod } from '../../../engine/tools/influence/scores.ts';
import type { InfluenceLdsResult, InfluenceScoresResult } from '../../../worker/jobs/influence-job.ts';
import { formatValue, type DataTable } from '../../charts/data-table.ts';
import { GRID_COLOR, horizontalLine, PLOT_THEME, type PlotFigure } from '../../charts/plotly-text.ts';

export const METHOD_LABELS: Record<InfluenceMethod, string> = {
  identity: 'identity (gradient dot product)',
  kfac: 'K-FAC',
  ekfac: 'EK-FAC',
  ggn: 'exact GGN',
};

/** Okabe–Ito colours, one per method. */
export const METHOD_COLORS: Record<InfluenceMethod, string> = { identity: '#999999', kfac: '#0072B2', ekfac: '#D55E00', ggn: '#000000' };

export function buildLdsFigure(r: InfluenceLdsResult): PlotFigure {
  const shapes = r.ceiling
    ? [
        horizontalLine(
          r.ceiling.mean,
          { color: '#000000', dash: 'dash', width: 1.5 },
          { text: `ceiling ${r.ceiling.mean.toFixed(2)}`, textposition: 'end' },
        ),
      ]
    : [];
  return {
    data: [
      {
        type: 'bar',
        x: r.methods.map((m) => METHOD_LABELS[m.method]),
        y: r.methods.map((m) => m.mean),
        error_y: { type: 'data', array: r.methods.map((m) => m.spread), visible: true, color: '#444444' },
        marker: { color: r.methods.map((m) => METHOD_COLORS[m.method]) },
        hovertemplate: '%{x}: LDS %{y:.3f}<extra></extra>',
      },
    ],
    layout: {
      ...PLOT_THEME,
      height: 320,
      margin: { l: 56, r: 16, t: 16, b: 56 },
      yaxis: {
        title: { text: 'LDS (Spearman, mean over queries)' },
        gridcolor: GRID_COLOR,
        range: [Math.min(0, ...r.methods.map((m) => m.mean - m.spread)) - 0.05, 1],
      },
      xaxis: { automargin: true },
      shapes,
      showlegend: false,
    },
  };
}

export function ldsSummary(r: InfluenceLdsResult): string {
  const parts = r.methods.map((m) => `${METHOD_LABELS[m.method]} ${m.mean.toFixed(2)} ± ${m.spread.toFixed(2)}`);
  return `LDS over ${r.queries} test images, ${r.subsets} half subsets × ${r.seeds} seeds: ${parts.join('; ')}${r.ceiling ? `; seed-to-seed ceiling ${r.ceiling.mean.toFixed(2)}` : ''}.`;
}

export function ldsTable(r: InfluenceLdsResult): DataTable {
  const columns = ['method', 'LDS mean', 'spread (sd over queries)', ...Array.from({ length: r.queries }, (_, q) => `test #${q}`)];
  const rows = r.methods.map((m) => [METHOD_LABELS[m.method], formatValue(m.mean), formatValue(m.spread), ...m.perQuery.map(formatValue)]);
  if (r.ceiling)
    rows.push(['seed-to-seed ceiling', formatValue(r.ceiling.mean), formatValue(r.ceiling.spread), ...r.ceiling.perQuery.map(formatValue)]);
  return { caption: 'LDS per method and per query', columns, rows };
}

/** Spearman-free agreement: how many of one method's top k are in another's top k. */
export function topOverlap(r: InfluenceScoresResult, a: InfluenceMethod, b: InfluenceMethod): number | null {
  const x = r.methods.find((m) => m.method === a);
  const y = r.methods.find((m) => m.method === b);
  if (!x || !y) return null;
  const ids = new Set(y.helpful.map((h) => h.index));
  return x.helpful.filter((h) => ids.has(h.index)).length;
}
