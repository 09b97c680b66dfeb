// Pure builders for the per-phase timing bars: mean ms per step, per run, stacked by phase.

import type { Annotation, Data, Layout } from 'plotly.js-dist-min';
import { formatValue, type DataTable } from './data-table.ts';
import type { RunMeta } from './metric-series.ts';
import { PHASE_ORDER, phaseStyle } from './palette.ts';
import { GRID_COLOR, PLOT_THEME, plotlyText, shortLabel, type PlotFigure } from './plotly-text.ts';

export interface PhaseInput {
  runs: readonly RunMeta[];
  /** Per run: total ms per phase so far. */
  totals: readonly Record<string, number>[];
  /** Per run: steps those totals cover. */
  steps: readonly number[];
}

interface RunPhases {
  run: number;
  label: string;
  steps: number;
  /** Mean ms per step by phase. */
  mean: Map<string, number>;
  total: number;
}

/** The phases that occur, in step order (PHASE_ORDER first, then any others as met). */
export function phasesPresent(totals: readonly Record<string, number>[]): string[] {
  const seen = new Set<string>();
  for (const t of totals) for (const phase of Object.keys(t ?? {})) seen.add(phase);
  const known = PHASE_ORDER.filter((p) => seen.has(p));
  const others = [...seen].filter((p) => !(PHASE_ORDER as readonly string[]).includes(p));
  return [...known, ...others];
}

function runPhases(input: PhaseInput): RunPhases[] {
  return input.runs.map((meta, run) => {
    const steps = input.steps[run] ?? 0;
    const mean = new Map<string, number>();
    let total = 0;
    if (steps > 0) {
      for (const [phase, ms] of Object.entries(input.totals[run] ?? {})) {
        if (!Number.isFinite(ms)) continue;
        mean.set(phase, ms / steps);
        total += ms / steps;
      }
    }
    return { run, label: meta.label, steps, mean, total };
  });
}

export function buildPhaseFigure(input: PhaseInput): PlotFigure {
  const phases = phasesPresent(input.totals);
  const rows = runPhases(input);
  const y = rows.map((r) => r.run);
  const data: Data[] = phases.map((phase) => {
    const { color, pattern } = phaseStyle(phase);
    const shape = pattern as '' | '/' | '\\' | 'x' | '-' | '|' | '+' | '.'; // plotly's pattern names, kept as strings in the palette
    return {
      type: 'bar',
      orientation: 'h',
      uid: `phase-${phase}`,
      name: plotlyText(phase),
      x: rows.map((r) => r.mean.get(phase) ?? 0),
      y,
      marker: {
        color,
        line: { color: '#ffffff', width: 1 },
        pattern: { shape, fillmode: 'overlay', fgcolor: '#ffffff', fgopacity: 0.6, size: 7 },
      },
      hovertemplate: `${plotlyText(phase)}: %{x:.3g} ms per step<extra></extra>`,
    };
  });
  // The total at each bar's end, so the comparison reads without hovering.
  const annotations: Partial<Annotation>[] = rows
    .filter((r) => r.total > 0)
    .map((r) => ({
      x: r.total,
      y: r.run,
      xref: 'x',
      yref: 'y',
      text: `${formatValue(r.total)} ms`,
      showarrow: false,
      xanchor: 'left',
      xshift: 4,
      font: { size: 11, color: '#1b1f24' },
    }));
  const layout: Partial<Layout> = {
    ...PLOT_THEME,
    autosize: true,
    uirevision: 'phases',
    barmode: 'stack',
    hovermode: 'y unified',
    margin: { l: 8, r: 64, t: 8, b: 8 },
    showlegend: false, // the legend is HTML, under the plot (ChartLegend)
    xaxis: { title: { text: 'mean time per step (ms)' }, automargin: true, rangemode: 'tozero', gridcolor: GRID_COLOR },
    yaxis: {
      tickmode: 'array',
      tickvals: y,
      ticktext: rows.map((r) => plotlyText(shortLabel(r.label))),
      autorange: 'reversed',
      automargin: true,
    },
    annotations,
  };
  return { data, layout };
}

/**
 * "Mean time per step — SGD: 3.1 ms, 45% of its time in backward; K-FAC-reduce: 12 ms, 41% of its time in factors."
 */
export function phaseSummary(input: PhaseInput): string {
  const parts = runPhases(input)
    .filter((r) => r.total > 0)
    .map((r) => {
      let top = '';
      let topMs = -Infinity;
      for (const [phase, ms] of r.mean) {
        if (ms > topMs) {
          top = phase;
          topMs = ms;
        }
      }
      return `${r.label}: ${formatValue(r.total)} ms, ${Math.round((100 * topMs) / r.total)}% of its time in ${top}`;
    });
  return parts.length === 0 ? 'Time per phase: no timings yet.' : `Mean time per step — ${parts.join('; ')}.`;
}

export function phaseTable(input: PhaseInput): DataTable {
  const phases = phasesPresent(input.totals);
  const rows = runPhases(input).map((r) => [
    r.label,
    String(r.steps),
    ...phases.map((p) => (r.mean.has(p) ? formatValue(r.mean.get(p)) : '—')),
    r.total > 0 ? formatValue(r.total) : '—',
  ]);
  return {
    caption: 'Mean time per step by phase (ms)',
    columns: ['Run', 'Steps', ...phases, 'Total'],
    rows,
  };
}
