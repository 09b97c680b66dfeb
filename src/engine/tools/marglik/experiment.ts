// The marglik experiment on a lab task (docs/curvature-tools.md §2): train with the online marginal
// likelihood (one flavour, expand or reduce, from the seed's initial weights), then compare on the
// task's held-out data the MAP model and its Laplace (GLM, probit) predictive; and the baseline it
// replaces, Adam with L2 weight decay chosen on a validation split by a grid. Used by the command
// (`npm run marglik`), the Laplace page's worker job and the benchmark.
import type { Backend } from '../../backend/backend.ts';
import type { CurvatureData } from '../../curvature/data.ts';
import type { FisherType, KfacApprox } from '../../curvature/factors.ts';
import { classificationMetrics, type ClassificationMetrics } from '../../laplace/calibration.ts';
import { trainMarglik, type MarglikFitRecord } from '../../laplace/online.ts';
import { glmPredictive, softmax } from '../../laplace/predictive.ts';
import { trainModel } from '../../lab/train-model.ts';
import { loadTask, TASKS, type TaskId } from '../../lab/tasks.ts';
import type { PlacedTask, TrainBatch } from '../../lab/tasks/definition.ts';
import type { Module } from '../../nn/module.ts';
import { noGrad } from '../../autograd/variable.ts';
import { readAndDispose, scope, keep } from '../../tensor.ts';

/** What a marglik run reports while it works. */
export type MarglikProgress =
  | { phase: 'train'; step: number; steps: number; loss: number }
  | { phase: 'fit'; fit: MarglikFitRecord }
  | { phase: 'predict' }
  | { phase: 'grid'; index: number; count: number; weightDecay: number; step: number; steps: number };

export interface MarglikRunOptions {
  task: TaskId;
  approx: KfacApprox;
  /** Epochs over the training examples (default 10). */
  epochs?: number;
  /** F: a Laplace fit every F epochs (default 1). */
  frequency?: number;
  /** K: Adam steps on the log hyperparameters per fit (default 10). */
  hyperSteps?: number;
  burnIn?: number;
  /** Default: the task's. */
  batchSize?: number;
  /** Adam's learning rate for θ (default 1e-3). */
  lr?: number;
  /** Seeds the initial weights and the batch order (default 0). */
  seed?: number;
  /** Fisher of the Laplace fits (default 'mc'). */
  fisher?: FisherType;
  /** Training examples used (default: all of the task's). */
  trainExamples?: number;
  /** Held-out examples evaluated (default: all of the task's validation set). */
  testExamples?: number;
  /** MC samples of the linearised model as a check of the probit predictive (default 0: probit only). */
  predictiveSamples?: number;
  signal?: AbortSignal;
  onProgress?: (p: MarglikProgress) => void | Promise<void>;
}

export interface MarglikRunResult {
  task: TaskId;
  approx: KfacApprox;
  /** The K-FAC layers (the prior has one δ per layer). */
  layers: string[];
  fits: MarglikFitRecord[];
  /** The kept state's fit. */
  best: MarglikFitRecord;
  precision: number[];
  /** Mean time of one Laplace fit (ms) and the whole run (s). */
  fitMsMean: number;
  totalSeconds: number;
  trainExamples: number;
  test: { map: ClassificationMetrics; laplace: ClassificationMetrics; mc: ClassificationMetrics | null };
}

export interface GridRunOptions extends Omit<
  MarglikRunOptions,
  'approx' | 'frequency' | 'hyperSteps' | 'burnIn' | 'fisher' | 'predictiveSamples'
> {
  /** Adam weight decays tried (default WEIGHT_DECAY_GRID). */
  grid?: readonly number[];
  /** Held out of the training examples to choose the weight decay (default 512, at most a quarter of them). */
  validationExamples?: number;
}

export interface GridRunResult {
  task: TaskId;
  grid: { weightDecay: number; validationNll: number; validationAccuracy: number; seconds: number }[];
  chosen: number;
  trainExamples: number;
  validationExamples: number;
  totalSeconds: number;
  test: ClassificationMetrics;
}

