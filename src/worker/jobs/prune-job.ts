// The 'prune' job: the Pruning page's experiment (docs/curvature-tools.md §5). The model is the
// task's model trained here with Adam (progress per step; returned as a checkpoint so the page can
// keep it and prune it again without retraining) or a checkpoint; then every method at every
// sparsity from the same weights (pruneExperiment), with per-layer masks for the page's images.
import { loadTask, TASKS, type TaskId } from '../../engine/lab/tasks.ts';
import { modelFromCheckpoint } from '../../engine/checkpoint/checkpoint.ts';
import type { Module } from '../../engine/nn/module.ts';
import { PRUNE_METHODS, type PruneMethod } from '../../engine/tools/prune/curvature.ts';
import { pruneExperiment, trainForPruning, type PruneExperimentResult } from '../../engine/tools/prune/prune-experiment.ts';
import type { PruneScope } from '../../engine/tools/prune/prune.ts';
import {
  configRecord,
  describeValue,
  JobConfigError,
  readChoice,
  readInteger,
  rethrowCancelled,
  unknownFields,
  type JobDefinition,
} from './job.ts';
import { MAX_CURVATURE_EXAMPLES, MAX_TRAIN_STEPS } from './limits.ts';
import { encodeModel, readModelSource, sourceCheckpoint, type BuiltSource, type CheckpointSource } from './model-source.ts';

/** The tasks the page offers: the two MNIST models of the pruning study. */
export const PRUNE_JOB_TASKS = ['mlp-mnist', 'cnn-mnist'] as const satisfies readonly TaskId[];
/** ggn-obs needs a tiny float64 model: not for the page's MNIST models. */
export const PRUNE_JOB_METHODS = PRUNE_METHODS.filter((m) => m !== 'ggn-obs');

export type PruneModelSource = { kind: 'train'; steps: number; seed: number } | CheckpointSource;

export interface PruneJobConfig {
  task: (typeof PRUNE_JOB_TASKS)[number];
  model: PruneModelSource;
  methods: PruneMethod[];
  sparsities: number[];
  scope: PruneScope;
  damping: number;
  /** Training examples for the curvature (a seeded subset). */
  examples: number;
  /** Fine-tuning steps after pruning (0: none). */
  finetune: number;
  /** Gradual pruning: steps per sparsity (1: one shot). */
  steps: number;
  seed: number;
}

export interface PruneJobResult {
  task: TaskId;
  /** The model trained here, encoded (its buffer is transferred); null when a checkpoint was given. */
  checkpoint: Uint8Array | null;
  model: { kind: 'trained'; steps: number; seed: number; seconds: number } | { kind: 'checkpoint'; step: number; seed: number };
  config: Omit<PruneJobConfig, 'model'>;
  device: string;
  result: PruneExperimentResult;
}

const FIELDS = ['task', 'model', 'methods', 'sparsities', 'scope', 'damping', 'examples', 'finetune', 'steps', 'seed'] as const;
const MAX_SPARSITIES = 24;

/** Trained here with Adam for `steps` (default 600) from `seed` (default 1), or a checkpoint. */
const TRAIN: BuiltSource<{ kind: 'train'; steps: number; seed: number }> = {
  kind: 'train',
  fields: 'steps, seed',
  read(m, where, problems) {
    const steps = readInteger(m.steps, `${where}.steps`, 0, MAX_TRAIN_STEPS, problems, 600);
    const seed = readInteger(m.seed, `${where}.seed`, 0, 2 ** 31 - 1, problems, 1);
    return steps === undefined || seed === undefined ? undefined : { kind: 'train', steps, seed };
  },
};

