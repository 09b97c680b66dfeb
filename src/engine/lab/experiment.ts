// The experiment: one task, several optimizers, a fair race. Every run starts from the same
// initial weights (one seed) and sees the same batches (its own BatchSampler, same size/batchSize/
// seed, so order(epoch) is identical); the runs' steps are interleaved on one backend (step 0 of
// every run, then step 1, ...) so that wall-clock comparisons see the same machine state; each run's
// clock counts only its own steps (evaluation and host copies are not timed). A run that diverges
// (non-finite loss) or whose optimizer throws (e.g. KfacNumericalError) stops with a message; the
// others go on. Every optimizer takes the same step (optim/optimizer.ts: trainStep).
//
// Fair clocks: one-time costs (WebGPU pipeline compilation, buffer pools, the JIT's first pass) must
// not land on whichever run steps first. Before any clock starts, `warmUp()` takes an untimed step on
// a throwaway copy of every distinct code path (same optimizer, same switches) and discards it, so
// every run starts its clock with the pipelines it needs already built and its own state untouched
// (the race's numbers do not change; only its clocks). Evaluations are not timed, so they are not
// warmed. run() warms up by itself; the lab's worker calls warmUp() while it still says "preparing".
//
// With `hostCopyInterval` k, every k steps each run's parameters and optimizer state are copied to
// the host (host-copy.ts); `resumePoints()` turns them into the starting points of a new experiment
// on another backend (`RunOptions.resume`), which continues every interrupted run from its copy.
//
//   const result = await runExperiment(backend, presetConfig('mlp-spirals'), { onMetrics: (points) => plot(points) });
import type { Backend } from '../backend/backend.ts';
import { readAndDispose } from '../tensor.ts';
import type { Module, NamedParameter } from '../nn/module.ts';
import { createOptimizer } from '../optim/factory.ts';
import type { Optimizer, StepPhaseTimes, TrainStepResult } from '../optim/optimizer.ts';
import type { OptimizerId, ParamValue } from '../optim/schema.ts';
import { BatchSampler } from '../data/sampler.ts';
import { discoverCurvatureLayers } from '../nn/layer-discovery.ts';
import type { ExperimentController } from './controller.ts';
import {
  ExperimentConfigError,
  validateConfigOrThrow,
  type ExperimentConfig,
  type ResolvedConfig,
  type ResolvedOptimizer,
} from './experiment-config.ts';
import { captureRun, restoreRun, type ResumePoint, type RunHostCopy } from './host-copy.ts';
import type { ExperimentResult, MetricPoint, RunHistory, RunResult } from './results.ts';
import { loadTask, TASKS, type PlacedTask, type TaskDefinition, type TrainBatch } from './tasks.ts';

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
  /**
   * End every run once any run has reached the target (after that interleaved step): in a tuning race
   * of one optimizer's grid points the others can no longer win on steps (the reproduction benchmark).
   */
  stopAtFirstTarget?: boolean;
  /** Copy each run's parameters and optimizer state to the host every this many steps (0 or absent: never). */
  hostCopyInterval?: number;
  /** Start from these points (one per run, from `resumePoints()` of an interrupted experiment of the same config). */
  resume?: readonly ResumePoint[];
  /** Untimed warm-up steps per distinct code path before the clocks start (default WARMUP_STEPS; 0: none). */
  warmupSteps?: number;
  /** The clock the runs' times are read from (ms; default performance.now). Tests pass a fake one. */
  clock?: () => number;
  /**
   * Evaluate a run every `every` steps (besides every evalInterval) once its latest validation metric
   * is within `within` of the target, so the step it reaches the target is resolved to `every` steps
   * without evaluating densely all the way (the reproduction benchmark). Needs a target.
   */
  denseEval?: { within: number; every: number };
}

/**
 * Warm-up steps per code path: K-FAC's first step runs every phase (factors, inverses, precondition,
 * update); its later steps run a subset of them, so one step builds every pipeline a run's steps use.
 */
export const WARMUP_STEPS = 1;

interface RunState {
  readonly index: number;
  readonly entry: ResolvedOptimizer;
  readonly model: Module;
  readonly params: NamedParameter[];
  readonly optimizer: Optimizer;
  readonly sampler: BatchSampler;
  readonly result: RunResult;
  /** The first step this run takes (0, or the step of the host copy it resumed from). */
  firstStep: number;
  elapsedMs: number;
  done: boolean;
  /** The latest host copy (null before the first). */
  copy: RunHostCopy | null;
  /** The latest validation metric (null before the first evaluation). */
  lastVal: number | null;
}

