// Hyperparameter sweeps: compare each optimizer at its tuned best, as the paper does. A sweep axis
// is "group.key=v1,v2,..." (e.g. adam.lr=1e-3,3e-3,1e-2 or kfac-reduce.damping=1e-3,1e-2); every
// run of the experiment whose optimizer has axes is tried at each point of their grid (the product
// of its axes), all trials of one run interleaved in experiments of at most MAX_RUNS, from the same
// initial weights on the same batches. The best trial wins (rankTrials) and the tuned experiment is
// the original with each run's winning values filled in.
//
//   const { config: tuned, tuning } = await tuneExperiment(backend, config, [parseSweep('adam.lr=1e-3,3e-3')]);
import type { Backend } from '../backend/backend.ts';
import { OPTIMIZER_IDS, parseAssignment, type OptimizerId, type ParamValue } from '../optim/schema.ts';
import { MAX_RUNS, validateConfigOrThrow, type ExperimentConfig, type OptimizerEntry } from './experiment-config.ts';
import { runExperiment } from './experiment.ts';
import type { RunResult } from './results.ts';

export interface SweepAxis {
  group: OptimizerId;
  key: string;
  values: ParamValue[];
}

export class SweepError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SweepError';
  }
}

/** At most this many grid points per run: a sweep is a small grid, not a search. */
export const MAX_TRIALS = 64;

/** Parse "group.key=v1,v2,..."; every value is checked against the schema like --set. */
export function parseSweep(text: string): SweepAxis {
  const eq = text.indexOf('=');
  if (eq < 0) throw new SweepError(`${JSON.stringify(text)}: expected group.key=v1,v2,..., e.g. "adam.lr=1e-3,3e-3,1e-2"`);
  const path = text.slice(0, eq).trim();
  const texts = text
    .slice(eq + 1)
    .split(',')
    .map((v) => v.trim());
  if (texts.length === 0 || texts.some((v) => v === ''))
    throw new SweepError(`${path}: expected a comma-separated list of values, got ${JSON.stringify(text.slice(eq + 1))}`);
  let group: string | null = null;
  let key = '';
  const values: ParamValue[] = [];
  for (const valueText of texts) {
    const parsed = parseAssignment(`${path}=${valueText}`);
    if (!parsed.ok) throw new SweepError(parsed.error);
    ({ group, key } = parsed.assignment);
    if (values.includes(parsed.assignment.value)) throw new SweepError(`${path}: the value ${valueText} is listed twice`);
    values.push(parsed.assignment.value);
  }
  if (group === null || !(OPTIMIZER_IDS as readonly string[]).includes(group)) {
    throw new SweepError(`${path}: sweeps take an optimizer's hyperparameter (groups: ${OPTIMIZER_IDS.join(', ')})`);
  }
  return { group: group as OptimizerId, key, values };
}

/** Every combination of the axes' values, in order (the last axis varies fastest). */
export function gridPoints(axes: readonly SweepAxis[]): Record<string, ParamValue>[] {
  let points: Record<string, ParamValue>[] = [{}];
  for (const axis of axes) points = points.flatMap((p) => axis.values.map((v) => ({ ...p, [axis.key]: v })));
  return points;
}

/** "lr=0.003 damping=0.01" */
export function describePoint(point: Record<string, ParamValue>): string {
  return Object.entries(point)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(' ');
}

export interface Trial {
  /** The swept values of this trial. */
  point: Record<string, ParamValue>;
  stepsToTarget: number | null;
  timeToTargetMs: number | null;
  stepsCompleted: number;
  finalLoss: number | null;
  finalVal: number | null;
  error: string | null;
}

export interface TuneResult {
  /** Index of the run in the experiment's optimizers. */
  run: number;
  label: string;
  optimizer: OptimizerId;
  axes: SweepAxis[];
  /** Best first (rankTrials). */
  trials: Trial[];
  /** The winning values; null when every trial failed (the run then keeps its own values). */
  best: Record<string, ParamValue> | null;
}

function lastFinite(values: readonly (number | null)[]): number | null {
  for (let i = values.length - 1; i >= 0; i--) {
    const v = values[i];
    if (v !== null && Number.isFinite(v)) return v;
  }
  return null;
}

function trialOf(point: Record<string, ParamValue>, run: RunResult): Trial {
  return {
    point,
    stepsToTarget: run.stepsToTarget,
    timeToTargetMs: run.timeToTargetMs,
    stepsCompleted: run.stepsCompleted,
    finalLoss: lastFinite(run.history.trainLoss),
    finalVal: lastFinite(run.history.valMetric),
    error: run.error ?? null,
  };
}

