// The lab's tasks: a model, its data, how one training batch and the loss are formed, and a fixed
// validation evaluation. Host data is loaded once per task (load), placed on a backend once per
// experiment (place: validation and full-graph tensors shared by every run), and each run builds
// its own model from the experiment seed. Batches are chosen by example indices so that a runner
// can hand every optimizer the same BatchSampler stream. Sizes are small enough to train live in
// a browser (and on the CPU backend in tests).
import type { Backend } from '../backend/backend.ts';
import { constant, noGrad, type Variable } from '../autograd/variable.ts';
import { keep, scope, type Tensor } from '../tensor.ts';
import type { Module } from '../nn/module.ts';
import { Mlp } from '../nn/models/mlp.ts';
import { Cnn } from '../nn/models/cnn.ts';
import { Vit } from '../nn/models/vit.ts';
import { GcnGraphClassifier, GcnNodeClassifier, graphBatchToDevice, type GraphBatchTensors } from '../nn/models/gcn-models.ts';
import { TransformerLm } from '../nn/models/transformer-lm.ts';
import { adjacencyToDevice, type AdjacencyTensors } from '../nn/gcn.ts';
import { lossSpec } from '../nn/losses.ts';
import { accuracyFromCounts, top1Counts } from '../nn/metrics.ts';
import type { LossTargets } from '../curvature/factors.ts';
import { gatherRows } from '../data/common.ts';
import { sequentialBatches } from '../data/sampler.ts';
import { makeSpirals } from '../data/toys.ts';
import { loadMnist } from '../data/mnist.ts';
import { makeCsbm, maskedLabels } from '../data/csbm.ts';
import { batchGraphs, makeMotifGraphs, type SmallGraph } from '../data/motif-graphs.ts';
import { makeModular } from '../data/modular.ts';

export const TASK_IDS = ['mlp-spirals', 'cnn-mnist', 'vit-mnist', 'gcn-node', 'gcn-graph', 'transformer-modular'] as const;
export type TaskId = (typeof TASK_IDS)[number];

/**
 * Which K-FAC approximation the task's weight sharing calls for (specs/KFAC.md §2): 'expand' when
 * the loss has one term per shared position (tokens, nodes), 'reduce' when the model pools over
 * the positions before the loss (image and graph classification). Without weight sharing (the MLP)
 * both approximations coincide.
 */
export type TaskSetting = 'expand' | 'reduce';

/** One step's training batch on the device; dispose() frees what the batch uploaded. */
export interface TrainBatch {
  forward: () => Variable;
  loss: LossTargets;
  dispose(): void;
}

/** A task's data on one backend, shared by every run of an experiment. */
export interface PlacedTask {
  readonly backend: Backend;
  /** A fresh model: the same seed gives the same initial weights. */
  buildModel(seed: number): Module;
  /** The batch of these training-example indices (full-graph tasks ignore them: every step sees the whole graph). */
  batch(model: Module, indices: Int32Array): TrainBatch;
  /** Top-1 accuracy on the fixed validation set (evaluation mode, no gradients). */
  evaluate(model: Module): Promise<number>;
  dispose(): void;
}

/** A task's host data, loaded once. */
export interface LoadedTask {
  readonly definition: TaskDefinition;
  /** Examples the batch sampler draws from (1 for full-graph tasks). */
  readonly trainSize: number;
  readonly valSize: number;
  /** Every step trains on the whole data set (GCN node classification); batchSize is ignored. */
  readonly fullBatch: boolean;
  place(backend: Backend): PlacedTask;
}

export interface TaskDefinition {
  readonly id: TaskId;
  readonly title: string;
  /** One line for the task picker. */
  readonly description: string;
  readonly setting: TaskSetting;
  /** Architecture in a few words, e.g. "MLP 2-32-32-2". */
  readonly model: string;
  readonly defaultBatchSize: number;
  load(): Promise<LoadedTask>;
}

/** The data sets are fixed whatever the experiment seed (which seeds the models and batch orders). */
const DATA_SEED = 1;
const EVAL_CHUNK = 256;
const ce = lossSpec('ce', 'mean');