/** Host copies taken so far and their total time (ms), for the cost the lab states. */
export interface HostCopyStats {
  copies: number;
  totalMs: number;
}

/** A prepared experiment: data placed, models and optimizers built. run() once, then dispose(). */
export class Experiment {
  private started = false;
  private disposed = false;
  private warmed: Promise<void> | null = null;
  private readonly copyStats: HostCopyStats = { copies: 0, totalMs: 0 };

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
    const interval = options.hostCopyInterval ?? 0;
    if (!(Number.isInteger(interval) && interval >= 0)) throw new Error(`hostCopyInterval: expected a whole number ≥ 0, got ${interval}`);
    const dense = options.denseEval;
    if (dense && !(Number.isInteger(dense.every) && dense.every >= 1 && dense.within >= 0)) {
      throw new Error(`denseEval: expected { within ≥ 0, every ≥ 1 (whole) }, got ${JSON.stringify(dense)}`);
    }
    if (options.resume && options.resume.length !== config.optimizers.length) {
      throw new Error(`resume: ${options.resume.length} resume points for ${config.optimizers.length} runs`);
    }
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
        const optimizer = buildOptimizer(entry, config.seed, options);
        const params = model.parameters();
        const point = options.resume?.[index];
        // Built before the restore, so a failing restore still disposes what it made.
        const state: RunState = {
          index,
          entry,
          model,
          params,
          optimizer,
          sampler: new BatchSampler({ size: task.trainSize, batchSize, seed: config.seed, dropLast: true }),
          elapsedMs: 0,
          done: false,
          copy: null,
          lastVal: null,
          firstStep: 0,
          result: point?.result ?? {
            optimizer: entry.id,
            label: entry.label,
            hyper: entry.hyper,
            history: emptyHistory(entry.id),
            stepsToTarget: null,
            timeToTargetMs: null,
            phaseMs: {},
            stepsCompleted: 0,
            batchIndices: options.recordBatchIndices ? [] : undefined,
          },
        };
        states.push(state);
        if (!point) return;
        if (point.kind === 'finished') {
          state.done = true;
          return;
        }
        if (point.copy) {
          restoreRun(params, optimizer, point.copy);
          state.copy = point.copy;
          state.elapsedMs = point.copy.elapsedMs;
        }
        state.firstStep = point.copy?.step ?? 0;
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

  /**
   * The K-FAC layer paths of the task's model in the order the K-FAC optimizer meets them, from one
   * forward pass on two examples of a throwaway model (same seed) on this backend.
   */
  curvatureLayerNames(): string[] {
    const model = this.placed.buildModel(this.config.seed);
    const trainSize = this.states[0].sampler.size;
    const batch = this.placed.batch(
      model,
      Int32Array.from({ length: Math.min(2, trainSize) }, (_, i) => i),
    );
    try {
      return discoverCurvatureLayers(batch.forward);
    } finally {
      batch.dispose();
      model.dispose();
    }
  }

  /** Host copies taken so far and their total time. */
  get hostCopyStats(): Readonly<HostCopyStats> {
    return { ...this.copyStats };
  }

  /**
   * Where each run would continue on another backend: a run that `interrupted` says was cut short
   * resumes from its latest host copy (or from the start when none was taken: the same seed gives
   * the same initial weights); any other run keeps its result as it is.
   */
  resumePoints(interrupted: (run: number, result: RunResult) => boolean): ResumePoint[] {
    return this.states.map((s) =>
      interrupted(s.index, s.result) ? { kind: 'resume', copy: s.copy, result: s.result } : { kind: 'finished', result: s.result },
    );
  }

  /**
   * The untimed warm-up (see the file comment): for every distinct code path among the runs still to
   * step, a throwaway model and optimizer built like the run's take `warmupSteps` steps on the run's
   * first batches, then are released. A failure here is left for the real run to
   * meet and report. Idempotent; run() calls it, the worker calls it earlier to say "preparing".
   */
  warmUp(): Promise<void> {
    this.warmed ??= this.warmUpOnce();
    return this.warmed;
  }

