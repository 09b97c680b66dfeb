// The memorisation experiments of docs/curvature-tools.md §4: models that learn a rule AND memorise
// exceptions to it, so that an edit can be judged on both.
//
// - noisy-mnist: the lab's CNN (cnn-mnist's model) on 14×14 MNIST where a fixed 10% of the training
//   images carry a random wrong label, trained until it fits them.
// - modular-exceptions: the lab's one-block transformer (transformer-modular's model) on (a + b) mod
//   p where a fixed 10% of the training pairs answer a fixed random wrong number, trained until it
//   fits the rule and the exceptions; held-out pairs test the rule.
//
// The data is fixed (DATA_SEED); the experiment seed only seeds the model and the batch order. The
// models are the base tasks' own, so a trained model is a checkpoint of that task.
import type { Backend } from '../backend/backend.ts';
import { constant, type Variable } from '../autograd/variable.ts';
import { gatherRows, IGNORE_INDEX, permutation, streamRng } from '../data/common.ts';
import { loadMnist } from '../data/mnist.ts';
import { makeModular } from '../data/modular.ts';
import { CROSS_ENTROPY, chunkedAccuracy, DATA_SEED, inEvalMode } from '../lab/tasks/evaluation.ts';
import { loadTask, type TaskId, type TrainBatch } from '../lab/tasks.ts';
import type { CurvatureData } from '../curvature/data.ts';
import type { Module } from '../nn/module.ts';
import { top1Counts } from '../nn/metrics.ts';
import type { OptimizerId } from '../optim/schema.ts';
import type { Tensor } from '../tensor.ts';

export type ExperimentId = 'noisy-mnist' | 'modular-exceptions';
export const EXPERIMENT_IDS: readonly ExperimentId[] = ['noisy-mnist', 'modular-exceptions'];

export function isExperimentId(v: unknown): v is ExperimentId {
  return typeof v === 'string' && (EXPERIMENT_IDS as readonly string[]).includes(v);
}

/** How an experiment's model is trained (with trainModel). */
export interface TrainingRecipe {
  optimizer: OptimizerId;
  hyper: Record<string, unknown>;
  steps: number;
  batchSize: number;
}

export interface ExperimentDefinition {
  id: ExperimentId;
  title: string;
  /** One paragraph: the data, the model, the sizes. */
  description: string;
  /** The lab task whose model (and checkpoints) this experiment uses. */
  baseTask: TaskId;
  /** K-FAC layers (positions among the model's K-FAC layers) edited by default, and every layer's name. */
  defaultLayers: readonly number[];
  layerNames: readonly string[];
  training: TrainingRecipe;
  /** The memorised examples' share of the training set. */
  memorisedFraction: number;
  /** What "test" means here. */
  testLabel: string;
}

/** The four accuracies the edit is judged on (docs/curvature-tools.md §4). */
export interface FourAccuracies {
  /** Memorised examples, against the label they were trained on. */
  memorisedAccuracy: number;
  /** Memorised examples, against their true label (the rule's answer). */
  memorisedTrueLabelAccuracy: number;
  /** The other training examples. */
  cleanTrainAccuracy: number;
  /** Held-out examples. */
  testAccuracy: number;
}

/** An experiment's host data. */
export interface ExperimentData {
  definition: ExperimentDefinition;
  /** Training inputs (rows) and the labels trained on (memorised examples carry their wrong label). */
  trainInputs: Float32Array | Int32Array;
  trainLabels: Int32Array;
  /** The same rows with the true labels. */
  trueLabels: Int32Array;
  /** Training rows that were relabelled, and the others. */
  memorised: Int32Array;
  clean: Int32Array;
  testInputs: Float32Array | Int32Array;
  testLabels: Int32Array;
  /** One example's input and label shapes. */
  inputShape: readonly number[];
  labelShape: readonly number[];
  trainSize: number;
}

// Sizes chosen so that a model trains to fit its exceptions in about a minute on the WASM backend
// (measured: see README, "Memorisation editing").
const NOISY_TRAIN = 1024;
const NOISY_TEST = 512;
const MODULUS = 23;
const MODULAR_TRAIN_FRACTION = 0.8;
const MEMORISED_FRACTION = 0.1;

