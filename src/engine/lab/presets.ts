// A default experiment per task: the four optimizers of the paper's comparison, each at values
// tuned with the lab's own sweep (src/engine/lab/sweep.ts) on seed 1, CPU backend — the best of a
// small grid by fewest steps to the task's target, else by final validation accuracy. Where they
// came from is noted per task; bench/results/reproduce.md holds the trials of the benchmark tasks.
import type { ExperimentConfig, OptimizerEntry } from './runner.ts';
import { TASKS, type TaskId } from './tasks.ts';

interface KfacValues {
  lr: number;
  damping: number;
  /** KL clip κ (0 = off); default the schema's. */
  klClip?: number;
}

interface PresetValues {
  steps: number;
  evalInterval: number;
  target: number;
  sgd: number;
  adam: number;
  expand: KfacValues;
  reduce: KfacValues;
}

const PRESETS: Record<TaskId, PresetValues> = {
  // npm run lab -- --task mlp-spirals --sweep sgd.lr=0.1,0.3,1 --sweep adam.lr=0.003,0.01,0.03
  //   --sweep kfac-{expand,reduce}.lr=0.03,0.1,0.3 --sweep kfac-{expand,reduce}.damping=0.001,0.01,0.1
  'mlp-spirals': {
    steps: 400,
    evalInterval: 20,
    target: 0.95,
    sgd: 0.3,
    adam: 0.03,
    expand: { lr: 0.3, damping: 1e-3 },
    reduce: { lr: 0.1, damping: 1e-3 },
  },
  // Not swept yet (a CNN step costs about as much as a ViT step here): quick manual values.
  'cnn-mnist': {
    steps: 300,
    evalInterval: 25,
    target: 0.9,
    sgd: 0.05,
    adam: 2e-3,
    expand: { lr: 0.1, damping: 1e-2 },
    reduce: { lr: 0.1, damping: 1e-2 },
  },
  // npm run bench -- reproduce (grid in bench/reproduce.ts; no trial reached 0.8 in 200 steps, so
  // chosen by final validation accuracy; 0.7 is the target the benchmark races to).
  'vit-mnist': {
    steps: 300,
    evalInterval: 10,
    target: 0.7,
    sgd: 0.03,
    adam: 3e-3,
    expand: { lr: 0.05, damping: 1e-2 },
    reduce: { lr: 0.05, damping: 1e-1 },
  },
  // npm run bench -- reproduce (grid in bench/reproduce.ts); an easy task: the target falls within 25 steps.
  'gcn-node': {
    steps: 100,
    evalInterval: 1,
    target: 0.8,
    sgd: 0.5,
    adam: 0.03,
    expand: { lr: 0.3, damping: 1e-2 },
    reduce: { lr: 0.1, damping: 1e-2 },
  },
  // npm run lab -- --task gcn-graph --sweep sgd.lr=0.1,0.3 --sweep adam.lr=0.003,0.01,0.03
  //   --sweep kfac-{expand,reduce}.lr=0.05,0.2 --sweep kfac-{expand,reduce}.damping=0.1,1 (KL clip off):
  // only K-FAC-reduce, the approximation for this pooled (reduce) setting, reached 0.8 in 300 steps.
  'gcn-graph': {
    steps: 300,
    evalInterval: 20,
    target: 0.8,
    sgd: 0.1,
    adam: 3e-3,
    expand: { lr: 0.05, damping: 1, klClip: 0 },
    reduce: { lr: 0.05, damping: 0.1, klClip: 0 },
  },
  // npm run bench -- reproduce (grid in bench/reproduce.ts; no trial reached 0.9 in 600 steps — the
  // validation accuracy plateaus near 0.85 — so chosen by final validation accuracy; SGD does not learn it).
  'transformer-modular': {
    steps: 500,
    evalInterval: 10,
    target: 0.8,
    sgd: 0.1,
    adam: 3e-3,
    expand: { lr: 0.05, damping: 0.1 },
    reduce: { lr: 0.05, damping: 0.1 },
  },
};

function presetOptimizers(p: PresetValues): OptimizerEntry[] {
  // Parameters K-FAC does not precondition (embeddings, norms) take Adam at 3e-3, the rate the sweeps used.
  const kfac = (v: KfacValues) => ({
    lr: v.lr,
    damping: v.damping,
    fallbackLr: 3e-3,
    ...(v.klClip !== undefined ? { klClip: v.klClip } : {}),
  });
  return [
    { id: 'sgd', label: 'SGD', hyper: { lr: p.sgd, momentum: 0.9 } },
    { id: 'adam', label: 'Adam', hyper: { lr: p.adam } },
    { id: 'kfac-expand', label: 'K-FAC-expand', hyper: kfac(p.expand) },
    { id: 'kfac-reduce', label: 'K-FAC-reduce', hyper: kfac(p.reduce) },
  ];
}

/** The default experiment of a task; a fresh object each call, safe to modify. */
export function presetConfig(task: TaskId): ExperimentConfig {
  const p = PRESETS[task];
  return {
    task,
    batchSize: TASKS[task].defaultBatchSize,
    steps: p.steps,
    seed: 1,
    evalInterval: p.evalInterval,
    target: { metric: 'valAccuracy', value: p.target },
    optimizers: presetOptimizers(p),
  };
}
