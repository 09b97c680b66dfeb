// The experiment runner: one task, several optimizers, a fair race. Every run starts from the same
// initial weights (one seed) and sees the same batches (its own BatchSampler, same size/batchSize/
// seed, so order(epoch) is identical); the runs' steps are interleaved on one backend (step 0 of
// every run, then step 1, ...) so that wall-clock comparisons see the same machine state; each run's
// clock counts only its own steps (evaluation is not timed). A run that diverges (non-finite loss)
// or whose optimizer throws (e.g. KfacNumericalError) stops with a message; the others go on.
//
//   const result = await runExperiment(backend, presetConfig('mlp-spirals'), { onMetrics: (points) => plot(points) });
import type { Backend } from '../backend/backend.ts';
import { grad } from '../autograd/backward.ts';
import { collectScope, type Tensor } from '../tensor.ts';
import type { Module } from '../nn/module.ts';
import { computeLoss } from '../nn/losses.ts';
import { createOptimizer } from '../optim/factory.ts';
import type { NamedParameter, Optimizer } from '../optim/optimizer.ts';
import { OPTIMIZER_IDS, validate, type OptimizerId, type ParamValue } from '../optim/schema.ts';
import { trainStepWithForward } from '../optim/train-step.ts';
import { isKfacOptimizer } from '../curvature/kfac-optimizer.ts';
import { BatchSampler } from '../data/sampler.ts';
import { isTaskId, loadTask, TASK_IDS, TASKS, type PlacedTask, type TaskDefinition, type TaskId, type TrainBatch } from './tasks.ts';

// ---- configuration --------------------------------------------------------------------------------

export const TARGET_METRICS = ['valAccuracy'] as const;
export type TargetMetric = (typeof TARGET_METRICS)[number];

export interface OptimizerEntry {
  id: OptimizerId;
  /** Shown in legends; default: the id, numbered when it repeats. */
  label?: string;
  /** The optimizer's hyperparameters (schema.ts); missing keys take the schema defaults. */
  hyper?: Record<string, unknown>;
  /** Learning-rate schedule (the schema's 'schedule' group); totalSteps defaults to the experiment's steps. */
  schedule?: Record<string, unknown>;
  /** Gradient clipping (the schema's 'clip' group). */
  clip?: Record<string, unknown>;
}

export interface ExperimentConfig {
  task: TaskId;
  /** Examples per step (ignored by full-graph tasks). */
  batchSize: number;
  steps: number;
  /** Seeds the initial weights and the batch order; the same for every run. */
  seed: number;
  /** Evaluate every this many steps (and after the last step). */
  evalInterval: number;
  /** Steps and time to reach this validation metric are reported per run; null = none. */
  target?: { metric: TargetMetric; value: number } | null;
  optimizers: OptimizerEntry[];
}

export interface ResolvedOptimizer {
  id: OptimizerId;
  label: string;
  /** Every hyperparameter, defaults filled in. */
  hyper: Record<string, ParamValue>;
  schedule: Record<string, ParamValue>;
  clip: Record<string, ParamValue>;
}

export interface ResolvedConfig extends Omit<ExperimentConfig, 'optimizers' | 'target'> {
  target: { metric: TargetMetric; value: number } | null;
  optimizers: ResolvedOptimizer[];
}

export const MAX_RUNS = 8;
export const MAX_STEPS = 1_000_000;
export const MAX_BATCH_SIZE = 4096;

export type ConfigValidation = { ok: true; config: ResolvedConfig } | { ok: false; errors: string[] };

export class ExperimentConfigError extends Error {
  constructor(readonly messages: readonly string[]) {
    super(`invalid experiment config:\n${messages.join('\n')}`);
    this.name = 'ExperimentConfigError';
  }
}

