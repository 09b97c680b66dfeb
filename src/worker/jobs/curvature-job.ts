// The 'curvature' job: the Curvature page's analysis of one model (docs/curvature-tools.md §1),
// computed by the engine's curvatureReport on the worker's backend. The model is the task's fresh
// model of a seed, or a checkpoint (trained on the page, handed over by the race, stored or
// uploaded), restored into a fresh model after its names and shapes are checked.
import type { BiasMode, FisherType } from '../../engine/curvature/factors.ts';
import { loadTask, TASK_IDS, type TaskId } from '../../engine/lab/tasks.ts';
import { curvatureReport, type CurvatureReport } from '../../engine/tools/curvature-report/curvature-report.ts';
import { modelFromCheckpoint } from '../../engine/checkpoint/checkpoint.ts';
import type { Module } from '../../engine/nn/module.ts';
import { configRecord, JobConfigError, readChoice, readInteger, rethrowCancelled, unknownFields, type JobDefinition } from './job.ts';
import { MAX_CURVATURE_EXAMPLES, MAX_EXACT_PARAMS } from './limits.ts';
import { checkpointOrigin, readModelSource, sourceCheckpoint, type BuiltSource, type CheckpointSource } from './model-source.ts';

export type CurvatureModelSource = { kind: 'fresh'; seed: number } | CheckpointSource;

export interface CurvatureJobConfig {
  task: TaskId;
  model: CurvatureModelSource;
  /** Training examples the curvature is computed over (a seeded random subset). */
  examples: number;
  fisher: FisherType;
  bias: BiasMode;
  /** Seeds the choice of examples (and the MC labels). */
  seed: number;
  /** Layers whose weight block has at most this many parameters get the exact GGN block. */
  exactMaxParams: number;
}

export interface CurvatureJobResult {
  task: TaskId;
  /** What was analysed: the fresh model of a seed, or the checkpoint's step and origin. */
  model: { kind: 'fresh'; seed: number } | { kind: 'checkpoint'; step: number; seed: number; origin: string | null };
  report: CurvatureReport;
}

const FISHERS: readonly FisherType[] = ['type-2', 'mc', 'empirical'];
const BIASES: readonly BiasMode[] = ['folded', 'separate'];
const FIELDS = ['task', 'model', 'examples', 'fisher', 'bias', 'seed', 'exactMaxParams'] as const;

/** The fresh model of a seed (default 1), or a checkpoint. */
const FRESH: BuiltSource<{ kind: 'fresh'; seed: number }> = {
  kind: 'fresh',
  fields: 'seed',
  read(model, where, problems) {
    const seed = readInteger(model.seed, `${where}.seed`, 0, 2 ** 31 - 1, problems, 1);
    return seed === undefined ? undefined : { kind: 'fresh', seed };
  },
};

export function parseCurvatureConfig(value: unknown): CurvatureJobConfig {
  const json = configRecord(value, 'curvature');
  const problems: string[] = [];
  unknownFields(json, FIELDS, 'curvature', problems);
  const task = readChoice(json.task, 'curvature.task', TASK_IDS, problems);
  const model = readModelSource(json.model, 'curvature', FRESH, problems);
  const examples = readInteger(json.examples, 'curvature.examples', 1, MAX_CURVATURE_EXAMPLES, problems, 256);
  const fisher = readChoice(json.fisher, 'curvature.fisher', FISHERS, problems, 'type-2');
  const bias = readChoice(json.bias, 'curvature.bias', BIASES, problems, 'folded');
  const seed = readInteger(json.seed, 'curvature.seed', 0, 2 ** 31 - 1, problems, 0);
  const exactMaxParams = readInteger(json.exactMaxParams, 'curvature.exactMaxParams', 0, MAX_EXACT_PARAMS, problems, 1500);
  if (
    problems.length > 0 ||
    !task ||
    !model ||
    examples === undefined ||
    !fisher ||
    !bias ||
    seed === undefined ||
    exactMaxParams === undefined
  )
    throw new JobConfigError(problems);
  return { task, model, examples, fisher, bias, seed, exactMaxParams };
}

/** The report's phases in words (an unknown phase is shown as it is). */
const PHASES: Readonly<Record<string, string>> = {
  'factors-expand': 'K-FAC-expand factors',
  'factors-reduce': 'K-FAC-reduce factors',
  spectra: 'eigenvalues of the factors',
  'ekfac-exact': 'EK-FAC and the exact blocks',
};

export const curvatureJob: JobDefinition<CurvatureJobConfig, CurvatureJobResult> = {
  kind: 'curvature',
  about: "the curvature report of a model: A and G, K-FAC and EK-FAC spectra, the exact GGN block's, and their fit",
  parseConfig: parseCurvatureConfig,
  async run(config, { backend, signal, progress }) {
    progress({ stage: 'loading the data', done: 0, total: 1 });
    // Decoded (and checked) before anything is placed on the device.
    const checkpoint = sourceCheckpoint(config.model, 'curvature', config.task);
    const loaded = await loadTask(config.task);
    const placed = loaded.place(backend);
    let model: Module | null = null;
    try {
      model = checkpoint
        ? modelFromCheckpoint(placed, checkpoint, { task: config.task })
        : placed.buildModel(config.model.kind === 'fresh' ? config.model.seed : 1);
      const report = await curvatureReport(placed, model, {
        trainSize: loaded.trainSize,
        examples: config.examples,
        fisher: config.fisher,
        bias: config.bias,
        seed: config.seed,
        exactMaxParams: config.exactMaxParams,
        signal,
        onProgress: (p) => progress({ stage: PHASES[p.phase] ?? p.phase, done: p.done, total: p.total }),
      }).catch(rethrowCancelled(signal));
      return {
        result: {
          task: config.task,
          model: checkpoint
            ? {
                kind: 'checkpoint',
                step: checkpoint.step,
                seed: checkpoint.seed,
                origin: checkpointOrigin(checkpoint),
              }
            : { kind: 'fresh', seed: config.model.kind === 'fresh' ? config.model.seed : 1 },
          report,
        },
      };
    } finally {
      model?.dispose();
      placed.dispose();
    }
  },
};
