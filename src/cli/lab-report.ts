// What `npm run lab` does apart from the process: run the experiment with progress callbacks, then
// turn the result into the summary table, the JSON document and the CSV rows. Kept free of process
// globals so that tests run it in-process.
import type { Backend } from '../engine/backend/backend.ts';
import { runExperiment, type ExperimentConfig, type ExperimentResult, type ResolvedConfig, type RunResult } from '../engine/lab/runner.ts';
import type { OptimizerId, ParamValue } from '../engine/optim/schema.ts';

export interface LabRunJson {
  optimizer: OptimizerId;
  label: string;
  hyper: Record<string, ParamValue>;
  history: RunResult['history'];
  stepsToTarget: number | null;
  timeToTargetMs: number | null;
  /** Total ms per phase over the run's steps. */
  phaseMs: Record<string, number>;
  stepsCompleted: number;
  /** Why the run stopped early (divergence, a numerical failure); null when it finished. */
  error: string | null;
}

export interface LabJson {
  config: ResolvedConfig;
  device: { backend: string; summary: string; fallbackReason: string | null };
  parameterCount: number;
  runs: LabRunJson[];
}

/** Run the experiment; onProgress(stepsDone, totalSteps) after every interleaved step. */
export async function runLab(
  backend: Backend,
  config: ExperimentConfig,
  onProgress?: (done: number, total: number) => void,
): Promise<ExperimentResult> {
  return runExperiment(backend, config, {
    onMetrics: (points) => onProgress?.(Math.max(...points.map((p) => p.step)), config.steps),
  });
}

export function labJson(result: ExperimentResult, backend: Backend): LabJson {
  return {
    config: result.config,
    device: { backend: backend.name, summary: backend.info.summary, fallbackReason: backend.info.fallbackReason ?? null },
    parameterCount: result.parameterCount,
    runs: result.runs.map((r) => ({
      optimizer: r.optimizer,
      label: r.label,
      hyper: r.hyper,
      history: r.history,
      stepsToTarget: r.stepsToTarget,
      timeToTargetMs: r.timeToTargetMs,
      phaseMs: r.phaseMs,
      stepsCompleted: r.stepsCompleted,
      error: r.error ?? null,
    })),
  };
}

function csvField(text: string): string {
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** One row per (run, step): run,label,optimizer,step,trainLoss,valMetric,timeMs (valMetric empty when not evaluated). */
export function labCsv(result: ExperimentResult): string {
  const rows = ['run,label,optimizer,step,trainLoss,valMetric,timeMs'];
  result.runs.forEach((r, run) => {
    const h = r.history;
    for (let i = 0; i < h.step.length; i++) {
      const val = h.valMetric[i];
      rows.push([run, csvField(r.label), r.optimizer, h.step[i], h.trainLoss[i], val === null ? '' : val, h.timeMs[i]].join(','));
    }
  });
  return `${rows.join('\n')}\n`;
}

const DASH = '—';

function lastValue(values: readonly (number | null)[]): number | null {
  for (let i = values.length - 1; i >= 0; i--) if (values[i] !== null) return values[i];
  return null;
}

function fixed(x: number | null | undefined, digits: number): string {
  return x === null || x === undefined || !Number.isFinite(x) ? DASH : x.toFixed(digits);
}

/**
 * The first-order baseline for the ratios: among the SGD and Adam runs that reached the target,
 * the fewest steps and (separately) the shortest time; null when none did.
 */
export function firstOrderBaseline(runs: readonly RunResult[]): { steps: number; timeMs: number } | null {
  const reached = runs.filter((r) => (r.optimizer === 'sgd' || r.optimizer === 'adam') && r.stepsToTarget !== null);
  if (reached.length === 0) return null;
  return {
    steps: Math.min(...reached.map((r) => r.stepsToTarget as number)),
    timeMs: Math.min(...reached.map((r) => r.timeToTargetMs as number)),
  };
}

function ratio(value: number | null, base: number | undefined): string {
  return value === null || base === undefined || base <= 0 ? DASH : `${(value / base).toFixed(2)}×`;
}

/** The summary table (plain text, aligned columns), then one line per failed run. */
export function summaryTable(result: ExperimentResult): string {
  const target = result.config.target;
  const base = target ? firstOrderBaseline(result.runs) : null;
  const header = ['run', 'final loss', 'final val', 'steps→target', 'time→target', 'steps ratio', 'time ratio', 'ms/step by phase'];
  const rows = result.runs.map((r) => {
    const steps = Math.max(r.stepsCompleted, 1);
    const phases = Object.entries(r.phaseMs)
      .map(([phase, ms]) => `${phase} ${(ms / steps).toFixed(2)}`)
      .join(', ');
    return [
      r.error ? `${r.label} (failed)` : r.label,
      fixed(r.history.trainLoss.at(-1), 4),
      fixed(lastValue(r.history.valMetric), 4),
      r.stepsToTarget === null ? DASH : String(r.stepsToTarget),
      r.timeToTargetMs === null ? DASH : `${r.timeToTargetMs.toFixed(0)} ms`,
      ratio(r.stepsToTarget, base?.steps),
      ratio(r.timeToTargetMs, base?.timeMs),
      phases || DASH,
    ];
  });
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c].length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, c) => (c === 0 || c === cells.length - 1 ? cell.padEnd(widths[c]) : cell.padStart(widths[c])))
      .join('  ')
      .trimEnd();
  const out = [
    `${result.config.task}: ${result.config.steps} steps, seed ${result.config.seed}, ${result.parameterCount} parameters` +
      (target ? `, target ${target.metric} ≥ ${target.value}` : ', no target'),
    '',
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
  ];
  if (target)
    out.push(
      '',
      base ? 'ratios: relative to the best of SGD/Adam that reached the target' : `ratios: ${DASH} (no SGD/Adam run reached the target)`,
    );
  const failed = result.runs.filter((r) => r.error);
  if (failed.length > 0) out.push('', ...failed.map((r) => `${r.label}: ${r.error}`));
  if (result.stopped) out.push('', 'stopped before the last step');
  return out.join('\n');
}

/** "[#####.....]  40/100 steps" */
export function progressBar(done: number, total: number, width = 30): string {
  const filled = total > 0 ? Math.round((done / total) * width) : width;
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(done).padStart(String(total).length)}/${total} steps`;
}
