// The typed messages between the page and the lab worker (src/worker/lab-worker.ts): commands in,
// events out. Metric points travel as columns of typed arrays whose buffers are transferred, so a
// batch of hundreds of points costs one structured clone of a few small objects.
import type { ExperimentConfig, ResolvedConfig } from '../engine/lab/experiment-config.ts';
import type { ExperimentResult, MetricPoint, RunResult } from '../engine/lab/results.ts';
import type { LabDevice } from '../engine/lab/report.ts';
import type { OptimizerId } from '../engine/optim/schema.ts';
import type { CurvatureSnapshot } from '../engine/curvature/snapshot.ts';

/**
 * Which backend the lab should open: WebGPU (falling back to WASM, then the reference CPU), the fast
 * CPU backend (WebAssembly SIMD, float32), or the reference CPU backend (float64, slow).
 */
export type BackendPreference = 'webgpu' | 'wasm' | 'cpu';
export const BACKEND_PREFERENCES: readonly BackendPreference[] = ['webgpu', 'wasm', 'cpu'];
export type LabStatus = 'idle' | 'preparing' | 'running' | 'paused' | 'done';

export type LabCommand =
  /** (Re)open the worker's backend; answered by 'backend'. Refused while an experiment runs. */
  | { type: 'open'; prefer: BackendPreference }
  | { type: 'start'; config: ExperimentConfig; paused?: boolean }
  | { type: 'pause' }
  | { type: 'resume' }
  /** One interleaved step (every live run's next step); only while paused, ignored otherwise. */
  | { type: 'step' }
  /** Stop, dispose, back to 'idle'. */
  | { type: 'reset' }
  /** What the curvature panel shows: layer null = the run's first K-FAC layer; every = refresh interval in steps. */
  | { type: 'curvature'; run: number; layer: string | null; every: number }
  /** Test hook: destroy the worker's WebGPU device as if the GPU had reset. */
  | { type: 'lose-device' }
  /** Capture run `run`'s current weights as a checkpoint (while paused or after the end); answered by 'run-checkpoint'. */
  | { type: 'capture-run'; requestId: string; run: number }
  /**
   * Start a tool's job (src/worker/jobs/): its config is validated by the job kind before anything
   * runs; answered by 'job-progress' events, then exactly one 'job-result' or 'job-error'.
   */
  | { type: 'job-start'; jobId: string; kind: JobKind; config: unknown }
  /** Stop a queued or running job; it ends with a 'job-error' whose cancelled is true (unless it already ended). */
  | { type: 'job-cancel'; jobId: string };

export type LabCommandType = LabCommand['type'];

/** Why WebGPU is not used: the shell's failure kinds (src/worker/gpu-status.ts). */
export type BackendFailureKind =
  | 'no-navigator-gpu'
  | 'insecure-context'
  | 'no-node-gpu'
  | 'no-adapter'
  | 'request-device-failed'
  | 'device-lost'
  | 'unexpected'
  /** The user chose a CPU backend (WASM or the reference one; the report's device says which). */
  | 'chosen-cpu';

export interface BackendReport {
  /** { backend: 'webgpu' | 'cpu', summary, fallbackReason }. */
  device: LabDevice;
  /** false = CPU (fallback or chosen). */
  webgpu: boolean;
  /** Why WebGPU is not used; null when it is. */
  failureKind: BackendFailureKind | null;
}

/** Columns, one entry per (run, step) point, in order; the typed arrays are transferred. */
export interface MetricsBatch {
  run: Int32Array;
  step: Int32Array;
  trainLoss: Float64Array;
  /** NaN where the step was not evaluated. */
  valMetric: Float64Array;
  /** The run's own training time so far, ms. */
  elapsedMs: Float64Array;
  /** K-FAC's KL-clip scale ν of the step (MetricPoint.klScale); NaN for runs without one. Absent in older batches. */
  klScale?: Float64Array;
}