function show(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkInteger(errors: string[], where: string, value: unknown, min: number, max: number): void {
  if (typeof value !== 'number' || !Number.isInteger(value))
    errors.push(`${where}: expected an integer, got ${typeof value} ${show(value)}`);
  else if (value < min || value > max) errors.push(`${where}: ${value} is out of range (allowed: ${min} to ${max})`);
}

/** Validate a schema group and rename its messages' "group.key" to the config path. */
function checkGroup(errors: string[], group: string, value: unknown, where: string): Record<string, ParamValue> {
  if (value !== undefined && !isPlainObject(value)) {
    errors.push(`${where}: expected an object of hyperparameters, got ${show(value)}`);
    return {};
  }
  const result = validate(group, value ?? {});
  if (result.ok) return result.values as Record<string, ParamValue>;
  for (const message of result.errors)
    errors.push(message.startsWith(`${group}.`) ? `${where}.${message.slice(group.length + 1)}` : message);
  return {};
}

const CONFIG_KEYS = ['task', 'batchSize', 'steps', 'seed', 'evalInterval', 'target', 'optimizers'];
const ENTRY_KEYS = ['id', 'label', 'hyper', 'schedule', 'clip'];

/** Check every field (each problem one message naming the field) and fill in defaults. */
export function validateConfig(input: unknown): ConfigValidation {
  if (!isPlainObject(input)) return { ok: false, errors: [`config: expected an object, got ${show(input)}`] };
  const errors: string[] = [];
  for (const key of Object.keys(input)) {
    if (!CONFIG_KEYS.includes(key)) errors.push(`${key}: unknown field (known: ${CONFIG_KEYS.join(', ')})`);
  }
  const { task, batchSize, steps, seed, evalInterval, target, optimizers } = input;
  if (!isTaskId(task)) errors.push(`task: unknown task ${show(task)} (known: ${TASK_IDS.join(', ')})`);
  checkInteger(errors, 'batchSize', batchSize, 1, MAX_BATCH_SIZE);
  checkInteger(errors, 'steps', steps, 1, MAX_STEPS);
  checkInteger(errors, 'seed', seed, 0, 0xffffffff);
  checkInteger(errors, 'evalInterval', evalInterval, 1, MAX_STEPS);

  let resolvedTarget: ResolvedConfig['target'] = null;
  if (target !== undefined && target !== null) {
    if (!isPlainObject(target)) errors.push(`target: expected { metric: 'valAccuracy', value } or null, got ${show(target)}`);
    else {
      if (!(TARGET_METRICS as readonly unknown[]).includes(target.metric)) {
        errors.push(`target.metric: unknown metric ${show(target.metric)} (known: ${TARGET_METRICS.join(', ')})`);
      }
      if (typeof target.value !== 'number' || !(target.value >= 0 && target.value <= 1)) {
        errors.push(`target.value: expected an accuracy between 0 and 1, got ${show(target.value)}`);
      }
      resolvedTarget = { metric: target.metric as TargetMetric, value: target.value as number };
    }
  }

  const resolved: ResolvedOptimizer[] = [];
  if (!Array.isArray(optimizers) || optimizers.length === 0) {
    errors.push(`optimizers: expected a non-empty array of { id, label?, hyper? }, got ${show(optimizers)}`);
  } else if (optimizers.length > MAX_RUNS) {
    errors.push(`optimizers: at most ${MAX_RUNS} runs per experiment, got ${optimizers.length}`);
  } else {
    optimizers.forEach((entry: unknown, i) => {
      const where = `optimizers[${i}]`;
      if (!isPlainObject(entry)) {
        errors.push(`${where}: expected { id, label?, hyper? }, got ${show(entry)}`);
        return;
      }
      for (const key of Object.keys(entry)) {
        if (!ENTRY_KEYS.includes(key)) errors.push(`${where}.${key}: unknown field (known: ${ENTRY_KEYS.join(', ')})`);
      }
      const id = entry.id;
      if (typeof id !== 'string' || !(OPTIMIZER_IDS as readonly string[]).includes(id)) {
        errors.push(`${where}.id: unknown optimizer ${show(id)} (known: ${OPTIMIZER_IDS.join(', ')})`);
        return;
      }
      if (entry.label !== undefined && (typeof entry.label !== 'string' || entry.label.trim() === '')) {
        errors.push(`${where}.label: expected a non-empty string, got ${show(entry.label)}`);
      }
      const hyper = checkGroup(errors, id, entry.hyper, `${where}.hyper`);
      // A cosine schedule should end with the experiment unless told otherwise.
      const stepsOk = typeof steps === 'number' && Number.isInteger(steps) && steps >= 1 && steps <= MAX_STEPS;
      const scheduleInput =
        stepsOk && (entry.schedule === undefined || isPlainObject(entry.schedule))
          ? { totalSteps: steps, ...entry.schedule }
          : entry.schedule;
      const schedule = checkGroup(errors, 'schedule', scheduleInput, `${where}.schedule`);
      const clip = checkGroup(errors, 'clip', entry.clip, `${where}.clip`);
      resolved.push({ id: id as OptimizerId, label: typeof entry.label === 'string' ? entry.label : '', hyper, schedule, clip });
    });
  }
  if (errors.length > 0) return { ok: false, errors };

  // Default labels: the id, numbered when several runs share it ("adam #2").
  const counts = new Map<string, number>();
  for (const r of resolved) counts.set(r.id, (counts.get(r.id) ?? 0) + 1);
  const seen = new Map<string, number>();
  for (const r of resolved) {
    if (r.label) continue;
    const n = (seen.get(r.id) ?? 0) + 1;
    seen.set(r.id, n);
    r.label = (counts.get(r.id) ?? 0) > 1 ? `${r.id} #${n}` : r.id;
  }
  const cfg = input as unknown as ExperimentConfig;
  return {
    ok: true,
    config: {
      task: cfg.task,
      batchSize: cfg.batchSize,
      steps: cfg.steps,
      seed: cfg.seed,
      evalInterval: cfg.evalInterval,
      target: resolvedTarget,
      optimizers: resolved,
    },
  };
}

export function validateConfigOrThrow(input: unknown): ResolvedConfig {
  const result = validateConfig(input);
  if (!result.ok) throw new ExperimentConfigError(result.errors);
  return result.config;
}

// ---- results --------------------------------------------------------------------------------------

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
}