export const EXPERIMENTS: Readonly<Record<ExperimentId, ExperimentDefinition>> = {
  'noisy-mnist': {
    id: 'noisy-mnist',
    title: 'CNN on MNIST with 10% random labels',
    description: `The lab's CNN (conv8-conv16-fc64) on ${NOISY_TRAIN} 14×14 MNIST training images, ${MEMORISED_FRACTION * 100}% of which carry a random wrong label (fixed), trained until it fits them; the test set is ${NOISY_TEST} held-out images.`,
    baseTask: 'cnn-mnist',
    defaultLayers: [2, 3],
    layerNames: ['conv1', 'conv2', 'fc1', 'fc2'],
    training: { optimizer: 'adam', hyper: { lr: 2e-3 }, steps: 1500, batchSize: 64 },
    memorisedFraction: MEMORISED_FRACTION,
    testLabel: 'held-out images',
  },
  'modular-exceptions': {
    id: 'modular-exceptions',
    title: `Transformer on (a + b) mod ${MODULUS} with memorised exceptions`,
    description: `The lab's one-block transformer on (a + b) mod ${MODULUS}: ${MODULAR_TRAIN_FRACTION * 100}% of the ${MODULUS * MODULUS} pairs train it, and ${MEMORISED_FRACTION * 100}% of those answer a fixed random wrong number (the exceptions), trained until it fits rule and exceptions; the test set is the held-out pairs (the rule only).`,
    baseTask: 'transformer-modular',
    defaultLayers: [4, 5],
    layerNames: ['attn.q', 'attn.k', 'attn.v', 'attn.o', 'fc1', 'fc2', 'head'],
    training: { optimizer: 'adamw', hyper: { lr: 3e-3, weightDecay: 0.3 }, steps: 4000, batchSize: 64 },
    memorisedFraction: MEMORISED_FRACTION,
    testLabel: 'held-out pairs',
  },
};

/** Choose round(fraction · n) rows (seeded) and give each a label drawn uniformly from the other classes. */
function relabel(
  labels: Int32Array,
  classes: number,
  fraction: number,
  stream: number,
): { noisy: Int32Array; memorised: Int32Array; clean: Int32Array } {
  const n = labels.length;
  const rng = streamRng(DATA_SEED, stream);
  const order = permutation(n, rng);
  const count = Math.round(fraction * n);
  const memorised = order.slice(0, count).sort();
  const clean = order.slice(count).sort();
  const noisy = Int32Array.from(labels);
  for (const r of memorised) noisy[r] = (labels[r] + 1 + rng.int(classes - 1)) % classes;
  return { noisy, memorised, clean };
}

const loaded = new Map<ExperimentId, Promise<ExperimentData>>();

/** The experiment's data, built once and cached. */
export function loadExperiment(id: ExperimentId): Promise<ExperimentData> {
  let p = loaded.get(id);
  if (!p) {
    p = id === 'noisy-mnist' ? loadNoisyMnist() : Promise.resolve(makeModularExceptions());
    loaded.set(id, p);
    p.catch(() => loaded.delete(id));
  }
  return p;
}

async function loadNoisyMnist(): Promise<ExperimentData> {
  const d = await loadMnist({ size: 14, normalize: true, trainLimit: NOISY_TRAIN, testLimit: NOISY_TEST });
  const { noisy, memorised, clean } = relabel(d.train.labels, d.numClasses, MEMORISED_FRACTION, 41);
  return {
    definition: EXPERIMENTS['noisy-mnist'],
    trainInputs: d.train.images,
    trainLabels: noisy,
    trueLabels: Int32Array.from(d.train.labels),
    memorised,
    clean,
    testInputs: d.test.images,
    testLabels: d.test.labels,
    inputShape: [1, 14, 14],
    labelShape: [],
    trainSize: d.train.count,
  };
}

