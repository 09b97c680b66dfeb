// Influence on an MNIST classifier (docs/curvature-tools.md §3): the pipeline the `influence`
// command, the Influence page's worker job and the benchmark share. A classifier of the task
// (mlp-mnist or cnn-mnist, built by the task so that race checkpoints load into it) is trained on the
// first N training images (or given), influence scores of those N images on a few test images are
// computed under each method at one damping (relative to K-FAC's mean eigenvalue, so one setting
// suits both models), and the LDS evaluation retrains the same recipe on random half subsets.
import { constant, type Variable } from '../../autograd/variable.ts';
import { modelFromCheckpoint, type Checkpoint } from '../../checkpoint/checkpoint.ts';
import type { CurvatureBatch, CurvatureData } from '../../curvature/data.ts';
import { fitCurvature, fitEkfac, type EkfacCurvature, type KroneckerCurvature } from '../../curvature/toolkit.ts';
import { loadMnist } from '../../data/mnist.ts';
import { gatherRows } from '../../data/common.ts';
import { trainModel } from '../../lab/train-model.ts';
import { loadTask, TASKS, type TaskId } from '../../lab/tasks.ts';
import type { PlacedTask, TrainBatch } from '../../lab/tasks.ts';
import { CROSS_ENTROPY } from '../../lab/tasks/evaluation.ts';
import type { Module } from '../../nn/module.ts';
import { dataLosses } from './example-loss.ts';
import { halfSubsets, ldsCeiling, ldsPredictions, ldsScore, measureSubsets, type CorrelationSummary, type LdsMeasurements } from './lds.ts';
import { influenceScores, meanCurvatureEigenvalue, type InfluenceMethod, type InfluenceResult } from './scores.ts';

/** The classifier tasks influence runs on (the images are shown, so MNIST at 14×14). */
export const INFLUENCE_TASKS = ['mlp-mnist', 'cnn-mnist'] as const satisfies readonly TaskId[];
export type InfluenceTaskId = (typeof INFLUENCE_TASKS)[number];

export function isInfluenceTask(id: unknown): id is InfluenceTaskId {
  return typeof id === 'string' && (INFLUENCE_TASKS as readonly string[]).includes(id);
}

const IMAGE = 14;
const PIXELS = IMAGE * IMAGE;

/** Images [count, 14, 14] standardised as the task trains on them, and their labels. */
export interface ImageSet {
  images: Float32Array;
  labels: Int32Array;
  count: number;
}

/** The task's training and test images (the same arrays, order and standardisation as the task's own batches). */
export interface InfluenceImages {
  task: InfluenceTaskId;
  train: ImageSet;
  test: ImageSet;
  /** Side of an image and the standardisation: pixel = (value/255 − mean) / std. */
  size: number;
  pixelMean: number;
  pixelStd: number;
}

/** Load the task's images as its own loader does (14×14, standardised, its train/validation limits). */
export async function loadInfluenceImages(task: InfluenceTaskId): Promise<InfluenceImages> {
  const loaded = await loadTask(task);
  const d = await loadMnist({ size: IMAGE, normalize: true, trainLimit: loaded.trainSize, testLimit: loaded.valSize });
  return {
    task,
    train: { images: d.train.images, labels: d.train.labels, count: d.train.count },
    test: { images: d.test.images, labels: d.test.labels, count: d.test.count },
    size: IMAGE,
    pixelMean: d.pixelMean,
    pixelStd: d.pixelStd,
  };
}

/** A drawn image (pixels in [0, 1], 14×14 row-major) standardised like the data. */
export function standardise(images: InfluenceImages, pixels: ArrayLike<number>): Float32Array {
  if (pixels.length !== PIXELS) throw new Error(`standardise: expected ${PIXELS} pixels (14×14), got ${pixels.length}`);
  return Float32Array.from(pixels, (v) => (v - images.pixelMean) / images.pixelStd);
}

/** Images back to grey levels 0–255 (for showing them). */
export function toGreyLevels(images: InfluenceImages, standardised: ArrayLike<number>): Uint8Array {
  return Uint8Array.from(standardised, (v) => Math.max(0, Math.min(255, Math.round((v * images.pixelStd + images.pixelMean) * 255))));
}

/** The classifier's batch of these rows of an image set (mean cross-entropy, as the task trains). */
export function imageBatch(model: ClassifierModel, set: ImageSet, rows: Int32Array): TrainBatch {
  const be = model.backend;
  const x = be.tensor(gatherRows(set.images, PIXELS, rows), [rows.length, 1, IMAGE, IMAGE], 'float32');
  const y = be.tensor(gatherRows(set.labels, 1, rows), [rows.length], 'int32');
  return {
    forward: () => model.forward(constant(x)),
    loss: { spec: CROSS_ENTROPY, targets: y },
    dispose() {
      x.dispose();
      y.dispose();
    },
  };
}