export interface StartedRun {
  label: string;
  optimizer: OptimizerId;
}

export type LabEvent =
  | { type: 'backend'; report: BackendReport }
  | { type: 'status'; status: LabStatus }
  | {
      type: 'started';
      config: ResolvedConfig;
      parameterCount: number;
      runs: StartedRun[];
      /** Run index → its K-FAC layer names, in the optimizer's order (K-FAC runs only). */
      kfacLayers: Record<number, string[]>;
    }
  /** Flushed at most every ~50 ms (and at pause and end). */
  | { type: 'metrics'; batch: MetricsBatch }
  /** Per run: total ms per phase so far (sent with every metrics flush). */
  | { type: 'phases'; totals: Record<string, number>[] }
  /** History included; error set when the run diverged or failed. */
  | { type: 'run-end'; run: number; result: RunResult }
  | { type: 'curvature'; run: number; step: number; snapshot: CurvatureSnapshot }
  /** When the experiment ends: finished, or stopped by reset or a lost device (then result.stopped). */
  | { type: 'done'; result: ExperimentResult }
  /** recovered: the interrupted runs went on (false: they were stopped; see their run-end errors). */
  | { type: 'device-lost'; message: string; recovered: boolean }
  /** Invalid config, failure to open a backend, unexpected exceptions. */
  | { type: 'error'; messages: string[] }
  /** The answer to 'capture-run': the encoded checkpoint (src/engine/checkpoint/checkpoint.ts), or why there is none. */
  | { type: 'run-checkpoint'; requestId: string; run: number; bytes: Uint8Array | null; error?: string }
  /** A job's progress, at most every JOB_PROGRESS_INTERVAL_MS; never after its result or error. */
  | { type: 'job-progress'; jobId: string; progress: JobProgress }
  /** The job's result (its kind's JSON-able value; typed arrays among it are transferred). */
  | { type: 'job-result'; jobId: string; result: unknown }
  /** The job failed, its config was refused, or it was cancelled. */
  | { type: 'job-error'; jobId: string; messages: string[]; cancelled: boolean };

export type LabEventType = LabEvent['type'];

// ---- jobs ---------------------------------------------------------------------------------------

/** The job kinds the worker runs (src/worker/jobs/registry.ts holds their definitions). */
export const JOB_KINDS = ['train', 'curvature', 'diffusion', 'prune', 'edit', 'influence', 'thermo', 'ngd', 'marglik'] as const;
export type JobKind = (typeof JOB_KINDS)[number];

/** Where a job is: `done` of `total` units of its current stage (e.g. training steps, batches). */
export interface JobProgress {
  /** What the job does now, in a few words ("training", "fitting the K-FAC factors"). */
  stage: string;
  done: number;
  total: number;
  /** Figures of the moment worth showing (e.g. the training loss). */
  values?: Record<string, number>;
}

/** Progress events of one job are sent at most this often (the last before its end always goes). */
export const JOB_PROGRESS_INTERVAL_MS = 100;

/** A job id or request id: short printable text (it is echoed in events and messages). */
const ID_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;

/** Points as columns, plus the buffers to transfer with them. */
export function packMetrics(points: readonly MetricPoint[]): { batch: MetricsBatch; transfer: Transferable[] } {
  const n = points.length;
  const batch: MetricsBatch = {
    run: new Int32Array(n),
    step: new Int32Array(n),
    trainLoss: new Float64Array(n),
    valMetric: new Float64Array(n),
    elapsedMs: new Float64Array(n),
    klScale: new Float64Array(n),
  };
  points.forEach((p, i) => {
    batch.run[i] = p.run;
    batch.step[i] = p.step;
    batch.trainLoss[i] = p.trainLoss;
    batch.valMetric[i] = p.valMetric ?? Number.NaN;
    batch.elapsedMs[i] = p.elapsedMs;
    batch.klScale![i] = p.klScale ?? Number.NaN;
  });
  return { batch, transfer: metricsTransferList(batch) };
}