/** Sum the [correct, counted] tensors of every chunk on the device and read them once. */
async function chunkedAccuracy(count: number, countsOf: (rows: Int32Array) => Tensor): Promise<number> {
  const total = scope(() => {
    let sum: Tensor | null = null;
    for (const rows of sequentialBatches(count, EVAL_CHUNK)) {
      const counts = noGrad(() => countsOf(rows));
      sum = sum ? sum.backend.binary('add', sum, counts) : counts;
    }
    return keep(sum as Tensor);
  });
  try {
    return accuracyFromCounts(await total.read()).accuracy;
  } finally {
    total.dispose();
  }
}

/** Evaluate in evaluation mode, restoring training mode afterwards. */
async function inEvalMode<T>(model: Module, fn: () => Promise<T>): Promise<T> {
  const wasTraining = model.isTraining;
  model.eval();
  try {
    return await fn();
  } finally {
    model.train(wasTraining);
  }
}

/** Tasks whose examples are rows of an input array and an int32 label array (one or more labels per row). */
function rowTask(
  definition: TaskDefinition,
  data: {
    trainInputs: Float32Array | Int32Array;
    trainLabels: Int32Array;
    valInputs: Float32Array | Int32Array;
    valLabels: Int32Array;
    /** Shape of one example's input and of its labels. */
    inputShape: readonly number[];
    labelShape: readonly number[];
    buildModel(backend: Backend, seed: number): Module;
    /** Model output from a batch of inputs (a float Variable or an int32 token tensor). */
    forward(model: Module, inputs: Tensor): Variable;
  },
): LoadedTask {
  const inputLength = data.inputShape.reduce((a, b) => a * b, 1);
  const labelLength = data.labelShape.reduce((a, b) => a * b, 1);
  const inputDtype = data.trainInputs instanceof Int32Array ? 'int32' : 'float32';
  const trainSize = data.trainLabels.length / labelLength;
  const valSize = data.valLabels.length / labelLength;
  return {
    definition,
    trainSize,
    valSize,
    fullBatch: false,
    place(backend) {
      const upload = (inputs: Float32Array | Int32Array, labels: Int32Array, rows: Int32Array) => ({
        x: backend.tensor(gatherRows(inputs, inputLength, rows), [rows.length, ...data.inputShape], inputDtype),
        y: backend.tensor(gatherRows(labels, labelLength, rows), [rows.length, ...data.labelShape], 'int32'),
      });
      return {
        backend,
        buildModel: (seed) => data.buildModel(backend, seed),
        batch(model, indices) {
          const { x, y } = upload(data.trainInputs, data.trainLabels, indices);
          return {
            forward: () => data.forward(model, x),
            loss: { spec: ce, targets: y },
            dispose() {
              x.dispose();
              y.dispose();
            },
          };
        },
        evaluate: (model) =>
          inEvalMode(model, () =>
            chunkedAccuracy(valSize, (rows) => {
              const { x, y } = upload(data.valInputs, data.valLabels, rows);
              return top1Counts(data.forward(model, x), y);
            }),
          ),
        dispose() {},
      };
    },
  };
}

const spirals: TaskDefinition = {
  id: 'mlp-spirals',
  title: 'MLP on two spirals',
  description: 'A 2-32-32-2 tanh MLP separates two interleaved spirals (512 training points).',
  setting: 'expand',
  model: 'MLP 2-32-32-2',
  defaultBatchSize: 32,
  async load() {
    const d = makeSpirals({ seed: DATA_SEED, pointsPerArm: 256, valPointsPerArm: 128 });
    return rowTask(spirals, {
      trainInputs: d.train.inputs,
      trainLabels: d.train.labels,
      valInputs: d.val.inputs,
      valLabels: d.val.labels,
      inputShape: [2],
      labelShape: [],
      buildModel: (backend, seed) => new Mlp({ backend, seed }, { widths: [2, 32, 32, 2], activation: 'tanh' }),
      forward: (model, x) => (model as Mlp).forward(constant(x)),
    });
  },
};

const MNIST_TRAIN = 4096;
const MNIST_VAL = 512;