/** The baseline's grid of Adam L2 weight decays (coupled, as the prior's gradient is). */
export const WEIGHT_DECAY_GRID: readonly number[] = [0, 1e-5, 1e-4, 1e-3, 1e-2];

interface Placed {
  placed: PlacedTask;
  trainSize: number;
  valSize: number;
  defaultBatchSize: number;
}

async function place(task: TaskId, backend: Backend): Promise<Placed> {
  if (!(task in TASKS)) throw new Error(`marglik: unknown task "${task}"`);
  const loaded = await loadTask(task);
  const placed = loaded.place(backend);
  if (!placed.validationBatch || loaded.fullBatch) {
    placed.dispose();
    throw new Error(
      `marglik: task "${task}" has no per-example held-out batches (use an MNIST or spirals task: the predictive needs one prediction per example)`,
    );
  }
  return { placed, trainSize: loaded.trainSize, valSize: loaded.valSize, defaultBatchSize: loaded.definition.defaultBatchSize };
}

function count(requested: number | undefined, available: number, what: string): number {
  const n = requested ?? available;
  if (!(Number.isInteger(n) && n >= 1 && n <= available))
    throw new Error(`marglik: ${what} must be a whole number in [1, ${available}], got ${requested}`);
  return n;
}

/** The held-out examples 0..n−1 as a data set of batches of 256. */
function heldOut(placed: PlacedTask, model: Module, n: number): CurvatureData {
  const size = 256;
  return {
    batches: Math.ceil(n / size),
    batch: (i) =>
      placed.validationBatch!(
        model,
        Int32Array.from({ length: Math.min(size, n - i * size) }, (_, k) => i * size + k),
      ),
  };
}

/** softmax(f) of the MAP model over batches (indices of the training or held-out set). */
async function mapMetrics(model: Module, batches: Iterable<TrainBatch>): Promise<ClassificationMetrics> {
  const probs: number[] = [];
  const labels: number[] = [];
  let C = 0;
  const wasTraining = model.isTraining;
  model.eval();
  try {
    for (const batch of batches) {
      try {
        const logits = scope(() => keep(noGrad(() => batch.forward().value)));
        const [f, y] = await Promise.all([readAndDispose(logits), batch.loss.targets.read()]);
        C = f.length / y.length;
        for (let n = 0; n < y.length; n++) {
          probs.push(...softmax(f.subarray(n * C, (n + 1) * C)));
          labels.push(y[n]);
        }
      } finally {
        batch.dispose();
      }
    }
  } finally {
    model.train(wasTraining);
  }
  return classificationMetrics(probs, labels, C);
}

function* chunks(n: number, size: number, make: (rows: Int32Array) => TrainBatch, offset = 0): Generator<TrainBatch> {
  for (let start = 0; start < n; start += size)
    yield make(Int32Array.from({ length: Math.min(size, n - start) }, (_, k) => offset + start + k));
}

