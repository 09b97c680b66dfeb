// What an experiment reports: a metric point per run and step while it runs, and each run's
// history, target and phase totals at the end.
import type { OptimizerId, ParamValue } from '../optim/schema.ts';
import type { ResolvedConfig } from './experiment-config.ts';

/** One run's measurements after one step. */
export interface MetricPoint {
  /** Index of the run in config.optimizers. */
  run: number;
  /** Steps completed (1 after the first update). */
  step: number;
  /** Loss of this step's batch, before its update. */
  trainLoss: number;
  /** Validation metric after this step's update, on evaluation steps only. */
  valMetric?: number;
  /** This run's training time so far (its own steps only), ms. */
  elapsedMs: number;
  /** This step's time per phase, ms (K-FAC: forward … update; first-order: forward, backward, update). */
  phaseMs?: Record<string, number>;
  /**
   * K-FAC: the KL-clip scale ν of this step's update (docs/kfac.md §4, step 4), 1 when the clip did
   * not bind or is off; below 1 the clip, not the learning rate, set the step. Absent for first-order runs.
   */
  klScale?: number;
}

export interface RunHistory {
  step: number[];
  trainLoss: number[];
  /** null where the step was not evaluated. */
  valMetric: (number | null)[];
  timeMs: number[];
  /** K-FAC runs only: ν per step (MetricPoint.klScale); null where the optimizer reported none. */
  klScale?: (number | null)[];
}

export interface RunResult {
  optimizer: OptimizerId;
  label: string;
  hyper: Record<string, ParamValue>;
  history: RunHistory;
  stepsToTarget: number | null;
  timeToTargetMs: number | null;
  /** Total ms per phase over the timed steps (empty when phase timing is off). */
  phaseMs: Record<string, number>;
  stepsCompleted: number;
  /** Why the run stopped early (divergence, a numerical failure). */
  error?: string;
  /**
   * What the optimizer said about its own run, e.g. K-FAC-reduce seeing one example per batch
   * ("degenerate-reduce: …"); absent when it said nothing.
   */
  notices?: string[];
  /** The batch indices of every step, when recordBatchIndices is on. */
  batchIndices?: Int32Array[];
}

export interface ExperimentResult {
  config: ResolvedConfig;
  parameterCount: number;
  runs: RunResult[];
  /** Stopped by the controller or the abort signal before the last step. */
  stopped: boolean;
}

/** The first evaluated step whose metric reaches the target, and the run's time then. */
export function reachTarget(history: RunHistory, target: number): { steps: number; timeMs: number } | null {
  for (let i = 0; i < history.step.length; i++) {
    const v = history.valMetric[i];
    if (v !== null && v >= target) return { steps: history.step[i], timeMs: history.timeMs[i] };
  }
  return null;
}
