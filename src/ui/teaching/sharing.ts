// What the weight-sharing dimension R is in each task's model, and which K-FAC setting its loss is
// in (specs/KFAC.md §1–2). Plain data for the explainer and its drawing; the numbers come from the
// task definitions in src/engine/lab/tasks.ts and the models they build.
import type { TaskId } from '../../engine/lab/tasks.ts';

export interface TaskSharing {
  /** The shared dimension in the plural ("patches", "nodes"), or null when the model shares no weights. */
  dim: string | null;
  /** What one example n is, for the drawing's N label. */
  nLabel: string;
  /** The drawing's R label. */
  rLabel: string;
  /** 'none' when R = 1 everywhere and the two approximations coincide. */
  setting: 'expand' | 'reduce' | 'none';
  /** Where the sharing comes from in this model. */
  where: string;
  /** Why the loss puts the task in its setting, and what that means for the two approximations here. */
  consequence: string;
  /** Shared positions drawn per example (different lengths when R varies by example). */
  drawnRows: readonly number[];
  /** The drawing stands for more positions than it shows. */
  truncated: boolean;
}

export const TASK_SHARING: Readonly<Record<TaskId, TaskSharing>> = {
  'mlp-spirals': {
    dim: null,
    nLabel: 'N points',
    rLabel: 'R = 1 (no sharing)',
    setting: 'none',
    where:
      'The MLP applies each weight matrix once per example, to one point or one hidden vector: there is no weight-sharing dimension, R = 1.',
    consequence:
      'With R = 1 an average over the shared positions changes nothing, so K-FAC-expand and K-FAC-reduce define the same factors A and G. This task is the control: whatever separates the two K-FAC runs here does not come from the approximation.',
    drawnRows: [1, 1, 1],
    truncated: false,
  },
  'cnn-mnist': {
    dim: 'positions',
    nLabel: 'N images',
    rLabel: 'R = 196 positions',
    setting: 'reduce',
    where:
      'A convolution applies one weight matrix to the unfolded 3 × 3 patch around every output position (im2col, so dIn = C_in · 9): R = 14 × 14 = 196 positions in the first convolution and 7 × 7 = 49 in the second. The two dense layers at the end see one vector per image (R = 1).',
    consequence:
      'The positions are combined (max-pooled, flattened and mixed by the dense layers) before the loss, which has one term per image: the convolutions are in the reduce setting. With R = 196, reduce forms its outer products from about 196 times fewer rows than expand.',
    drawnRows: [6, 6, 6],
    truncated: true,
  },
  'vit-mnist': {
    dim: 'patches',
    nLabel: 'N images',
    rLabel: 'R = 16 patches',
    setting: 'reduce',
    where:
      'Each 28 × 28 image is cut into 16 patches of 7 × 7, the tokens. The patch embedding and every linear layer in the transformer blocks (query, key, value, output projection, MLP) apply the same weights to each of the 16 patches. The classifier head sees one pooled vector per image (R = 1).',
    consequence:
      'The model averages the patches (mean pooling) before the head, so the loss has one term per image: the reduce setting (a ViT that classifies from a class token is in the same setting).',
    drawnRows: [6, 6, 6],
    truncated: true,
  },
  'gcn-node': {
    dim: 'nodes',
    nLabel: 'N = 1 graph',
    rLabel: 'R = 400 nodes',
    setting: 'expand',
    where:
      'A GCN layer computes H′ = Â H W: the same W is applied to every node’s aggregated features (Â H)ᵥ. The whole 400-node graph is one example, so N = 1 and R = 400.',
    consequence:
      'Every training node has its own loss term, so the loss has N · R terms: the expand setting. Reduce fits poorly here: it averages the 400 node inputs into a single row, so each step’s input factor has rank one and the damping does much of the work.',
    drawnRows: [8],
    truncated: true,
  },
  'gcn-graph': {
    dim: 'nodes',
    nLabel: 'N graphs',
    rLabel: 'R = 10–30 nodes per graph',
    setting: 'reduce',
    where:
      'A GCN layer applies the same W to every node of every graph in the batch. The graphs have 10 to 30 nodes, so R differs from graph to graph; the rows are grouped by graph.',
    consequence:
      'Node features are mean-pooled per graph before the classifier, and the loss has one term per graph: the reduce setting. Reduce averages each graph’s node inputs, whatever the graph’s size.',
    drawnRows: [4, 6, 5],
    truncated: true,
  },
  'transformer-modular': {
    dim: 'tokens',
    nLabel: 'N sequences',
    rLabel: 'R = 4 tokens',
    setting: 'expand',
    where:
      'Each example is the 4-token sequence “a + b =”. Every linear layer (query, key, value, output projection, MLP, output head) applies the same weights to each of the 4 tokens.',
    consequence:
      'A language model has a loss term per token position (next-token prediction): the expand setting. In this task only the last position, “=”, carries a label (the answer); the loss ignores the other three. With R = 4 the two approximations cost about the same.',
    drawnRows: [4, 4, 4],
    truncated: false,
  },
};

/** Factor time of one layer (N = 32, dIn = dOut = 64) on SwiftShader, 2026-11-28: bench/results/kfac.json. */
export const FACTOR_BENCH = {
  device: 'a software GPU (SwiftShader)',
  fromR: 4,
  toR: 256,
  expandMs: [1.74, 62.58],
  reduceMs: [1.45, 9.93],
} as const;
