// Modular addition with a one-block transformer LM: the expand setting (a loss term per token).
import { TransformerLm } from '../../nn/models/transformer-lm.ts';
import { makeModular } from '../../data/modular.ts';
import { defineTask, type LoadedTask } from './definition.ts';
import { DATA_SEED, rowTask } from './evaluation.ts';

// p = 23 keeps an epoch at a few hundred examples, so CPU and browser runs stay quick.
const MODULUS = 23;

export const transformerModular = defineTask({
  id: 'transformer-modular',
  title: `Transformer on (a + b) mod ${MODULUS}`,
  description: `A 1-block transformer LM predicts the answer token of "a + b =" mod ${MODULUS} (80% of all pairs for training).`,
  setting: 'expand',
  model: 'transformer LM dim 32, depth 1, 4 heads',
  parameterCount: 10556,
  fullBatch: false,
  defaultBatchSize: 64,
  // npm run bench -- reproduce (grid in bench/reproduce.ts; no trial reached 0.9 in 600 steps — the
  // validation accuracy plateaus near 0.85 — so chosen by final validation accuracy; SGD does not learn it).
  preset: {
    steps: 500,
    evalInterval: 10,
    target: 0.8,
    sgd: 0.1,
    adam: 3e-3,
    expand: { lr: 0.05, damping: 0.1 },
    reduce: { lr: 0.05, damping: 0.1 },
  },
  teaching: {
    setting:
      'Every Linear layer applies the same weights to each of the 4 tokens and the language-model loss is per token (only the answer after "=" is scored), so this is the expand setting: K-FAC-expand counts every token as an example, while K-FAC-reduce averages the tokens first.',
    sharing: {
      dim: 'tokens',
      nLabel: 'N sequences',
      rLabel: 'R = 4 tokens',
      where:
        'Each example is the 4-token sequence “a + b =”. Every linear layer (query, key, value, output projection, MLP, output head) applies the same weights to each of the 4 tokens.',
      consequence:
        'A language model has a loss term per token position (next-token prediction): the expand setting. In this task only the last position, “=”, carries a label (the answer); the loss ignores the other three. With R = 4 the two approximations cost about the same.',
      drawnRows: [4, 4, 4],
      truncated: false,
    },
  },
  async load(): Promise<LoadedTask> {
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
      forward: (model, ids) => model.forward(ids),
    });
  },
});