  private async warmUpOnce(): Promise<void> {
    const steps = this.options.warmupSteps ?? WARMUP_STEPS;
    if (!(Number.isInteger(steps) && steps >= 0)) throw new Error(`warmupSteps: expected a whole number ≥ 0, got ${steps}`);
    if (steps === 0) return;
    const seen = new Set<string>();
    for (const state of this.states) {
      const key = codePathKey(state.entry);
      if (state.done || seen.has(key)) continue;
      seen.add(key);
      if (this.halted()) return;
      const model = this.placed.buildModel(this.config.seed);
      let optimizer: Optimizer | null = null;
      try {
        optimizer = buildOptimizer(state.entry, this.config.seed, this.options);
        const params = model.parameters();
        for (let t = 0; t < steps && !this.halted(); t++) {
          const batch = this.placed.batch(model, state.sampler.batchAtStep(t).indices);
          try {
            const out = await optimizer.trainStep({ params, forward: batch.forward, loss: batch.loss, step: t });
            await readAndDispose(out.loss);
          } finally {
            batch.dispose();
          }
        }
      } catch {
        // The run itself takes the same steps and reports what went wrong there.
      } finally {
        optimizer?.dispose();
        model.dispose();
      }
    }
  }

  private halted(): boolean {
    return (this.options.controller?.stopped ?? false) || (this.options.signal?.aborted ?? false);
  }

  async run(): Promise<ExperimentResult> {
    if (this.started) throw new Error('Experiment.run: an experiment runs once; create a new one');
    this.started = true;
    const { controller, onMetrics } = this.options;
    const halted = () => this.halted();
    let stopped = false;
    await this.warmUp();
    for (const state of this.states) if (!state.done) rewindResult(state);
    const live = this.states.filter((s) => !s.done);
    const first = live.length > 0 ? Math.min(...live.map((s) => s.firstStep)) : this.config.steps;
    for (let t = first; t < this.config.steps; t++) {
      await controller?.waitWhilePaused();
      if (halted()) {
        stopped = true;
        break;
      }
      const points: MetricPoint[] = [];
      for (const state of this.states) {
        if (state.done || t < state.firstStep) continue;
        const point = await this.step(state, t);
        if (point) points.push(point);
      }
      if (points.length > 0) onMetrics?.(points);
      if (this.options.stopAtFirstTarget && this.states.some((s) => s.result.stepsToTarget !== null)) break;
      if (this.states.every((s) => s.done)) break;
    }
    for (const state of this.states) this.finish(state);
    return { config: this.config, parameterCount: this.parameterCount, runs: this.states.map((s) => s.result), stopped };
  }

  /** Release the models, optimizers and placed data (again: a no-op). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
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
    let batch: TrainBatch | null = null;
    let loss: number;
    let phaseMs: StepPhaseTimes | undefined;
    let klScale: number | undefined;
    const clock = this.clock;
    const start = clock();
    try {
      batch = this.placed.batch(state.model, indices);
      const out: TrainStepResult & { klScale?: number } = await state.optimizer.trainStep({
        params: state.params,
        forward: batch.forward,
        loss: batch.loss,
        step: t,
      });
      phaseMs = out.phaseMs ? { ...out.phaseMs } : undefined;
      klScale = out.klScale;
      loss = (await readAndDispose(out.loss))[0];
    } catch (e) {
      const error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      this.fail(state, `step ${t + 1}: ${error}; run stopped`);
      return null;
    } finally {
      batch?.dispose();
    }
    state.elapsedMs += clock() - start;
    this.collectNotices(state);
    if (!Number.isFinite(loss)) {
      this.fail(state, `step ${t + 1}: training loss is ${loss} (diverged); run stopped`);
      return null;
    }

    const steps = t + 1;
    const r = state.result;
    if (phaseMs) for (const [phase, ms] of Object.entries(phaseMs)) r.phaseMs[phase] = (r.phaseMs[phase] ?? 0) + ms;
    let valMetric: number | undefined;
    if (steps % this.config.evalInterval === 0 || steps === this.config.steps || this.nearTarget(state, steps)) {
      try {
        valMetric = await this.placed.evaluate(state.model);
      } catch (e) {
        this.fail(state, `step ${steps}: evaluation failed: ${e instanceof Error ? e.message : String(e)}`);
        return null;
      }
      state.lastVal = valMetric;
    }
    r.history.step.push(steps);
    r.history.trainLoss.push(loss);
    r.history.valMetric.push(valMetric ?? null);
    r.history.timeMs.push(state.elapsedMs);
    r.history.klScale?.push(klScale ?? null);
    r.stepsCompleted = steps;
    const target = this.config.target;
    if (target && valMetric !== undefined && r.stepsToTarget === null && valMetric >= target.value) {
      r.stepsToTarget = steps;
      r.timeToTargetMs = state.elapsedMs;
      if (this.options.stopAtTarget) this.finish(state);
    }
    if (steps === this.config.steps) this.finish(state);
    else if (!state.done && this.copyDue(steps)) await this.hostCopy(state, steps);
    return {
      run: state.index,
      step: steps,
      trainLoss: loss,
      valMetric,
      elapsedMs: state.elapsedMs,
      phaseMs,
      ...(klScale !== undefined ? { klScale } : {}),
    };
  }

  private get clock(): () => number {
    return this.options.clock ?? (() => performance.now());
  }

  /** New notices of the run's optimizer (K-FAC's `notices`, read structurally: others have none) into its result. */
  private collectNotices(state: RunState): void {
    const said = (state.optimizer as { notices?: readonly string[] }).notices;
    if (!said || said.length === (state.result.notices?.length ?? 0)) return;
    state.result.notices = [...said];
  }