/** Labels per row are [4]: ignored except the answer at position 3 (data/modular.ts). */
export function makeModularExceptions(): ExperimentData {
  const d = makeModular({ p: MODULUS, trainFraction: MODULAR_TRAIN_FRACTION, seed: DATA_SEED });
  const { noisy, memorised, clean } = relabel(d.train.answers, MODULUS, MEMORISED_FRACTION, 42);
  const asTargets = (answers: Int32Array) => {
    const t = new Int32Array(answers.length * d.seqLen).fill(IGNORE_INDEX);
    answers.forEach((a, i) => (t[i * d.seqLen + d.answerPosition] = a));
    return t;
  };
  return {
    definition: EXPERIMENTS['modular-exceptions'],
    trainInputs: d.train.tokens,
    trainLabels: asTargets(noisy),
    trueLabels: d.train.targets,
    memorised,
    clean,
    testInputs: d.val.tokens,
    testLabels: d.val.targets,
    inputShape: [d.seqLen],
    labelShape: [d.seqLen],
    trainSize: d.train.count,
  };
}

/** An experiment's data on a backend: the model, training batches, the curvature's data, the four accuracies. */
export interface PlacedExperiment {
  data: ExperimentData;
  backend: Backend;
  /** The base task's model of this seed. */
  buildModel(seed: number): Module;
  /** A training batch of these rows (labels as trained: the memorised ones wrong). */
  batch(model: Module, rows: Int32Array): TrainBatch;
  /** The whole training set as curvature data (labels are only used for the loss's shape: the Fisher samples its own). */
  curvatureData(model: Module, batchSize?: number): CurvatureData;
  accuracies(model: Module): Promise<FourAccuracies>;
}

export async function placeExperiment(id: ExperimentId, backend: Backend): Promise<PlacedExperiment> {
  const data = await loadExperiment(id);
  const base = (await loadTask(data.definition.baseTask)).place(backend);
  const inputLength = data.inputShape.reduce((a, b) => a * b, 1);
  const labelLength = data.labelShape.reduce((a, b) => a * b, 1);
  const inputDtype = data.trainInputs instanceof Int32Array ? 'int32' : 'float32';
  const isTokens = inputDtype === 'int32';
  const forward = (model: Module, x: Tensor): Variable =>
    isTokens
      ? (model as unknown as { forward(ids: Tensor): Variable }).forward(x)
      : (model as unknown as { forward(v: Variable): Variable }).forward(constant(x));
  const upload = (inputs: Float32Array | Int32Array, labels: Int32Array, rows: Int32Array) => ({
    x: backend.tensor(gatherRows(inputs, inputLength, rows), [rows.length, ...data.inputShape], inputDtype),
    y: backend.tensor(gatherRows(labels, labelLength, rows), [rows.length, ...data.labelShape], 'int32'),
  });
  const batch = (model: Module, rows: Int32Array): TrainBatch => {
    const { x, y } = upload(data.trainInputs, data.trainLabels, rows);
    return {
      forward: () => forward(model, x),
      loss: { spec: CROSS_ENTROPY, targets: y },
      dispose() {
        x.dispose();
        y.dispose();
      },
    };
  };
  const accuracyOn = (model: Module, inputs: Float32Array | Int32Array, labels: Int32Array, rows: Int32Array) =>
    chunkedAccuracy(rows.length, (positions) => {
      const { x, y } = upload(
        inputs,
        labels,
        Int32Array.from(positions, (p) => rows[p]),
      );
      return top1Counts(forward(model, x), y);
    });
  const allTest = Int32Array.from({ length: data.testLabels.length / labelLength }, (_, i) => i);
  return {
    data,
    backend,
    buildModel: (seed) => base.buildModel(seed),
    batch,
    curvatureData(model, batchSize = 256) {
      return {
        batches: Math.ceil(data.trainSize / batchSize),
        batch: (i) =>
          batch(
            model,
            Int32Array.from({ length: Math.min(batchSize, data.trainSize - i * batchSize) }, (_, k) => i * batchSize + k),
          ),
      };
    },
    accuracies: (model) =>
      inEvalMode(model, async () => ({
        memorisedAccuracy: await accuracyOn(model, data.trainInputs, data.trainLabels, data.memorised),
        memorisedTrueLabelAccuracy: await accuracyOn(model, data.trainInputs, data.trueLabels, data.memorised),
        cleanTrainAccuracy: await accuracyOn(model, data.trainInputs, data.trainLabels, data.clean),
        testAccuracy: await accuracyOn(model, data.testInputs, data.testLabels, allTest),
      })),
  };
}