/** Online marglik training of one flavour on a task, then the test metrics of MAP and Laplace. */
export async function runMarglik(backend: Backend, options: MarglikRunOptions): Promise<MarglikRunResult> {
  const started = performance.now();
  const { placed, trainSize, valSize, defaultBatchSize } = await place(options.task, backend);
  const model = placed.buildModel(options.seed ?? 0);
  try {
    const N = count(options.trainExamples, trainSize, 'trainExamples');
    const T = count(options.testExamples, valSize, 'testExamples');
    const trained = await trainMarglik({
      model,
      batch: (rows) => placed.batch(model, rows),
      examples: N,
      batchSize: options.batchSize ?? defaultBatchSize,
      epochs: options.epochs ?? 10,
      seed: options.seed ?? 0,
      lr: options.lr ?? 1e-3,
      approx: options.approx,
      fisher: options.fisher ?? 'mc',
      frequency: options.frequency ?? 1,
      burnIn: options.burnIn ?? 0,
      hyperSteps: options.hyperSteps ?? 10,
      fitBatchSize: 256,
      keepBestLaplace: true,
      signal: options.signal,
      onStep: (step, steps, loss) => void options.onProgress?.({ phase: 'train', step, steps, loss }),
      onFit: (fit) => options.onProgress?.({ phase: 'fit', fit }),
    });
    const laplace = trained.laplace;
    if (!laplace || !trained.best) throw new Error('marglik: no Laplace fit ran (epochs ≤ burn-in?)');
    try {
      await options.onProgress?.({ phase: 'predict' });
      const predictive = await glmPredictive(laplace, heldOut(placed, model, T), trained.hyper, {
        mcSamples: options.predictiveSamples ?? 0,
        signal: options.signal,
      });
      const test = {
        map: classificationMetrics(predictive.map, predictive.labels, predictive.C),
        laplace: classificationMetrics(predictive.probit, predictive.labels, predictive.C),
        mc: predictive.mc ? classificationMetrics(predictive.mc, predictive.labels, predictive.C) : null,
      };
      return {
        task: options.task,
        approx: options.approx,
        layers: trained.layers,
        fits: trained.fits,
        best: trained.best,
        precision: trained.hyper.precision,
        fitMsMean: trained.fitMsTotal / trained.fits.length,
        totalSeconds: (performance.now() - started) / 1000,
        trainExamples: N,
        test,
      };
    } finally {
      laplace.dispose();
    }
  } finally {
    model.dispose();
    placed.dispose();
  }
}

/**
 * The baseline: for each weight decay of the grid, train the same initial model with Adam on the
 * training examples minus a held-out validation split, pick the weight decay of the lowest
 * validation NLL, and report that model on the test data. Its cost is every grid point's training.
 */
export async function runWeightDecayGrid(backend: Backend, options: GridRunOptions): Promise<GridRunResult> {
  const started = performance.now();
  const { placed, trainSize, valSize, defaultBatchSize } = await place(options.task, backend);
  try {
    const all = count(options.trainExamples, trainSize, 'trainExamples');
    const V = options.validationExamples ?? Math.min(512, Math.floor(all / 4));
    if (!(Number.isInteger(V) && V >= 1 && V < all)) throw new Error(`marglik: validationExamples must be in [1, ${all - 1}], got ${V}`);
    const N = all - V;
    const T = count(options.testExamples, valSize, 'testExamples');
    const grid = options.grid ?? WEIGHT_DECAY_GRID;
    const batchSize = options.batchSize ?? defaultBatchSize;
    const epochs = options.epochs ?? 10;
    const steps = epochs * Math.max(1, Math.floor(N / Math.min(batchSize, N)));
    const points: GridRunResult['grid'] = [];
    let best: { weightDecay: number; nll: number; test: ClassificationMetrics } | null = null;
    for (const [index, weightDecay] of grid.entries()) {
      const pointStart = performance.now();
      const model = placed.buildModel(options.seed ?? 0);
      try {
        await trainModel({
          model,
          batch: (rows) => placed.batch(model, rows),
          examples: N,
          batchSize,
          steps,
          seed: options.seed ?? 0,
          optimizer: 'adam',
          hyper: { lr: options.lr ?? 1e-3, weightDecay },
          signal: options.signal,
          onStep: (step) => void options.onProgress?.({ phase: 'grid', index, count: grid.length, weightDecay, step, steps }),
        });
        const validation = await mapMetrics(
          model,
          chunks(V, 256, (rows) => placed.batch(model, rows), N),
        );
        points.push({
          weightDecay,
          validationNll: validation.nll,
          validationAccuracy: validation.accuracy,
          seconds: (performance.now() - pointStart) / 1000,
        });
        if (!best || validation.nll < best.nll) {
          best = {
            weightDecay,
            nll: validation.nll,
            test: await mapMetrics(
              model,
              chunks(T, 256, (rows) => placed.validationBatch!(model, rows)),
            ),
          };
        }
      } finally {
        model.dispose();
      }
    }
    if (!best) throw new Error('marglik: the weight-decay grid is empty');
    return {
      task: options.task,
      grid: points,
      chosen: best.weightDecay,
      trainExamples: N,
      validationExamples: V,
      totalSeconds: (performance.now() - started) / 1000,
      test: best.test,
    };
  } finally {
    placed.dispose();
  }
}
