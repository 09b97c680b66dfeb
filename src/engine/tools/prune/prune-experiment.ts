// Pruning a task's trained model (docs/curvature-tools.md §5, "Lab"): for every method, estimate its
// curvature on a seeded subset of the training examples, prune to each sparsity from the same
// trained weights, and measure test accuracy, the loss on those examples against the method's
// predicted increase, and optionally the accuracy after a short fine-tuning that keeps the masks
// (trainModel with an after-step hook re-applying them). One-shot pruning estimates the curvature
// once per method and reuses it for every sparsity; gradual pruning (steps > 1) re-estimates it
// before each of its steps, so it runs once per sparsity. The model ends as it started.
import { noGrad } from '../../autograd/variable.ts';
import type { Backend } from '../../backend/backend.ts';
import { modelFromCheckpoint, type Checkpoint } from '../../checkpoint/checkpoint.ts';
import { taskData, throwIfAborted, yieldToEventLoop } from '../../curvature/data.ts';
import type { FisherType, KfacApprox } from '../../curvature/factors.ts';
import type { PlacedTask } from '../../lab/tasks/definition.ts';
import { loadTask, TASKS, type TaskId } from '../../lab/tasks.ts';
import { trainModel } from '../../lab/train-model.ts';
import { computeLoss } from '../../nn/losses.ts';
import type { Module } from '../../nn/module.ts';
import type { OptimizerId } from '../../optim/schema.ts';
import { readAndDispose, scope } from '../../tensor.ts';
import { sampleExamples } from '../curvature-report/curvature-report.ts';
import { estimatePruneCurvature, prunableLayers, type PruneMethod, type PrunableLayer } from './curvature.ts';
import { applyMasks, pruneModel, pruneStep, readPruneState, writeWeights, type PruneScope, type PruneState } from './prune.ts';

export interface FinetuneSettings {
  steps: number;
  optimizer: OptimizerId;
  hyper?: Record<string, unknown>;
  /** Default: the experiment's batch size. */
  batchSize?: number;
}

export interface PruneExperimentOptions {
  methods: readonly PruneMethod[];
  sparsities: readonly number[];
  scope: PruneScope;
  /** λ per method (a method not listed gets `defaultDamping`). */
  damping?: Partial<Record<PruneMethod, number>>;
  defaultDamping: number;
  /** Training examples the curvature (and the measured loss) is taken over: a seeded subset. */
  examples: number;
  /** The task's training-set size, to draw them from. */
  trainSize: number;
  batchSize: number;
  /** woodfisher's block size and chunk. */
  blockSize?: number;
  chunk?: number;
  /** kfac-obs: the fit's approximation (the task's setting) and Fisher (default type-2). */
  approx: KfacApprox;
  fisher?: FisherType;
  /** Gradual pruning: steps per sparsity (default 1, one shot). */
  steps?: number;
  compensate?: boolean;
  /** Fine-tune after pruning (masks kept); null for none. */
  finetune?: FinetuneSettings | null;
  /** Seeds the example subset, the MC labels and the fine-tuning batch order. */
  seed: number;
  /** Keep every run's masks in the result (for the page's images). */
  keepMasks?: boolean;
  signal?: AbortSignal;
  onProgress?: (p: { stage: string; done: number; total: number }) => void;
}

export interface PruneRunLayer {
  name: string;
  dOut: number;
  dIn: number;
  /** Weights kept. */
  kept: number;
  /** 0/1 per weight (row-major [dOut, dIn]) when keepMasks was asked for. */
  mask?: Uint8Array;
}

export interface PruneRun {
  method: PruneMethod;
  sparsity: number;
  damping: number;
  testAccuracy: number;
  /** Mean loss on the curvature examples before and after pruning. */
  lossBefore: number;
  lossAfter: number;
  /** The method's predicted increase (Σ ρ_q; null for magnitude). */
  predictedIncrease: number | null;
  /** Curvature estimate (its share: the whole estimate for one-shot) plus pruning, s. */
  seconds: number;
  /** After fine-tuning with the masks held (absent without fine-tuning). */
  finetuned?: { steps: number; testAccuracy: number; loss: number; seconds: number };
  layers: PruneRunLayer[];
}

export interface PruneExperimentResult {
  baseline: { testAccuracy: number; loss: number };
  /** Curvature estimate time per method (s; one-shot: once for all sparsities). */
  curvatureSeconds: Partial<Record<PruneMethod, number>>;
  runs: PruneRun[];
  layers: { name: string; dOut: number; dIn: number }[];
}

/** The mean loss of the model over these training examples, in batches. */
export async function meanTaskLoss(placed: PlacedTask, model: Module, indices: Int32Array, batchSize: number): Promise<number> {
  let sum = 0;
  for (let start = 0; start < indices.length; start += batchSize) {
    const rows = indices.subarray(start, Math.min(indices.length, start + batchSize));
    const batch = placed.batch(model, rows);
    try {
      const value = scope(() => noGrad(() => computeLoss(batch.loss.spec, batch.forward(), batch.loss.targets).value));
      sum += (await readAndDispose(value))[0] * rows.length;
    } finally {
      batch.dispose();
    }
  }
  return sum / indices.length;
}