export function metricsTransferList(batch: MetricsBatch): Transferable[] {
  const buffers: Transferable[] = [
    batch.run.buffer,
    batch.step.buffer,
    batch.trainLoss.buffer,
    batch.valMetric.buffer,
    batch.elapsedMs.buffer,
  ];
  if (batch.klScale) buffers.push(batch.klScale.buffer);
  return buffers;
}

/** The points of a batch again (valMetric absent where NaN); for tests and simple consumers. */
export function unpackMetrics(batch: MetricsBatch): MetricPoint[] {
  const points: MetricPoint[] = [];
  for (let i = 0; i < batch.run.length; i++) {
    const valMetric = batch.valMetric[i];
    const klScale = batch.klScale?.[i] ?? Number.NaN;
    points.push({
      run: batch.run[i],
      step: batch.step[i],
      trainLoss: batch.trainLoss[i],
      ...(Number.isNaN(valMetric) ? {} : { valMetric }),
      elapsedMs: batch.elapsedMs[i],
      ...(Number.isNaN(klScale) ? {} : { klScale }),
    });
  }
  return points;
}

const COMMAND_TYPES: readonly LabCommandType[] = [
  'open',
  'start',
  'pause',
  'resume',
  'step',
  'reset',
  'curvature',
  'lose-device',
  'capture-run',
  'job-start',
  'job-cancel',
];

function idProblem(value: unknown, where: string): string | null {
  return typeof value === 'string' && ID_PATTERN.test(value)
    ? null
    : `${where}: expected 1 to 64 letters, digits or _ . : -, got ${typeof value === 'string' ? JSON.stringify(value.slice(0, 70)) : String(value)}`;
}

/**
 * Checks a message's envelope (its type and the fields the worker reads); the config itself is
 * validated by the runner. Returns a message naming what is wrong, or null.
 */
export function commandProblem(value: unknown): string | null {
  if (typeof value !== 'object' || value === null) return `command: expected an object, got ${String(value)}`;
  const command = value as Record<string, unknown>;
  if (typeof command.type !== 'string' || !(COMMAND_TYPES as readonly string[]).includes(command.type)) {
    return `command.type: unknown command ${JSON.stringify(command.type)} (known: ${COMMAND_TYPES.join(', ')})`;
  }
  switch (command.type) {
    case 'open':
      return (BACKEND_PREFERENCES as readonly unknown[]).includes(command.prefer)
        ? null
        : `open.prefer: expected ${BACKEND_PREFERENCES.map((p) => `'${p}'`).join(', ')}, got ${JSON.stringify(command.prefer)}`;
    case 'start':
      if (command.paused !== undefined && typeof command.paused !== 'boolean') return 'start.paused: expected a boolean';
      return null;
    case 'curvature':
      if (!Number.isInteger(command.run) || (command.run as number) < 0)
        return `curvature.run: expected a run index, got ${String(command.run)}`;
      if (command.layer !== null && typeof command.layer !== 'string') return 'curvature.layer: expected a layer name or null';
      if (typeof command.every !== 'number' || !(command.every >= 1))
        return `curvature.every: expected a number ≥ 1, got ${String(command.every)}`;
      return null;
    case 'capture-run':
      if (!Number.isInteger(command.run) || (command.run as number) < 0)
        return `capture-run.run: expected a run index, got ${String(command.run)}`;
      return idProblem(command.requestId, 'capture-run.requestId');
    case 'job-start':
      if (typeof command.kind !== 'string' || !(JOB_KINDS as readonly string[]).includes(command.kind))
        return `job-start.kind: unknown job kind ${JSON.stringify(command.kind)} (known: ${JOB_KINDS.join(', ')})`;
      return idProblem(command.jobId, 'job-start.jobId');
    case 'job-cancel':
      return idProblem(command.jobId, 'job-cancel.jobId');
    default:
      return null;
  }
}
