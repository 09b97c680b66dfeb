// What `npm run lab` does apart from the process: run the experiment with progress callbacks, then
// turn the result into the summary table (the JSON and CSV formats live in src/engine/lab/report.ts). Kept free of process
// globals so that tests run it in-process.
import type { Backend } from '../engine/backend/backend.ts';
import { runExperiment } from '../engine/lab/experiment.ts';
import type { ExperimentConfig } from '../engine/lab/experiment-config.ts';
import type { ExperimentResult } from '../engine/lab/results.ts';
import { firstOrderBaseline } from '../engine/lab/report.ts';

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

const DASH = '—';

function lastValue(values: readonly (number | null)[]): number | null {
  for (let i = values.length - 1; i >= 0; i--) if (values[i] !== null) return values[i];
  return null;
}

function fixed(x: number | null | undefined, digits: number): string {
  return x === null || x === undefined || !Number.isFinite(x) ? DASH : x.toFixed(digits);
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
  const notices = result.runs.flatMap((r) => (r.notices ?? []).map((n) => `${r.label}: ${n}`));
  if (notices.length > 0) out.push('', ...notices);
  if (result.stopped) out.push('', 'stopped before the last step');
  return out.join('\n');
}

/** "[#####.....]  40/100 steps" */
export function progressBar(done: number, total: number, width = 30): string {
  const filled = total > 0 ? Math.round((done / total) * width) : width;
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(done).padStart(String(total).length)}/${total} steps`;
}