/** Fine-tune a pruned model in place, re-applying the masks after every step so removed weights stay 0. */
export async function finetunePruned(
  placed: PlacedTask,
  model: Module,
  layers: readonly PrunableLayer[],
  masks: readonly Uint8Array[],
  settings: FinetuneSettings & {
    batchSize: number;
    examples: number | Int32Array;
    seed: number;
    signal?: AbortSignal;
    onStep?: (step: number) => void;
  },
): Promise<{ losses: number[]; ms: number }> {
  applyMasks(layers, masks);
  return trainModel({
    model,
    batch: (rows) => placed.batch(model, rows),
    examples: settings.examples,
    batchSize: settings.batchSize,
    steps: settings.steps,
    seed: settings.seed,
    optimizer: settings.optimizer,
    hyper: settings.hyper,
    signal: settings.signal,
    onStep: (step) => {
      applyMasks(layers, masks);
      settings.onStep?.(step);
    },
  });
}

function runLayers(layers: readonly PrunableLayer[], masks: readonly Uint8Array[], keep: boolean): PruneRunLayer[] {
  return layers.map((l, k) => ({
    name: l.name,
    dOut: l.dOut,
    dIn: l.dIn,
    kept: masks[k].reduce((s, x) => s + x, 0),
    ...(keep ? { mask: masks[k] } : {}),
  }));
}

/** Prune `model` (a task's trained model) with every method at every sparsity; the model is restored at the end. */
export async function pruneExperiment(placed: PlacedTask, model: Module, options: PruneExperimentOptions): Promise<PruneExperimentResult> {
  const { methods, sparsities, signal } = options;
  if (methods.length === 0) throw new Error('prune: no methods');
  if (sparsities.length === 0) throw new Error('prune: no sparsities');
  for (const s of sparsities) if (!(s >= 0 && s <= 1)) throw new Error(`prune: sparsity must be in [0, 1], got ${s}`);
  const steps = options.steps ?? 1;
  const indices = sampleExamples(options.trainSize, options.examples, options.seed);
  const data = taskData(placed, model, { examples: indices, batchSize: options.batchSize });
  const first = placed.batch(model, indices.subarray(0, 1));
  let layers: PrunableLayer[];
  try {
    layers = prunableLayers(model, first.forward);
  } finally {
    first.dispose();
  }
  const original: PruneState = await readPruneState(layers);
  // The biases and anything else fine-tuning moves are restored from this copy.
  const allParams = model.parameters();
  const originalParams = await Promise.all(allParams.map(async (p) => Float64Array.from(await p.variable.value.read())));
  const restore = () =>
    allParams.forEach((p, i) => p.variable.assign(p.variable.backend.tensor(originalParams[i], p.variable.shape, p.variable.value.dtype)));

  const baseline = { testAccuracy: await placed.evaluate(model), loss: await meanTaskLoss(placed, model, indices, options.batchSize) };
  const finetune = options.finetune && options.finetune.steps > 0 ? options.finetune : null;
  const perSparsityUnits = 1 + (finetune ? 1 : 0);
  const total = methods.length * (steps === 1 ? 1 + sparsities.length * perSparsityUnits : sparsities.length * perSparsityUnits);
  let done = 0;
  const report = (stage: string) => options.onProgress?.({ stage, done, total });
  const runs: PruneRun[] = [];
  const curvatureSeconds: Partial<Record<PruneMethod, number>> = {};

  const measure = async (
    method: PruneMethod,
    sparsity: number,
    damping: number,
    masks: Uint8Array[],
    predictedIncrease: number | null,
    seconds: number,
  ): Promise<PruneRun> => {
    const run: PruneRun = {
      method,
      sparsity,
      damping,
      testAccuracy: await placed.evaluate(model),
      lossBefore: baseline.loss,
      lossAfter: await meanTaskLoss(placed, model, indices, options.batchSize),
      predictedIncrease,
      seconds,
      layers: runLayers(layers, masks, options.keepMasks ?? false),
    };
    done++;
    if (finetune) {
      report(`fine-tuning (${method}, s = ${sparsity})`);
      const started = performance.now();
      const { losses } = await finetunePruned(placed, model, layers, masks, {
        ...finetune,
        batchSize: finetune.batchSize ?? options.batchSize,
        examples: options.trainSize,
        seed: options.seed,
        signal,
      });
      run.finetuned = {
        steps: finetune.steps,
        testAccuracy: await placed.evaluate(model),
        loss: losses.at(-1) ?? Number.NaN,
        seconds: (performance.now() - started) / 1000,
      };
      done++;
    }
    return run;
  };

  try {
    for (const method of methods) {
      const damping = options.damping?.[method] ?? options.defaultDamping;
      const curvatureOptions = {
        damping,
        examples: indices.length,
        blockSize: options.blockSize,
        chunk: options.chunk,
        approx: options.approx,
        fisher: options.fisher,
        seed: options.seed,
        signal,
      };
      if (steps === 1) {
        report(`curvature (${method})`);
        const curvature = await estimatePruneCurvature(method, model, data, layers, curvatureOptions);
        try {
          curvatureSeconds[method] = curvature.ms / 1000;
          done++;
          for (const sparsity of sparsities) {
            throwIfAborted(signal, 'prune');
            report(`pruning (${method}, s = ${sparsity})`);
            const started = performance.now();
            const step = await pruneStep(original, curvature, { sparsity, scope: options.scope, compensate: options.compensate });
            writeWeights(layers, step.weights);
            const seconds = curvature.ms / 1000 + (performance.now() - started) / 1000;
            runs.push(await measure(method, sparsity, damping, step.masks, step.predictedIncrease, seconds));
            restore();
            await yieldToEventLoop();
          }
        } finally {
          curvature.dispose();
        }
      } else {
        let spent = 0;
        for (const sparsity of sparsities) {
          throwIfAborted(signal, 'prune');
          report(`pruning in ${steps} steps (${method}, s = ${sparsity})`);
          const started = performance.now();
          const result = await pruneModel(model, data, layers, {
            ...curvatureOptions,
            method,
            sparsity,
            scope: options.scope,
            compensate: options.compensate,
            steps,
          });
          const seconds = (performance.now() - started) / 1000;
          spent += result.curvatureMs / 1000;
          runs.push(await measure(method, sparsity, damping, result.masks, result.predictedIncrease, seconds));
          restore();
        }
        curvatureSeconds[method] = spent;
      }
    }
  } finally {
    restore();
  }
  report('done');
  return { baseline, curvatureSeconds, runs, layers: layers.map((l) => ({ name: l.name, dOut: l.dOut, dIn: l.dIn })) };
}