export interface RunHistory {
  step: number[];
  trainLoss: number[];
  /** null where the step was not evaluated. */
  valMetric: (number | null)[];
  timeMs: number[];
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

// ---- control --------------------------------------------------------------------------------------

/** Pause, resume, single-step and stop a running experiment (between interleaved steps). */
export class ExperimentController {
  private pausedFlag = false;
  private stoppedFlag = false;
  /** Interleaved steps allowed while paused (stepOnce). */
  private pendingSteps = 0;
  private wake: (() => void) | null = null;

  get paused(): boolean {
    return this.pausedFlag;
  }

  get stopped(): boolean {
    return this.stoppedFlag;
  }

  pause(): void {
    this.pausedFlag = true;
  }

  resume(): void {
    this.pausedFlag = false;
    this.release();
  }

  stop(): void {
    this.stoppedFlag = true;
    this.release();
  }

  /** While paused: let exactly one more interleaved step (every run's next step) through. */
  stepOnce(): void {
    if (!this.pausedFlag) return;
    this.pendingSteps++;
    this.release();
  }

  /** Resolves at once unless paused; then when resumed, stopped or single-stepped. */
  waitWhilePaused(): Promise<void> {
    if (!this.pausedFlag || this.stoppedFlag) return Promise.resolve();
    if (this.pendingSteps > 0) {
      this.pendingSteps--;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      const previous = this.wake;
      this.wake = () => {
        previous?.();
        resolve();
      };
    }).then(() => this.waitWhilePaused());
  }

  private release(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }
}

export interface RunOptions {
  /** Called after every interleaved step with the points of the runs that took it. */
  onMetrics?: (points: MetricPoint[]) => void;
  /** Called once per run when it finishes, stops or fails. */
  onRunEnd?: (run: number, result: RunResult) => void;
  controller?: ExperimentController;
  signal?: AbortSignal;
  /** Measure per-phase times (a device sync per phase, for every run alike). Default true. */
  phaseTiming?: boolean;
  /** Keep each step's batch indices in the results (for fairness checks). */
  recordBatchIndices?: boolean;
  /** End each run as soon as it reaches the target (tuning sweeps and the reproduction benchmark need nothing after it). */
  stopAtTarget?: boolean;
}

// ---- the experiment -------------------------------------------------------------------------------

/** Phases timed for SGD and Adam (K-FAC reports KFAC_PHASES). */
export const FIRST_ORDER_PHASES = ['forward', 'backward', 'update'] as const;
export type FirstOrderPhase = (typeof FIRST_ORDER_PHASES)[number];

interface RunState {
  readonly index: number;
  readonly entry: ResolvedOptimizer;
  readonly model: Module;
  readonly params: NamedParameter[];
  readonly optimizer: Optimizer;
  readonly sampler: BatchSampler;
  readonly result: RunResult;
  elapsedMs: number;
  done: boolean;
}

