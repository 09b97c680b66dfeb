// One row of the results table per run, computed from the chart series (the evaluated points) so the
// table is live during training and matches the charts exactly. Pure: no React, no DOM.
import { firstOrderBaseline, type LabJson } from '../../engine/lab/report.ts';
import type { RunHistory } from '../../engine/lab/results.ts';
import type { OptimizerId } from '../../engine/optim/schema.ts';
import type { RunMeta, RunSeries } from '../charts/metric-series.ts';

export interface RunSummary {
  label: string;
  optimizer: OptimizerId;
  stepsDone: number;
  totalSteps: number;
  /** Training loss of the last step (NaN or ±Infinity when the run diverged there); null before any step. */
  finalLoss: number | null;
  /** The last evaluated validation metric; null before the first evaluation. */
  finalVal: number | null;
  stepsToTarget: number | null;
  timeToTargetMs: number | null;
  /** stepsToTarget / the first-order baseline's; null when either did not reach the target. */
  stepsRatio: number | null;
  timeRatio: number | null;
  /** Steps done per second of the run's own training time. */
  stepsPerSecond: number | null;
  error: string | null;
}

export interface SummaryInput {
  runs: readonly RunMeta[];
  series: (run: number) => Readonly<RunSeries>;
  /** Target of the validation metric (reached when ≥ target); null for none. */
  target: number | null;
  totalSteps: number;
  /** Per run: why it stopped early, or null. */
  errors: readonly (string | null)[];
}

/** The first evaluated point whose metric reaches the target (same rule as engine/lab/results.ts reachTarget). */
export function reachTargetInSeries(s: Readonly<RunSeries>, target: number): { steps: number; timeMs: number } | null {
  for (let i = 0; i < s.valStep.length; i++) {
    if (s.valMetric[i] >= target) return { steps: s.valStep[i], timeMs: s.valTimeMs[i] };
  }
  return null;
}

function last(values: readonly number[]): number | null {
  return values.length > 0 ? values[values.length - 1] : null;
}

/** The last finite value (validation points are NaN-free by construction, but be safe). */
function lastFinite(values: readonly number[]): number | null {
  for (let i = values.length - 1; i >= 0; i--) if (Number.isFinite(values[i])) return values[i];
  return null;
}

function ratio(value: number | null, base: number | undefined): number | null {
  return value === null || base === undefined || !(base > 0) ? null : value / base;
}

export function summarize(input: SummaryInput): RunSummary[] {
  const rows = input.runs.map((meta, run): RunSummary => {
    const s = input.series(run);
    const stepsDone = last(s.step) ?? 0;
    const elapsedMs = last(s.timeMs);
    const reached = input.target === null ? null : reachTargetInSeries(s, input.target);
    return {
      label: meta.label,
      optimizer: meta.optimizer,
      stepsDone,
      totalSteps: input.totalSteps,
      finalLoss: last(s.trainLoss),
      finalVal: lastFinite(s.valMetric),
      stepsToTarget: reached?.steps ?? null,
      timeToTargetMs: reached?.timeMs ?? null,
      stepsRatio: null,
      timeRatio: null,
      stepsPerSecond: stepsDone > 0 && elapsedMs !== null && elapsedMs > 0 ? stepsDone / (elapsedMs / 1000) : null,
      error: input.errors[run] ?? null,
    };
  });
  const baseline = firstOrderBaseline(rows);
  for (const row of rows) {
    row.stepsRatio = ratio(row.stepsToTarget, baseline?.steps);
    row.timeRatio = ratio(row.timeToTargetMs, baseline?.timeMs);
  }
  return rows;
}

/** Indices of the runs that reached the target in the fewest steps and in the shortest time (ties share). */
export function fastestToTarget(rows: readonly RunSummary[]): { steps: number[]; time: number[] } {
  const argmins = (value: (r: RunSummary) => number | null): number[] => {
    let best = Infinity;
    for (const r of rows) {
      const v = value(r);
      if (v !== null && v < best) best = v;
    }
    if (best === Infinity) return [];
    return rows.flatMap((r, i) => (value(r) === best ? [i] : []));
  };
  return { steps: argmins((r) => r.stepsToTarget), time: argmins((r) => r.timeToTargetMs) };
}

/** A finished run's history (null where not evaluated) as chart series, e.g. for results restored after a reload. */
export function seriesOfHistory(history: RunHistory): RunSeries {
  const series: RunSeries = {
    step: [...history.step],
    trainLoss: [...history.trainLoss],
    timeMs: [...history.timeMs],
    valStep: [],
    valMetric: [],
    valTimeMs: [],
  };
  history.valMetric.forEach((value, i) => {
    if (value === null) return;
    series.valStep.push(history.step[i]);
    series.valMetric.push(value);
    series.valTimeMs.push(history.timeMs[i]);
  });
  return series;
}

/** The table rows of a saved lab JSON (the results kept in IndexedDB, or an imported file). */
export function summarizeLabJson(doc: LabJson): RunSummary[] {
  return summarize({
    runs: doc.runs,
    series: (run) => seriesOfHistory(doc.runs[run].history),
    target: doc.config.target?.value ?? null,
    totalSteps: doc.config.steps,
    errors: doc.runs.map((r) => r.error),
  });
}
