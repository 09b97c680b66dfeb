// The MNIST tasks: an MLP on flattened 14×14 digits (no weight sharing: the control, and the model
// the pruning and influence tools start from), a small CNN on 14×14 digits and a tiny ViT on 28×28
// digits, the last two in the reduce setting (the model pools over positions or patches before the
// one-per-image loss).
import type { Backend } from '../../backend/backend.ts';
import { constant, type Variable } from '../../autograd/variable.ts';
import type { Module } from '../../nn/module.ts';
import { Cnn } from '../../nn/models/cnn.ts';
import { Mlp } from '../../nn/models/mlp.ts';
import { Vit } from '../../nn/models/vit.ts';
import { loadMnist } from '../../data/mnist.ts';
import type { MnistSize } from '../../data/mnist-format.ts';
import { defineTask, type LoadedTask, type TaskDefinition } from './definition.ts';
import { rowTask } from './evaluation.ts';

const MNIST_TRAIN = 4096;
const MNIST_VAL = 512;

/** The MNIST subset at `size`×`size`, one image [1, size, size] and one label per row, for a model that classifies images. */
async function mnistTask<M extends Module & { forward(x: Variable): Variable }>(
  definition: TaskDefinition,
  size: MnistSize,
  buildModel: (backend: Backend, seed: number) => M,
): Promise<LoadedTask> {
  const d = await loadMnist({ size, normalize: true, trainLimit: MNIST_TRAIN, testLimit: MNIST_VAL });
  return rowTask(definition, {
    trainInputs: d.train.images,
    trainLabels: d.train.labels,
    valInputs: d.test.images,
    valLabels: d.test.labels,
    inputShape: [1, size, size],
    labelShape: [],
    buildModel,
    forward: (model, x) => model.forward(constant(x)),
  });
}

export const mlpMnist = defineTask({
  id: 'mlp-mnist',
  title: 'MLP on MNIST (14×14)',
  description: 'A 196-64-64-10 ReLU MLP classifies flattened 14×14 MNIST digits (4096 training, 512 validation images).',
  setting: 'expand',
  model: 'MLP 196-64-64-10 (ReLU)',
  parameterCount: 17418,
  fullBatch: false,
  defaultBatchSize: 64,
  // Not swept yet: quick manual values of the same order as the CNN's.
  preset: {
    steps: 300,
    evalInterval: 25,
    target: 0.9,
    sgd: 0.05,
    adam: 2e-3,
    expand: { lr: 0.1, damping: 1e-2 },
    reduce: { lr: 0.1, damping: 1e-2 },
  },
  teaching: {
    setting:
      'The MLP applies each weight matrix once per image (the 196 pixels are one input vector), so K-FAC-expand and K-FAC-reduce build the same factors: the control for the two CNN/ViT settings.',
    sharing: {
      dim: null,
      nLabel: 'N images',
      rLabel: 'R = 1 (no sharing)',
      where:
        'Each 14 × 14 image is flattened into one 196-long vector; every dense layer sees one vector per image, so there is no weight-sharing dimension: R = 1.',
      consequence:
        'With R = 1 an average over the shared positions changes nothing, so K-FAC-expand and K-FAC-reduce define the same factors A and G; what separates the two K-FAC runs here is timing noise.',
      drawnRows: [1, 1, 1],
      truncated: false,
    },
  },
  async load(): Promise<LoadedTask> {
    return mnistTask(mlpMnist, 14, (backend, seed) => new Mlp({ backend, seed }, { widths: [196, 64, 64, 10], activation: 'relu' }));
  },
});

export const cnnMnist = defineTask({
  id: 'cnn-mnist',
  title: 'CNN on MNIST (14×14)',
  description: 'A two-convolution CNN classifies 14×14 MNIST digits (4096 training, 512 validation images).',
  setting: 'reduce',
  model: 'CNN conv8-conv16-fc64',
  parameterCount: 11178,
  fullBatch: false,
  defaultBatchSize: 64,
  // Not swept yet (a CNN step costs about as much as a ViT step here): quick manual values.
  preset: {
    steps: 300,
    evalInterval: 25,
    target: 0.9,
    sgd: 0.05,
    adam: 2e-3,
    expand: { lr: 0.1, damping: 1e-2 },
    reduce: { lr: 0.1, damping: 1e-2 },
  },
  teaching: {
    setting:
      'Each convolution reuses its kernel at every pixel position but the loss is one term per image, so this is the reduce setting: K-FAC-reduce averages inputs and sums gradients over the positions before forming the factors (cheaper), while K-FAC-expand counts every position as an extra example.',
    sharing: {
      dim: 'positions',
      nLabel: 'N images',
      rLabel: 'R = 196 positions',
      where:
        'A convolution applies one weight matrix to the unfolded 3 × 3 patch around every output position (im2col, so dIn = C_in · 9): R = 14 × 14 = 196 positions in the first convolution and 7 × 7 = 49 in the second. The two dense layers at the end see one vector per image (R = 1).',
      consequence:
        'The positions are combined (max-pooled, flattened and mixed by the dense layers) before the loss, which has one term per image: the convolutions are in the reduce setting. With R = 196, reduce forms its outer products from about 196 times fewer rows than expand.',
      drawnRows: [6, 6, 6],
      truncated: true,
    },
  },
  async load(): Promise<LoadedTask> {
    return mnistTask(cnnMnist, 14, (backend, seed) => new Cnn({ backend, seed }, { inChannels: 1, height: 14, width: 14, classes: 10 }));
  },
});

export const vitMnist = defineTask({
  id: 'vit-mnist',
  title: 'Tiny ViT on MNIST (28×28)',
  description: 'A 2-block vision transformer (16 patches of 7×7, width 32) classifies 28×28 MNIST digits.',
  setting: 'reduce',
  model: 'ViT patch 7, dim 32, depth 2, 4 heads',
  parameterCount: 19594,
  fullBatch: false,
  defaultBatchSize: 64,
  // npm run bench -- reproduce (grid in bench/reproduce.ts; no trial reached 0.8 in 200 steps, so
  // chosen by final validation accuracy; 0.7 is the target the benchmark races to).
  preset: {
    steps: 300,
    evalInterval: 10,
    target: 0.7,
    sgd: 0.03,
    adam: 3e-3,
    expand: { lr: 0.05, damping: 1e-2 },
    reduce: { lr: 0.05, damping: 1e-1 },
  },
  teaching: {
    setting:
      'Every Linear layer in the ViT applies the same weights to each of the 16 patch tokens, which are mean-pooled before the one-per-image loss, so this is the reduce setting: K-FAC-reduce averages over the tokens first (cheaper), while K-FAC-expand counts every token as an extra example.',
    sharing: {
      dim: 'patches',
      nLabel: 'N images',
      rLabel: 'R = 16 patches',
      where:
        'Each 28 × 28 image is cut into 16 patches of 7 × 7, the tokens. The patch embedding and every linear layer in the transformer blocks (query, key, value, output projection, MLP) apply the same weights to each of the 16 patches. The classifier head sees one pooled vector per image (R = 1).',
      consequence:
        'The model averages the patches (mean pooling) before the head, so the loss has one term per image: the reduce setting (a ViT that classifies from a class token is in the same setting).',
      drawnRows: [6, 6, 6],
      truncated: true,
    },
  },
  async load(): Promise<LoadedTask> {
    return mnistTask(
      vitMnist,
      28,
      (backend, seed) =>
        new Vit({ backend, seed }, { inChannels: 1, height: 28, width: 28, patch: 7, dim: 32, depth: 2, heads: 4, classes: 10 }),
    );
  },
});