const cnnMnist: TaskDefinition = {
  id: 'cnn-mnist',
  title: 'CNN on MNIST (14×14)',
  description: 'A two-convolution CNN classifies 14×14 MNIST digits (4096 training, 512 validation images).',
  setting: 'reduce',
  model: 'CNN conv8-conv16-fc64',
  defaultBatchSize: 64,
  async load() {
    const d = await loadMnist({ size: 14, normalize: true, trainLimit: MNIST_TRAIN, testLimit: MNIST_VAL });
    return rowTask(cnnMnist, {
      trainInputs: d.train.images,
      trainLabels: d.train.labels,
      valInputs: d.test.images,
      valLabels: d.test.labels,
      inputShape: [1, 14, 14],
      labelShape: [],
      buildModel: (backend, seed) => new Cnn({ backend, seed }, { inChannels: 1, height: 14, width: 14, classes: 10 }),
      forward: (model, x) => (model as Cnn).forward(constant(x)),
    });
  },
};

const vitMnist: TaskDefinition = {
  id: 'vit-mnist',
  title: 'Tiny ViT on MNIST (28×28)',
  description: 'A 2-block vision transformer (16 patches of 7×7, width 32) classifies 28×28 MNIST digits.',
  setting: 'reduce',
  model: 'ViT patch 7, dim 32, depth 2, 4 heads',
  defaultBatchSize: 64,
  async load() {
    const d = await loadMnist({ size: 28, normalize: true, trainLimit: MNIST_TRAIN, testLimit: MNIST_VAL });
    return rowTask(vitMnist, {
      trainInputs: d.train.images,
      trainLabels: d.train.labels,
      valInputs: d.test.images,
      valLabels: d.test.labels,
      inputShape: [1, 28, 28],
      labelShape: [],
      buildModel: (backend, seed) =>
        new Vit({ backend, seed }, { inChannels: 1, height: 28, width: 28, patch: 7, dim: 32, depth: 2, heads: 4, classes: 10 }),
      forward: (model, x) => (model as Vit).forward(constant(x)),
    });
  },
};

// p = 23 keeps an epoch at a few hundred examples, so CPU and browser runs stay quick.
const MODULUS = 23;

const transformerModular: TaskDefinition = {
  id: 'transformer-modular',
  title: `Transformer on (a + b) mod ${MODULUS}`,
  description: `A 1-block transformer LM predicts the answer token of "a + b =" mod ${MODULUS} (80% of all pairs for training).`,
  setting: 'expand',
  model: 'transformer LM dim 32, depth 1, 4 heads',
  defaultBatchSize: 64,
  async load() {
    const d = makeModular({ p: MODULUS, trainFraction: 0.8, seed: DATA_SEED });
    return rowTask(transformerModular, {
      trainInputs: d.train.tokens,
      trainLabels: d.train.targets,
      valInputs: d.val.tokens,
      valLabels: d.val.targets,
      inputShape: [d.seqLen],
      labelShape: [d.seqLen],
      buildModel: (backend, seed) =>
        new TransformerLm({ backend, seed }, { vocab: d.vocabSize, context: d.seqLen, dim: 32, depth: 1, heads: 4 }),
      forward: (model, ids) => (model as TransformerLm).forward(ids),
    });
  },
};

const gcnNode: TaskDefinition = {
  id: 'gcn-node',
  title: 'GCN node classification (CSBM)',
  description: 'A 2-layer GCN labels the nodes of a 400-node, 3-class stochastic block model; every step trains on the whole graph.',
  setting: 'expand',
  model: 'GCN 8-16-3',
  defaultBatchSize: 1,
  async load() {
    const g = makeCsbm({ numNodes: 400, numClasses: 3, featureDim: 8, averageDegree: 5, homophily: 0.8, featureNoise: 1, seed: DATA_SEED });
    const n = g.numNodes;
    return {
      definition: gcnNode,
      trainSize: 1,
      valSize: g.split.val.length,
      fullBatch: true,
      place(backend) {
        const x = constant(backend.tensor(g.features, [n, g.featureDim]));
        const adjacency: AdjacencyTensors = adjacencyToDevice(backend, g.adjacency);
        // Non-training nodes carry the ignore label, so the mean loss covers the training nodes only.
        const trainTargets = backend.tensor(maskedLabels(g.labels, g.split.train), [n], 'int32');
        const valTargets = backend.tensor(maskedLabels(g.labels, g.split.val), [n], 'int32');
        return {
          backend,
          buildModel: (seed) => new GcnNodeClassifier({ backend, seed }, { inFeatures: g.featureDim, hidden: 16, classes: g.numClasses }),
          batch: (model) => ({
            forward: () => (model as GcnNodeClassifier).forward(x, adjacency),
            loss: { spec: ce, targets: trainTargets },
            dispose() {},
          }),
          evaluate: (model) =>
            inEvalMode(model, async () => {
              const counts = scope(() => keep(noGrad(() => top1Counts((model as GcnNodeClassifier).forward(x, adjacency), valTargets))));
              try {
                return accuracyFromCounts(await counts.read()).accuracy;
              } finally {
                counts.dispose();
              }
            }),
          dispose() {
            x.value.dispose();
            disposeAdjacency(adjacency);
            trainTargets.dispose();
            valTargets.dispose();
          },
        };
      },
    };
  },
};