/** These rows of an image set as curvature data in batches of `batchSize` (example n = rows[n]). */
export function imageData(model: ClassifierModel, set: ImageSet, rows: Int32Array, batchSize: number): CurvatureData {
  const size = Math.max(1, Math.floor(batchSize));
  return {
    batches: Math.ceil(rows.length / size),
    batch: (i): CurvatureBatch => imageBatch(model, set, rows.subarray(i * size, Math.min(rows.length, (i + 1) * size))),
  };
}

/** A classifier the tasks build (Mlp or Cnn): a module with forward(x) → logits. */
export type ClassifierModel = Module & { forward(x: Variable): Variable };

/** The training recipe of the influence model and of every LDS retraining (Adam from the seed's initial weights). */
export interface TrainingRecipe {
  steps: number;
  batchSize: number;
  lr: number;
}

/** Short enough for the LDS's many retrainings, long enough to fit N ≈ 1000 images (≈ 19 epochs at 300 steps). */
export const DEFAULT_RECIPE: TrainingRecipe = { steps: 300, batchSize: 64, lr: 2e-3 };

/** A fresh model of the task (initial weights of `seed`) trained on `rows` of the training images with the recipe. */
export async function trainClassifier(args: {
  placed: PlacedTask;
  images: InfluenceImages;
  rows: Int32Array;
  recipe: TrainingRecipe;
  seed: number;
  signal?: AbortSignal;
  onStep?: (step: number, loss: number) => void;
}): Promise<ClassifierModel> {
  const model = args.placed.buildModel(args.seed) as ClassifierModel;
  try {
    await trainModel({
      model,
      batch: (indices) => imageBatch(model, args.images.train, indices),
      examples: args.rows,
      batchSize: args.recipe.batchSize,
      steps: args.recipe.steps,
      seed: args.seed,
      optimizer: 'adam',
      hyper: { lr: args.recipe.lr },
      signal: args.signal,
      onStep: args.onStep,
    });
    return model;
  } catch (e) {
    model.dispose();
    throw e;
  }
}

/**
 * The model to score: the checkpoint's, restored (names and shapes checked), or else a model trained
 * by trainClassifier; with the seconds either took.
 */
export async function classifierModel(
  args: Parameters<typeof trainClassifier>[0] & { checkpoint: Checkpoint | null; task: InfluenceTaskId },
): Promise<{ model: ClassifierModel; trainSeconds: number }> {
  const t0 = performance.now();
  const model = args.checkpoint
    ? modelFromCheckpoint<ClassifierModel>(args.placed, args.checkpoint, { task: args.task })
    : await trainClassifier(args);
  return { model, trainSeconds: (performance.now() - t0) / 1000 };
}

export interface ClassifierInfluenceOptions {
  model: ClassifierModel;
  task: InfluenceTaskId;
  images: InfluenceImages;
  /** Training rows scored (example n = trainRows[n]); also the data K-FAC is fitted on. */
  trainRows: Int32Array;
  /** The queries as a set of their own (test images, or a drawn one). */
  queries: ImageSet;
  methods: readonly InfluenceMethod[];
  /** λ = relativeDamping · K-FAC's mean eigenvalue. */
  relativeDamping: number;
  /** Streaming batch (default 256). */
  batchSize?: number;
  signal?: AbortSignal;
  onProgress?: (p: { stage: string; done: number; total: number }) => void;
}

export interface ClassifierInfluence {
  damping: number;
  meanEigenvalue: number;
  /** K-FAC's fit (and EK-FAC's Λ on top), seconds. */
  kfacFitSeconds: number;
  ekfacFitSeconds: number;
  results: InfluenceResult[];
}

