// Every model learns a small slice of its data with Adam, on both backends (loss below a stated
// threshold within a bounded number of steps), and the same seed replays the same losses.
import { describe, expect, it } from 'vitest';
import type { Backend } from '../../src/engine/backend/backend.ts';
import { constant, type Variable } from '../../src/engine/autograd/variable.ts';
import { createOptimizer } from '../../src/engine/optim/factory.ts';
import { trainStep } from '../../src/engine/optim/train-step.ts';
import { softmaxCrossEntropy } from '../../src/engine/nn/losses.ts';
import { Mlp } from '../../src/engine/nn/models/mlp.ts';
import { Cnn } from '../../src/engine/nn/models/cnn.ts';
import { Vit } from '../../src/engine/nn/models/vit.ts';
import { GcnGraphClassifier, GcnNodeClassifier, graphBatchToDevice } from '../../src/engine/nn/models/gcn-models.ts';
import { TransformerLm } from '../../src/engine/nn/models/transformer-lm.ts';
import { adjacencyToDevice } from '../../src/engine/nn/gcn.ts';
import type { Module } from '../../src/engine/nn/module.ts';
import { makeSpirals } from '../../src/engine/data/toys.ts';
import { loadMnist } from '../../src/engine/data/mnist.ts';
import { makeCsbm, maskedLabels } from '../../src/engine/data/csbm.ts';
import { batchGraphs, makeMotifGraphs } from '../../src/engine/data/motif-graphs.ts';
import { makeModular } from '../../src/engine/data/modular.ts';
import { useBackends } from '../helpers/backends.ts';

const b = useBackends();

interface Task {
  name: string;
  steps: number;
  lr: number;
  /** The mean of the last 3 losses must fall below this (initial losses are ≈ ln(classes)). */
  threshold: number;
  build(be: Backend): Promise<{ model: Module; loss: () => Variable }>;
}

const tasks: Task[] = [
  {
    name: 'MLP on two spirals (64 points)',
    steps: 60,
    lr: 0.03,
    threshold: 0.35,
    async build(be) {
      const d = makeSpirals({ seed: 1, pointsPerArm: 32 });
      const model = new Mlp({ backend: be, seed: 1 }, { widths: [2, 32, 32, 2] });
      const x = constant(be.tensor(d.train.inputs, [d.train.count, 2]));
      const y = be.tensor(d.train.labels, [d.train.count], 'int32');
      return { model, loss: () => softmaxCrossEntropy(model.forward(x), y) };
    },
  },
  {
    name: 'CNN on 32 MNIST digits (14×14)',
    steps: 25,
    lr: 0.01,
    threshold: 0.3,
    async build(be) {
      const d = await loadMnist({ size: 14, normalize: true, trainLimit: 32 });
      const model = new Cnn({ backend: be, seed: 1 }, { inChannels: 1, height: 14, width: 14, classes: 10 });
      const x = constant(be.tensor(d.train.images, [32, 1, 14, 14]));
      const y = be.tensor(d.train.labels, [32], 'int32');
      return { model, loss: () => softmaxCrossEntropy(model.forward(x), y) };
    },
  },
  {
    name: 'ViT on 32 MNIST digits (28×28, 16 patches of 7×7)',
    steps: 30,
    lr: 0.005,
    threshold: 0.3,
    async build(be) {
      const d = await loadMnist({ size: 28, normalize: true, trainLimit: 32 });
      const model = new Vit(
        { backend: be, seed: 1 },
        { inChannels: 1, height: 28, width: 28, patch: 7, dim: 32, depth: 2, heads: 4, classes: 10 },
      );
      const x = constant(be.tensor(d.train.images, [32, 1, 28, 28]));
      const y = be.tensor(d.train.labels, [32], 'int32');
      return { model, loss: () => softmaxCrossEntropy(model.forward(x), y) };
    },
  },
  {
    name: 'GCN node classification (CSBM, 200 nodes)',
    steps: 40,
    lr: 0.02,
    threshold: 0.35,
    async build(be) {
      const g = makeCsbm({ numNodes: 200, numClasses: 3, featureDim: 8, averageDegree: 5, homophily: 0.8, featureNoise: 1, seed: 1 });
      const model = new GcnNodeClassifier({ backend: be, seed: 1 }, { inFeatures: 8, hidden: 16, classes: 3 });
      const x = constant(be.tensor(g.features, [200, 8]));
      const adj = adjacencyToDevice(be, g.adjacency);
      const y = be.tensor(maskedLabels(g.labels, g.split.train), [200], 'int32');
      return { model, loss: () => softmaxCrossEntropy(model.forward(x, adj), y) };
    },
  },
  {
    name: 'GCN graph classification (house motif, 32 graphs)',
    steps: 60,
    lr: 0.02,
    threshold: 0.45,
    async build(be) {
      const set = makeMotifGraphs({ seed: 1, numGraphs: 60 });
      const batch = batchGraphs(set.train.slice(0, 32));
      const model = new GcnGraphClassifier({ backend: be, seed: 1 }, { inFeatures: batch.featureDim, hidden: 32, layers: 3, classes: 2 });
      const x = constant(be.tensor(batch.features, [batch.numNodes, batch.featureDim]));
      const tensors = graphBatchToDevice(be, batch);
      const y = be.tensor(batch.labels, [batch.numGraphs], 'int32');
      return { model, loss: () => softmaxCrossEntropy(model.forward(x, tensors), y) };
    },
  },
  {
    name: 'transformer LM on (a + b) mod 7 (all 49 pairs)',
    steps: 50,
    lr: 0.01,
    threshold: 0.3,
    async build(be) {
      const d = makeModular({ p: 7, trainFraction: 1 - 1 / 49, seed: 1 });
      const model = new TransformerLm({ backend: be, seed: 1 }, { vocab: d.vocabSize, context: 4, dim: 32, depth: 1, heads: 4 });
      const ids = be.tensor(d.train.tokens, [d.train.count, 4], 'int32');
      const y = be.tensor(d.train.targets, [d.train.count, 4], 'int32');
      return { model, loss: () => softmaxCrossEntropy(model.forward(ids), y) };
    },
  },
];

async function train(be: Backend, task: Task): Promise<number[]> {
  const { model, loss } = await task.build(be);
  const params = model.parameters();
  const optimizer = createOptimizer('adam', { lr: task.lr });
  const losses: number[] = [];
  for (let step = 0; step < task.steps; step++) {
    const value = trainStep({ params, optimizer, step, loss });
    losses.push((await value.read())[0]);
    value.dispose();
  }
  optimizer.dispose();
  model.dispose();
  return losses;
}

const tail = (xs: number[]) => xs.slice(-3).reduce((a, c) => a + c, 0) / 3;

describe('each model learns a slice of its data with Adam', () => {
  for (const task of tasks) {
    for (const which of ['cpu', 'gpu'] as const) {
      it(`${task.name} on ${which}: loss < ${task.threshold} within ${task.steps} steps`, async () => {
        const losses = await train(b[which], task);
        expect(losses.every(Number.isFinite)).toBe(true);
        expect(
          tail(losses),
          `losses ${losses[0].toFixed(3)} … ${losses
            .slice(-3)
            .map((l) => l.toFixed(3))
            .join(', ')}`,
        ).toBeLessThan(task.threshold);
      });
    }
  }
});

describe('determinism', () => {
  for (const which of ['cpu', 'gpu'] as const) {
    it(`the same seed gives the same losses on ${which}`, async () => {
      const task = { ...tasks[2], steps: 4 };
      const first = await train(b[which], task);
      const second = await train(b[which], task);
      expect(second).toEqual(first);
    });
  }
});