function disposeAdjacency(a: AdjacencyTensors): void {
  for (const t of [a.rows, a.cols, a.weights]) t.dispose();
}

function disposeGraphBatch(features: Variable, tensors: GraphBatchTensors, labels: Tensor): void {
  features.value.dispose();
  labels.dispose();
  disposeAdjacency(tensors.adjacency);
  tensors.graphIndex.dispose();
  tensors.inverseCounts.dispose();
}

const gcnGraph: TaskDefinition = {
  id: 'gcn-graph',
  title: 'GCN graph classification (house motif)',
  description: 'A 3-layer GCN with mean pooling decides whether a small random graph contains a house motif.',
  setting: 'reduce',
  model: 'GCN 3×32 + mean pool',
  defaultBatchSize: 32,
  async load() {
    const set = makeMotifGraphs({ seed: DATA_SEED, numGraphs: 400 });
    const upload = (backend: Backend, graphs: readonly SmallGraph[], indices?: ArrayLike<number>) => {
      const batch = batchGraphs(graphs, indices);
      return {
        x: constant(backend.tensor(batch.features, [batch.numNodes, batch.featureDim])),
        tensors: graphBatchToDevice(backend, batch),
        y: backend.tensor(batch.labels, [batch.numGraphs], 'int32'),
      };
    };
    return {
      definition: gcnGraph,
      trainSize: set.train.length,
      valSize: set.val.length,
      fullBatch: false,
      place(backend) {
        return {
          backend,
          buildModel: (seed) =>
            new GcnGraphClassifier({ backend, seed }, { inFeatures: set.featureDim, hidden: 32, layers: 3, classes: 2 }),
          batch(model, indices) {
            const { x, tensors, y } = upload(backend, set.train, indices);
            return {
              forward: () => (model as GcnGraphClassifier).forward(x, tensors),
              loss: { spec: ce, targets: y },
              dispose: () => disposeGraphBatch(x, tensors, y),
            };
          },
          evaluate: (model) =>
            inEvalMode(model, async () => {
              const { x, tensors, y } = upload(backend, set.val);
              try {
                const counts = scope(() => keep(noGrad(() => top1Counts((model as GcnGraphClassifier).forward(x, tensors), y))));
                try {
                  return accuracyFromCounts(await counts.read()).accuracy;
                } finally {
                  counts.dispose();
                }
              } finally {
                disposeGraphBatch(x, tensors, y);
              }
            }),
          dispose() {},
        };
      },
    };
  },
};

export const TASKS: Readonly<Record<TaskId, TaskDefinition>> = {
  'mlp-spirals': spirals,
  'cnn-mnist': cnnMnist,
  'vit-mnist': vitMnist,
  'gcn-node': gcnNode,
  'gcn-graph': gcnGraph,
  'transformer-modular': transformerModular,
};

export function isTaskId(id: unknown): id is TaskId {
  return typeof id === 'string' && (TASK_IDS as readonly string[]).includes(id);
}

const loaded = new Map<TaskId, Promise<LoadedTask>>();

/** The task's host data, loaded on first use and cached (a failed load is retried next time). */
export function loadTask(id: TaskId): Promise<LoadedTask> {
  let promise = loaded.get(id);
  if (!promise) {
    promise = TASKS[id].load();
    loaded.set(id, promise);
    promise.catch(() => loaded.delete(id));
  }
  return promise;
}