/** Influence of the training rows on the queries under each method; K-FAC (and Λ) fitted once and shared. */
export async function classifierInfluence(o: ClassifierInfluenceOptions): Promise<ClassifierInfluence> {
  for (const m of o.methods) if (m === 'ggn') throw new Error(ggnInfeasible(o.task));
  const batchSize = o.batchSize ?? 256;
  const train = imageData(o.model, o.images.train, o.trainRows, batchSize);
  const queries = imageData(
    o.model,
    o.queries,
    Int32Array.from({ length: o.queries.count }, (_, i) => i),
    batchSize,
  );
  const stage = (what: string) => (p: { done: number; total: number }) => o.onProgress?.({ stage: what, ...p });
  const approx = TASKS[o.task].setting;
  let curvature: KroneckerCurvature | null = null;
  let ekfac: EkfacCurvature | null = null;
  try {
    let t = performance.now();
    curvature = await fitCurvature(o.model, train, {
      approx,
      fisher: 'type-2',
      bias: 'folded',
      signal: o.signal,
      onProgress: stage('K-FAC factors'),
    });
    const meanEigenvalue = await meanCurvatureEigenvalue(curvature);
    await Promise.all(curvature.layers.map((l) => l.eigen()));
    const kfacFitSeconds = (performance.now() - t) / 1000;
    let ekfacFitSeconds = 0;
    if (o.methods.includes('ekfac')) {
      t = performance.now();
      ekfac = await fitEkfac(curvature, o.model, train, { signal: o.signal, onProgress: stage('EK-FAC eigenvalues') });
      ekfacFitSeconds = (performance.now() - t) / 1000;
    }
    const damping = o.relativeDamping * meanEigenvalue;
    const results: InfluenceResult[] = [];
    for (const method of o.methods) {
      results.push(
        await influenceScores({
          model: o.model,
          train,
          queries,
          method,
          damping,
          curvature,
          ...(ekfac ? { ekfac } : {}),
          signal: o.signal,
          onProgress: (p) =>
            o.onProgress?.({
              stage: `${method}: ${p.phase === 'scores' ? 'scoring the training set' : p.phase}`,
              done: p.done,
              total: p.total,
            }),
        }),
      );
    }
    return { damping, meanEigenvalue, kfacFitSeconds, ekfacFitSeconds, results };
  } finally {
    ekfac?.dispose();
    curvature?.dispose();
  }
}

/** Why the dense exact GGN is not offered for the MNIST classifiers. */
export function ggnInfeasible(task: InfluenceTaskId): string {
  const P = TASKS[task].parameterCount;
  return `method 'ggn' (the dense exact GGN, ${P}×${P} for ${task}) is only feasible for tiny models; use identity, kfac or ekfac here`;
}

/** Rows of a set as their own ImageSet. */
export function pickImages(set: ImageSet, rows: ArrayLike<number>): ImageSet {
  const r = Int32Array.from(rows);
  return { images: gatherRows(set.images, PIXELS, r) as Float32Array, labels: gatherRows(set.labels, 1, r) as Int32Array, count: r.length };
}

export interface ClassifierLdsOptions {
  placed: PlacedTask;
  images: InfluenceImages;
  trainRows: Int32Array;
  queries: ImageSet;
  /** Scores of each method, [Q·N] over trainRows. */
  scores: readonly { method: InfluenceMethod; scores: Float64Array }[];
  subsets: number;
  seeds: number;
  recipe: TrainingRecipe;
  /** Seeds the subsets (and offsets the retraining seeds). */
  seed: number;
  signal?: AbortSignal;
  onProgress?: (p: { stage: string; done: number; total: number }) => void;
}

export interface ClassifierLds {
  methods: { method: InfluenceMethod; lds: CorrelationSummary }[];
  /** Seed-to-seed ceiling (null with one seed). */
  ceiling: CorrelationSummary | null;
  measured: LdsMeasurements;
  subsets: number;
  seeds: number;
  retrainSeconds: number;
}

/** The LDS of each method's scores: M half subsets of trainRows, each retrained with S seeds by the recipe. */
export async function classifierLds(o: ClassifierLdsOptions): Promise<ClassifierLds> {
  const N = o.trainRows.length;
  const Q = o.queries.count;
  const subsets = halfSubsets(N, o.subsets, o.seed);
  const seeds = Array.from({ length: o.seeds }, (_, s) => 1000 + o.seed * 100 + s);
  const start = performance.now();
  const measured = await measureSubsets({
    subsets,
    seeds,
    queries: Q,
    signal: o.signal,
    onProgress: (p) => o.onProgress?.({ stage: 'retraining on half subsets', ...p }),
    retrain: async (subset, seed) => {
      // The subset holds positions in trainRows; the retraining trains on those training images.
      const rows = Int32Array.from(subset, (i) => o.trainRows[i]);
      const model = await trainClassifier({ placed: o.placed, images: o.images, rows, recipe: o.recipe, seed, signal: o.signal });
      try {
        return await dataLosses(
          imageData(
            model,
            o.queries,
            Int32Array.from({ length: Q }, (_, i) => i),
            256,
          ),
        );
      } finally {
        model.dispose();
      }
    },
  });
  return {
    methods: o.scores.map(({ method, scores }) => ({ method, lds: ldsScore(ldsPredictions(scores, Q, N, subsets), measured) })),
    ceiling: o.seeds >= 2 ? ldsCeiling(measured) : null,
    measured,
    subsets: o.subsets,
    seeds: o.seeds,
    retrainSeconds: (performance.now() - start) / 1000,
  };
}