export function parsePruneConfig(value: unknown): PruneJobConfig {
  const json = configRecord(value, 'prune');
  const problems: string[] = [];
  unknownFields(json, FIELDS, 'prune', problems);
  const task = readChoice(json.task, 'prune.task', PRUNE_JOB_TASKS, problems, 'mlp-mnist');
  const model = readModelSource(json.model ?? { kind: 'train' }, 'prune', TRAIN, problems);
  let methods: PruneMethod[] | undefined = ['magnitude', 'woodfisher', 'kfac-obs'];
  if (json.methods !== undefined) {
    const list = json.methods;
    if (!Array.isArray(list) || list.length === 0 || list.some((m) => !(PRUNE_JOB_METHODS as readonly unknown[]).includes(m))) {
      problems.push(`prune.methods: expected a non-empty list from ${PRUNE_JOB_METHODS.join(', ')}, got ${describeValue(list)}`);
      methods = undefined;
    } else methods = [...new Set(list as PruneMethod[])];
  }
  let sparsities: number[] | undefined = [0.5, 0.7, 0.8, 0.9];
  if (json.sparsities !== undefined) {
    const list = json.sparsities;
    if (
      !Array.isArray(list) ||
      list.length === 0 ||
      list.length > MAX_SPARSITIES ||
      list.some((s) => typeof s !== 'number' || !(s >= 0 && s <= 1))
    ) {
      problems.push(`prune.sparsities: expected 1 to ${MAX_SPARSITIES} fractions in [0, 1], got ${describeValue(list)}`);
      sparsities = undefined;
    } else sparsities = [...new Set(list as number[])].sort((a, b) => a - b);
  }
  const scope = readChoice(json.scope, 'prune.scope', ['layer', 'global'] as const, problems, 'global');
  let damping: number | undefined = 1e-4;
  if (json.damping !== undefined) {
    if (typeof json.damping !== 'number' || !(json.damping > 0) || !Number.isFinite(json.damping)) {
      problems.push(`prune.damping: expected a number > 0, got ${describeValue(json.damping)}`);
      damping = undefined;
    } else damping = json.damping;
  }
  const examples = readInteger(json.examples, 'prune.examples', 1, MAX_CURVATURE_EXAMPLES, problems, 512);
  const finetune = readInteger(json.finetune, 'prune.finetune', 0, MAX_TRAIN_STEPS, problems, 0);
  const steps = readInteger(json.steps, 'prune.steps', 1, 20, problems, 1);
  const seed = readInteger(json.seed, 'prune.seed', 0, 2 ** 31 - 1, problems, 0);
  if (
    problems.length > 0 ||
    !task ||
    !model ||
    !methods ||
    !sparsities ||
    !scope ||
    damping === undefined ||
    examples === undefined ||
    finetune === undefined ||
    steps === undefined ||
    seed === undefined
  )
    throw new JobConfigError(problems);
  return { task, model, methods, sparsities, scope, damping, examples, finetune, steps, seed };
}

export const pruneJob: JobDefinition<PruneJobConfig, PruneJobResult> = {
  kind: 'prune',
  about: "prune a task's trained model with magnitude, diagonal Fisher, WoodFisher and K-FAC-OBS at several sparsities",
  parseConfig: parsePruneConfig,
  async run(config, { backend, signal, progress }) {
    progress({ stage: 'loading the data', done: 0, total: 1 });
    const checkpoint = sourceCheckpoint(config.model, 'prune', config.task);
    const loaded = await loadTask(config.task);
    const placed = loaded.place(backend);
    const definition = TASKS[config.task];
    let model: Module | null = null;
    try {
      let source: PruneJobResult['model'];
      let bytes: Uint8Array | null = null;
      if (checkpoint) {
        model = modelFromCheckpoint(placed, checkpoint, { task: config.task });
        source = { kind: 'checkpoint', step: checkpoint.step, seed: checkpoint.seed };
      } else {
        const train = config.model as { kind: 'train'; steps: number; seed: number };
        const trained = await trainForPruning(placed, {
          steps: train.steps,
          batchSize: definition.defaultBatchSize,
          lr: definition.preset.adam,
          seed: train.seed,
          trainSize: loaded.trainSize,
          signal,
          onStep: (step, loss) => progress({ stage: 'training', done: step + 1, total: train.steps, values: { loss } }),
        }).catch(rethrowCancelled(signal));
        model = trained.model;
        source = { kind: 'trained', steps: train.steps, seed: train.seed, seconds: trained.ms / 1000 };
        bytes = await encodeModel(model, {
          task: config.task,
          seed: train.seed,
          step: train.steps,
          origin: { optimizer: 'adam', label: 'Adam (Pruning page)' },
        });
      }
      const result = await pruneExperiment(placed, model, {
        methods: config.methods,
        sparsities: config.sparsities,
        scope: config.scope,
        defaultDamping: config.damping,
        examples: config.examples,
        trainSize: loaded.trainSize,
        batchSize: definition.defaultBatchSize,
        approx: definition.setting,
        steps: config.steps,
        finetune: config.finetune > 0 ? { steps: config.finetune, optimizer: 'adam', hyper: { lr: 1e-3 } } : null,
        seed: config.seed,
        keepMasks: true,
        signal,
        onProgress: (p) => progress(p),
      }).catch(rethrowCancelled(signal));
      const { model: _m, ...rest } = config;
      void _m;
      const transfer: Transferable[] = bytes ? [bytes.buffer] : [];
      for (const r of result.runs) for (const l of r.layers) if (l.mask) transfer.push(l.mask.buffer);
      return {
        result: { task: config.task, checkpoint: bytes, model: source, config: rest, device: backend.info.summary, result },
        transfer,
      };
    } finally {
      model?.dispose();
      placed.dispose();
    }
  },
};