/**
 * Best first: trials that reached the target by fewest steps (then least time); then the others by
 * highest final validation metric, then lowest final training loss; failed trials last.
 */
export function rankTrials(trials: readonly Trial[]): Trial[] {
  const score = (t: Trial): number[] => {
    if (t.error !== null) return [3, 0, 0];
    if (t.stepsToTarget !== null) return [0, t.stepsToTarget, t.timeToTargetMs ?? 0];
    return [1, -(t.finalVal ?? -Infinity), t.finalLoss ?? Infinity];
  };
  return [...trials].sort((a, b) => {
    const sa = score(a);
    const sb = score(b);
    for (let i = 0; i < sa.length; i++) if (sa[i] !== sb[i]) return sa[i] - sb[i];
    return 0;
  });
}

export interface TuneOptions {
  /** Called after every interleaved step of every tuning experiment. */
  onProgress?: (info: { run: number; label: string; done: number; total: number; chunk: number; chunks: number }) => void;
  phaseTiming?: boolean;
}

/** Tune every run that has sweep axes; returns the tuned config and each run's trials. */
export async function tuneExperiment(
  backend: Backend,
  input: ExperimentConfig,
  axes: readonly SweepAxis[],
  options: TuneOptions = {},
): Promise<{ config: ExperimentConfig; tuning: TuneResult[] }> {
  const base = validateConfigOrThrow(input);
  const ids = new Set(input.optimizers.map((e) => e.id));
  for (const axis of axes) {
    if (!ids.has(axis.group))
      throw new SweepError(`sweep ${axis.group}.${axis.key}: ${axis.group} is not among the runs (${[...ids].join(', ')})`);
  }
  const keys = new Set<string>();
  for (const axis of axes) {
    const k = `${axis.group}.${axis.key}`;
    if (keys.has(k)) throw new SweepError(`sweep ${k}: given twice`);
    keys.add(k);
  }

  const tuned: ExperimentConfig = structuredClone(input);
  const tuning: TuneResult[] = [];
  for (let run = 0; run < input.optimizers.length; run++) {
    const entry = input.optimizers[run];
    const runAxes = axes.filter((a) => a.group === entry.id);
    if (runAxes.length === 0) continue;
    const points = gridPoints(runAxes);
    if (points.length > MAX_TRIALS) throw new SweepError(`sweep of ${entry.id}: ${points.length} grid points, at most ${MAX_TRIALS}`);
    const label = base.optimizers[run].label;
    const trials: Trial[] = [];
    const chunks = Math.ceil(points.length / MAX_RUNS);
    for (let c = 0; c < chunks; c++) {
      const chunkPoints = points.slice(c * MAX_RUNS, (c + 1) * MAX_RUNS);
      const trialEntries: OptimizerEntry[] = chunkPoints.map((point) => ({
        ...structuredClone(entry),
        label: `${label} ${describePoint(point)}`,
        hyper: { ...entry.hyper, ...point },
      }));
      const result = await runExperiment(
        backend,
        { ...input, optimizers: trialEntries },
        {
          stopAtTarget: input.target != null,
          phaseTiming: options.phaseTiming ?? false,
          onMetrics: (pts) =>
            options.onProgress?.({ run, label, done: Math.max(...pts.map((p) => p.step)), total: input.steps, chunk: c, chunks }),
        },
      );
      result.runs.forEach((r, i) => trials.push(trialOf(chunkPoints[i], r)));
    }
    const ranked = rankTrials(trials);
    const best = ranked[0].error === null ? ranked[0].point : null;
    if (best) tuned.optimizers[run] = { ...tuned.optimizers[run], hyper: { ...entry.hyper, ...best } };
    tuning.push({ run, label, optimizer: entry.id, axes: runAxes, trials: ranked, best });
  }
  return { config: tuned, tuning };
}

/** The tuning report as plain text: per tuned run, its trials best first. */
export function tuningTable(tuning: readonly TuneResult[]): string {
  const out: string[] = [];
  for (const t of tuning) {
    out.push(`${t.label}: ${t.best ? `tuned ${describePoint(t.best)}` : 'every trial failed; its own values kept'}`);
    for (const trial of t.trials) {
      const outcome =
        trial.error !== null
          ? `failed: ${trial.error}`
          : trial.stepsToTarget !== null
            ? `target at step ${trial.stepsToTarget} (${(trial.timeToTargetMs ?? 0).toFixed(0)} ms)`
            : `no target in ${trial.stepsCompleted} steps; final val ${trial.finalVal?.toFixed(4) ?? '—'}, loss ${trial.finalLoss?.toFixed(4) ?? '—'}`;
      out.push(`  ${describePoint(trial.point).padEnd(28)} ${outcome}`);
    }
  }
  return out.join('\n');
}
