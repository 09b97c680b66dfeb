// Where each optimizer's time goes: mean ms per step, stacked by phase.

import { useCallback, useMemo } from 'react';
import { ChartFigure } from './ChartFigure.tsx';
import type { RunMeta } from './metric-series.ts';
import { phaseLegend } from './legend-items.ts';
import { buildPhaseFigure, phasesPresent, phaseSummary, phaseTable } from './phase-figure.ts';
import { usePlot, useThrottledValue } from './use-plot.ts';

export interface PhaseBarsProps {
  runs: readonly RunMeta[];
  /** Per run: total ms per phase so far. */
  totals: readonly Record<string, number>[];
  /** Per run: steps those totals cover. */
  steps: readonly number[];
  id?: string;
  title?: string;
}

export function PhaseBars({ runs, totals, steps, id = 'phase-bars', title = 'Time per step by phase' }: PhaseBarsProps) {
  const input = useMemo(() => ({ runs, totals, steps }), [runs, totals, steps]);
  const plot = usePlot(useCallback(() => buildPhaseFigure(input), [input]));
  const summary = useThrottledValue(useMemo(() => phaseSummary(input), [input]));
  const legend = useMemo(() => phaseLegend(phasesPresent(totals)), [totals]);
  return (
    <ChartFigure
      id={id}
      title={title}
      summary={summary}
      table={() => phaseTable(input)}
      plotRef={plot.ref}
      legend={legend}
      canSave={plot.ready}
      error={plot.error}
      // A bar per run: the plot grows with the number of runs instead of squeezing them.
      plotStyle={{ height: `${7 + 2.75 * Math.max(1, runs.length)}rem` }}
    />
  );
}