  /** denseEval: the run's latest evaluation is close to the target and this step is on the dense grid. */
  private nearTarget(state: RunState, steps: number): boolean {
    const dense = this.options.denseEval;
    const target = this.config.target;
    if (!dense || !target || state.lastVal === null || state.result.stepsToTarget !== null) return false;
    return state.lastVal >= target.value - dense.within && steps % dense.every === 0;
  }

  private copyDue(steps: number): boolean {
    const k = this.options.hostCopyInterval ?? 0;
    return k > 0 && steps % k === 0;
  }

  /** Copy the run to the host (untimed: not part of the run's clock). A failed copy keeps the previous one. */
  private async hostCopy(state: RunState, steps: number): Promise<void> {
    const start = this.clock();
    try {
      state.copy = await captureRun(state.params, state.optimizer, steps, state.elapsedMs, state.result);
    } catch {
      // A device that fails here is about to be reported lost; the previous copy still stands.
      return;
    }
    this.copyStats.copies++;
    this.copyStats.totalMs += this.clock() - start;
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

/** A resumed run's result as it was at its host copy: later history, phase totals and target cut away. */
function rewindResult(state: RunState): void {
  const r = state.result;
  const copy = state.copy;
  const length = copy?.historyLength ?? 0;
  for (const column of [r.history.step, r.history.trainLoss, r.history.valMetric, r.history.timeMs, r.history.klScale ?? []]) {
    column.length = length;
  }
  if (r.batchIndices) r.batchIndices.length = copy?.step ?? 0;
  r.phaseMs = { ...(copy?.phaseMs ?? {}) };
  r.stepsCompleted = copy?.step ?? 0;
  r.stepsToTarget = copy?.stepsToTarget ?? null;
  r.timeToTargetMs = copy?.timeToTargetMs ?? null;
  delete r.error;
}

/** Build a run's optimizer: its settings, the experiment seed (K-FAC's Monte Carlo draws) and the phase timing. */
function buildOptimizer(entry: ResolvedOptimizer, seed: number, options: RunOptions): Optimizer {
  const optimizer = createOptimizer(entry.id, entry.hyper, { schedule: entry.schedule, clip: entry.clip, seed });
  optimizer.timing = options.phaseTiming ?? true;
  return optimizer;
}

/**
 * Runs with the same key take the same code path (the same kernels): the optimizer, its switches
 * (booleans and choices such as the inverse method or the Fisher type) and which of its numeric
 * settings are off (0 turns momentum, weight decay, the KL clip or gradient clipping off). The
 * numbers themselves (lr, damping, …) do not change which pipelines a step needs.
 */
export function codePathKey(entry: ResolvedOptimizer): string {
  const switches = (values: Record<string, ParamValue>) =>
    Object.entries(values)
      .map(([k, v]) => `${k}=${typeof v === 'number' ? (v === 0 ? '0' : '#') : String(v)}`)
      .sort()
      .join(',');
  return `${entry.id}|${switches(entry.hyper)}|${switches(entry.schedule)}|${switches(entry.clip)}`;
}

/** A run's empty history; K-FAC runs record the KL-clip scale ν of every step (history.klScale). */
function emptyHistory(id: OptimizerId): RunHistory {
  const history: RunHistory = { step: [], trainLoss: [], valMetric: [], timeMs: [] };
  if (id === 'kfac-expand' || id === 'kfac-reduce') history.klScale = [];
  return history;
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