/** A prepared experiment: data placed, models and optimizers built. run() once, then dispose(). */
export class Experiment {
  private started = false;

  private constructor(
    readonly backend: Backend,
    readonly config: ResolvedConfig,
    private readonly placed: PlacedTask,
    private readonly states: RunState[],
    readonly parameterCount: number,
    private readonly options: RunOptions,
  ) {}

  /** Validate the config (throws ExperimentConfigError), load the task and build every run. */
  static async create(backend: Backend, input: ExperimentConfig | unknown, options: RunOptions = {}): Promise<Experiment> {
    const config = validateConfigOrThrow(input);
    const task = await loadTask(config.task);
    const batchSize = task.fullBatch ? 1 : config.batchSize;
    if (batchSize > task.trainSize) {
      throw new ExperimentConfigError([`batchSize: ${batchSize} exceeds the ${task.trainSize} training examples of ${config.task}`]);
    }
    const placed = task.place(backend);
    const states: RunState[] = [];
    try {
      config.optimizers.forEach((entry, index) => {
        const model = placed.buildModel(config.seed);
        const optimizer = createOptimizer(entry.id, entry.hyper, { schedule: entry.schedule, clip: entry.clip });
        if (isKfacOptimizer(optimizer)) optimizer.timing = options.phaseTiming ?? true;
        states.push({
          index,
          entry,
          model,
          params: model.parameters(),
          optimizer,
          sampler: new BatchSampler({ size: task.trainSize, batchSize, seed: config.seed, dropLast: true }),
          elapsedMs: 0,
          done: false,
          result: {
            optimizer: entry.id,
            label: entry.label,
            hyper: entry.hyper,
            history: { step: [], trainLoss: [], valMetric: [], timeMs: [] },
            stepsToTarget: null,
            timeToTargetMs: null,
            phaseMs: {},
            stepsCompleted: 0,
            batchIndices: options.recordBatchIndices ? [] : undefined,
          },
        });
      });
    } catch (e) {
      for (const s of states) {
        s.optimizer.dispose();
        s.model.dispose();
      }
      placed.dispose();
      throw e;
    }
    return new Experiment(backend, config, placed, states, states[0].model.parameterCount(), options);
  }

  /** The runs' models (same initial weights) in config order. */
  get models(): readonly Module[] {
    return this.states.map((s) => s.model);
  }

  /** The runs' optimizers in config order, for reading only (the lab's curvature panel reads K-FAC factors). */
  get optimizers(): readonly Optimizer[] {
    return this.states.map((s) => s.optimizer);
  }

  get task(): TaskDefinition {
    return TASKS[this.config.task];
  }

  async run(): Promise<ExperimentResult> {
    if (this.started) throw new Error('Experiment.run: an experiment runs once; create a new one');
    this.started = true;
    const { controller, signal, onMetrics } = this.options;
    const halted = () => (controller?.stopped ?? false) || (signal?.aborted ?? false);
    let stopped = false;
    for (let t = 0; t < this.config.steps; t++) {
      await controller?.waitWhilePaused();
      if (halted()) {
        stopped = true;
        break;
      }
      const points: MetricPoint[] = [];
      for (const state of this.states) {
        if (state.done) continue;
        const point = await this.step(state, t);
        if (point) points.push(point);
      }
      if (points.length > 0) onMetrics?.(points);
      if (this.states.every((s) => s.done)) break;
    }
    for (const state of this.states) this.finish(state);
    return { config: this.config, parameterCount: this.parameterCount, runs: this.states.map((s) => s.result), stopped };
  }

  dispose(): void {
    for (const s of this.states) {
      s.optimizer.dispose();
      s.model.dispose();
    }
    this.placed.dispose();
  }

