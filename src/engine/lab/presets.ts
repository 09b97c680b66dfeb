// A default experiment per task, from the values on the task's definition (its `preset`, with a
// note there on where they came from: the lab's own sweep, src/engine/lab/sweep.ts, on seed 1, CPU
// backend — the best of a small grid by fewest steps to the task's target, else by final validation
// accuracy; bench/results/reproduce.md holds the trials of the benchmark tasks).
import type { ExperimentConfig, OptimizerEntry } from './experiment-config.ts';
import { TASKS, type KfacPreset, type TaskId, type TaskPreset } from './tasks.ts';

function presetOptimizers(p: TaskPreset): OptimizerEntry[] {
  // Parameters K-FAC does not precondition (embeddings, norms) take Adam at 3e-3, the rate the sweeps used.
  const kfac = (v: KfacPreset) => ({
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
  const definition = TASKS[task];
  const p = definition.preset;
  return {
    task,
    batchSize: definition.defaultBatchSize,
    steps: p.steps,
    seed: 1,
    evalInterval: p.evalInterval,
    target: { metric: 'valAccuracy', value: p.target },
    optimizers: presetOptimizers(p),
  };
}
