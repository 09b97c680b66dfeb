// The lab's result formats, shared by the CLI (src/cli/lab.ts) and the browser lab's exports: the
// experiment's JSON document (config, device, every run's history), one CSV row per (run, step), and
// the first-order baseline the ratios are taken against.
import type { Backend } from '../backend/backend.ts';
import type { ExperimentResult, RunResult } from './results.ts';
import type { ResolvedConfig } from './experiment-config.ts';
import type { OptimizerId, ParamValue } from '../optim/schema.ts';

/** Which device produced the figures. */
export interface LabDevice {
  backend: string;
  summary: string;
  fallbackReason: string | null;
}

export function deviceOf(backend: Backend): LabDevice {
  return { backend: backend.name, summary: backend.info.summary, fallbackReason: backend.info.fallbackReason ?? null };
}

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
  /** What the optimizer said about its run (RunResult.notices); absent when nothing. */
  notices?: string[];
}

export interface LabJson {
  config: ResolvedConfig;
  device: LabDevice;
  parameterCount: number;
  runs: LabRunJson[];
}

export function labJson(result: ExperimentResult, device: LabDevice): LabJson {
  return {
    config: result.config,
    device,
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
      ...(r.notices ? { notices: r.notices } : {}),
    })),
  };
}

/** The experiment result behind a lab JSON document (labJson's inverse), e.g. to export the CSV of restored results. */
export function resultOfLabJson(doc: LabJson): ExperimentResult {
  return {
    config: doc.config,
    parameterCount: doc.parameterCount,
    runs: doc.runs.map(({ error, ...run }) => (error === null ? run : { ...run, error })),
    // The JSON does not record it; nothing downstream (labCsv) reads it.
    stopped: false,
  };
}

function csvField(text: string): string {
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/**
 * One row per (run, step): run,label,optimizer,step,trainLoss,valMetric,timeMs,klScale (valMetric empty
 * when not evaluated; klScale, K-FAC's KL-clip scale ν, empty for first-order runs).
 */
export function labCsv(result: ExperimentResult): string {
  const rows = ['run,label,optimizer,step,trainLoss,valMetric,timeMs,klScale'];
  result.runs.forEach((r, run) => {
    const h = r.history;
    for (let i = 0; i < h.step.length; i++) {
      const val = h.valMetric[i];
      const nu = h.klScale?.[i] ?? null;
      rows.push(
        [run, csvField(r.label), r.optimizer, h.step[i], h.trainLoss[i], val === null ? '' : val, h.timeMs[i], nu === null ? '' : nu].join(
          ',',
        ),
      );
    }
  });
  return `${rows.join('\n')}\n`;
}

export interface Baseline {
  steps: number;
  timeMs: number;
}

/**
 * The first-order baseline for the ratios: among the SGD and Adam runs that reached the target,
 * the fewest steps and (separately) the shortest time; null when none did. Takes finished runs
 * (the CLI) or the browser's live summaries alike.
 */
export function firstOrderBaseline(runs: readonly Pick<RunResult, 'optimizer' | 'stepsToTarget' | 'timeToTargetMs'>[]): Baseline | null {
  const reached = runs.filter((r) => (r.optimizer === 'sgd' || r.optimizer === 'adam') && r.stepsToTarget !== null);
  if (reached.length === 0) return null;
  return {
    steps: Math.min(...reached.map((r) => r.stepsToTarget as number)),
    timeMs: Math.min(...reached.map((r) => r.timeToTargetMs as number)),
  };
}