  /** One step of one run; null when the run failed (it is then marked done with its error). */
  private async step(state: RunState, t: number): Promise<MetricPoint | null> {
    const { indices } = state.sampler.batchAtStep(t);
    state.result.batchIndices?.push(indices);
    const timing = this.options.phaseTiming ?? true;
    let batch: TrainBatch | null = null;
    let lossTensor: Tensor | null = null;
    let loss: number;
    let phaseMs: Record<string, number> | undefined;
    const start = performance.now();
    try {
      batch = this.placed.batch(state.model, indices);
      if (timing && !isKfacOptimizer(state.optimizer)) {
        ({ loss: lossTensor, phaseMs } = await timedFirstOrderStep(this.backend, state.params, state.optimizer, t, batch));
      } else if (isKfacOptimizer(state.optimizer)) {
        const out = await state.optimizer.trainStep({ params: state.params, forward: batch.forward, loss: batch.loss, step: t });
        lossTensor = out.loss;
        phaseMs = out.phaseMs ? { ...out.phaseMs } : undefined;
      } else {
        lossTensor = await trainStepWithForward({
          params: state.params,
          optimizer: state.optimizer,
          step: t,
          forward: batch.forward,
          loss: batch.loss,
        });
      }
      loss = (await lossTensor.read())[0];
    } catch (e) {
      const error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      this.fail(state, `step ${t + 1}: ${error}; run stopped`);
      return null;
    } finally {
      lossTensor?.dispose();
      batch?.dispose();
    }
    state.elapsedMs += performance.now() - start;
    if (!Number.isFinite(loss)) {
      this.fail(state, `step ${t + 1}: training loss is ${loss} (diverged); run stopped`);
      return null;
    }

    const steps = t + 1;
    const r = state.result;
    if (phaseMs) for (const [phase, ms] of Object.entries(phaseMs)) r.phaseMs[phase] = (r.phaseMs[phase] ?? 0) + ms;
    let valMetric: number | undefined;
    if (steps % this.config.evalInterval === 0 || steps === this.config.steps) {
      try {
        valMetric = await this.placed.evaluate(state.model);
      } catch (e) {
        this.fail(state, `step ${steps}: evaluation failed: ${e instanceof Error ? e.message : String(e)}`);
        return null;
      }
    }
    r.history.step.push(steps);
    r.history.trainLoss.push(loss);
    r.history.valMetric.push(valMetric ?? null);
    r.history.timeMs.push(state.elapsedMs);
    r.stepsCompleted = steps;
    const target = this.config.target;
    if (target && valMetric !== undefined && r.stepsToTarget === null && valMetric >= target.value) {
      r.stepsToTarget = steps;
      r.timeToTargetMs = state.elapsedMs;
      if (this.options.stopAtTarget) this.finish(state);
    }
    if (steps === this.config.steps) this.finish(state);
    return { run: state.index, step: steps, trainLoss: loss, valMetric, elapsedMs: state.elapsedMs, phaseMs };
  }

  private fail(state: RunState, message: string): void {
    state.result.error = message;
    this.finish(state);
  }

  private finish(state: RunState): void {
    if (state.done) return;
    state.done = true;
    this.options.onRunEnd?.(state.index, state.result);
  }
}

/**
 * A first-order step with the same phase boundaries as K-FAC's timing (a device sync after each),
 * so the lab can show where SGD and Adam spend their time too.
 */
async function timedFirstOrderStep(
  backend: Backend,
  params: readonly NamedParameter[],
  optimizer: Optimizer,
  step: number,
  batch: TrainBatch,
): Promise<{ loss: Tensor; phaseMs: Record<string, number> }> {
  const temporaries: Tensor[] = [];
  const run = <T>(fn: () => T): T => {
    const { result, created } = collectScope(fn);
    temporaries.push(...created);
    return result;
  };
  const phaseMs: Record<string, number> = {};
  let last = performance.now();
  const lap = async (phase: FirstOrderPhase) => {
    await backend.sync();
    const now = performance.now();
    phaseMs[phase] = now - last;
    last = now;
  };
  let loss: Tensor | null = null;
  try {
    const value = run(() => computeLoss(batch.loss.spec, batch.forward(), batch.loss.targets));
    await lap('forward');
    const grads = run(() =>
      grad(
        value,
        params.map((p) => p.variable),
      ),
    );
    await lap('backward');
    run(() => optimizer.step(params, grads, step));
    await lap('update');
    loss = value.value;
    return { loss, phaseMs };
  } finally {
    for (const t of temporaries) if (t !== loss) t.dispose();
  }
}

/** Validate, build, run and dispose an experiment in one call. */
export async function runExperiment(
  backend: Backend,
  config: ExperimentConfig | unknown,
  options: RunOptions = {},
): Promise<ExperimentResult> {
  const experiment = await Experiment.create(backend, config, options);
  try {
    return await experiment.run();
  } finally {
    experiment.dispose();
  }
}
