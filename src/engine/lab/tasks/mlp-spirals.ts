// Two interleaved spirals, a small tanh MLP: the control task (no weight sharing, so K-FAC-expand
// and K-FAC-reduce coincide).
import { constant } from '../../autograd/variable.ts';
import { Mlp } from '../../nn/models/mlp.ts';
import { makeSpirals } from '../../data/toys.ts';
import { defineTask, type LoadedTask } from './definition.ts';
import { DATA_SEED, rowTask } from './evaluation.ts';

export const mlpSpirals = defineTask({
  id: 'mlp-spirals',
  title: 'MLP on two spirals',
  description: 'A 2-32-32-2 tanh MLP separates two interleaved spirals (512 training points).',
  setting: 'expand',
  model: 'MLP 2-32-32-2',
  parameterCount: 1218,
  fullBatch: false,
  defaultBatchSize: 32,
  // npm run lab -- --task mlp-spirals --sweep sgd.lr=0.1,0.3,1 --sweep adam.lr=0.003,0.01,0.03
  //   --sweep kfac-{expand,reduce}.lr=0.03,0.1,0.3 --sweep kfac-{expand,reduce}.damping=0.001,0.01,0.1
  preset: {
    steps: 400,
    evalInterval: 20,
    target: 0.95,
    sgd: 0.3,
    adam: 0.03,
    expand: { lr: 0.3, damping: 1e-3 },
    reduce: { lr: 0.1, damping: 1e-3 },
  },
  teaching: {
    setting:
      'The MLP shares no weights across positions (each example is one 2-D point), so K-FAC-expand and K-FAC-reduce build the same factors and differ only in timing noise.',
    sharing: {
      dim: null,
      nLabel: 'N points',
      rLabel: 'R = 1 (no sharing)',
      where:
        'The MLP applies each weight matrix once per example, to one point or one hidden vector: there is no weight-sharing dimension, R = 1.',
      consequence:
        'With R = 1 an average over the shared positions changes nothing, so K-FAC-expand and K-FAC-reduce define the same factors A and G. This task is the control: whatever separates the two K-FAC runs here does not come from the approximation.',
      drawnRows: [1, 1, 1],
      truncated: false,
    },
  },
  async load(): Promise<LoadedTask> {
    const d = makeSpirals({ seed: DATA_SEED, pointsPerArm: 256, valPointsPerArm: 128 });
    return rowTask(mlpSpirals, {
      trainInputs: d.train.inputs,
      trainLabels: d.train.labels,
      valInputs: d.val.inputs,
      valLabels: d.val.labels,
      inputShape: [2],
      labelShape: [],
      buildModel: (backend, seed) => new Mlp({ backend, seed }, { widths: [2, 32, 32, 2], activation: 'tanh' }),
      forward: (model, x) => model.forward(constant(x)),
    });
  },
});