export interface TrainForPruningOptions {
  steps: number;
  batchSize: number;
  /** Adam's learning rate (the task preset's is a good start). */
  lr: number;
  seed: number;
  trainSize: number;
  signal?: AbortSignal;
  onStep?: (step: number, loss: number) => void;
}

/** The dense model pruning starts from: the task's model of `seed`, trained with Adam (trainModel) on the training set. */
export async function trainForPruning<M extends Module>(
  placed: PlacedTask<M>,
  options: TrainForPruningOptions,
): Promise<{ model: M; losses: number[]; ms: number }> {
  const model = placed.buildModel(options.seed);
  try {
    const { losses, ms } = await trainModel({
      model,
      batch: (rows) => placed.batch(model, rows),
      examples: options.trainSize,
      batchSize: options.batchSize,
      steps: options.steps,
      seed: options.seed,
      optimizer: 'adam',
      hyper: { lr: options.lr },
      signal: options.signal,
      onStep: options.onStep,
    });
    return { model, losses, ms };
  } catch (e) {
    model.dispose();
    throw e;
  }
}

export interface PruneTaskOptions extends Omit<PruneExperimentOptions, 'trainSize' | 'approx' | 'batchSize'> {
  task: TaskId;
  /** Prune this model (checked against the task) instead of training one. */
  checkpoint?: Checkpoint | null;
  /** Adam steps of the dense model (ignored with a checkpoint). */
  trainSteps: number;
  /** Default: the task's batch size (training, curvature batches and fine-tuning alike). */
  batchSize?: number;
  onTrainStep?: (step: number, loss: number) => void;
}

export interface PruneTaskResult extends PruneExperimentResult {
  task: TaskId;
  /** What was pruned: a model trained here, or a checkpoint. */
  model: { kind: 'trained'; steps: number; seconds: number; finalLoss: number | null } | { kind: 'checkpoint'; step: number; seed: number };
  device: string;
}

/** Load a task, train its model with Adam (or restore a checkpoint) and run pruneExperiment on it. */
export async function pruneTask(backend: Backend, options: PruneTaskOptions): Promise<PruneTaskResult> {
  const definition = TASKS[options.task];
  if (definition.fullBatch) throw new Error(`prune: task "${options.task}" trains full-batch; its examples are not independent`);
  const loaded = await loadTask(options.task);
  const placed = loaded.place(backend);
  const batchSize = options.batchSize ?? definition.defaultBatchSize;
  let model: Module | null = null;
  try {
    let source: PruneTaskResult['model'];
    if (options.checkpoint) {
      model = modelFromCheckpoint(placed, options.checkpoint, { task: options.task });
      source = { kind: 'checkpoint', step: options.checkpoint.step, seed: options.checkpoint.seed };
    } else {
      const trained = await trainForPruning(placed, {
        steps: options.trainSteps,
        batchSize,
        lr: definition.preset.adam,
        seed: options.seed,
        trainSize: loaded.trainSize,
        signal: options.signal,
        onStep: options.onTrainStep,
      });
      model = trained.model;
      source = { kind: 'trained', steps: options.trainSteps, seconds: trained.ms / 1000, finalLoss: trained.losses.at(-1) ?? null };
    }
    const result = await pruneExperiment(placed, model, {
      ...options,
      trainSize: loaded.trainSize,
      batchSize,
      approx: definition.setting,
    });
    return { task: options.task, model: source, device: backend.info.summary, ...result };
  } finally {
    model?.dispose();
    placed.dispose();
  }
}
