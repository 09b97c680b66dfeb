// The 'curvature' job: the Curvature page's analysis of one model (docs/curvature-tools.md §1),
// computed by the engine's curvatureReport on the worker's backend. The model is the task's fresh
// model of a seed, or a checkpoint (trained on the page, handed over by the race, stored or
// uploaded), restored into a fresh model after its names and shapes are checked.
import { decodeCheckpoint, restoreCheckpoint } from '../../engine/checkpoint/checkpoint.ts';
import type { BiasMode, FisherType } from '../../engine/curvature/factors.ts';
import { loadTask, TASK_IDS, type TaskId } from '../../engine/lab/tasks.ts';
import { curvatureReport, type CurvatureReport } from '../../engine/tools/curvature-report/curvature-report.ts';
import {
  configRecord,
  describeValue,
  JobCancelledError,
  JobConfigError,
  readChoice,
  readInteger,
  unknownFields,
  type JobDefinition,
} from './job.ts';
import { MAX_CURVATURE_EXAMPLES, MAX_EXACT_PARAMS } from './limits.ts';

export type CurvatureModelSource = { kind: 'fresh'; seed: number } | { kind: 'checkpoint'; bytes: Uint8Array };

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

function readModel(value: unknown, problems: string[]): CurvatureModelSource | undefined {
  if (typeof value !== 'object' || value === null) {
    problems.push(`curvature.model: expected { kind: 'fresh', seed } or { kind: 'checkpoint', bytes }, got ${describeValue(value)}`);
    return undefined;
  }
  const model = value as Record<string, unknown>;
  if (model.kind === 'fresh') {
    const seed = readInteger(model.seed, 'curvature.model.seed', 0, 2 ** 31 - 1, problems, 1);
    return seed === undefined ? undefined : { kind: 'fresh', seed };
  }
  if (model.kind === 'checkpoint') {
    if (!(model.bytes instanceof Uint8Array)) {
      problems.push(`curvature.model.bytes: expected the checkpoint's bytes (a Uint8Array), got ${describeValue(model.bytes)}`);
      return undefined;
    }
    return { kind: 'checkpoint', bytes: model.bytes };
  }
  problems.push(`curvature.model.kind: expected 'fresh' or 'checkpoint', got ${describeValue(model.kind)}`);
  return undefined;
}

export function parseCurvatureConfig(value: unknown): CurvatureJobConfig {
  const json = configRecord(value, 'curvature');
  const problems: string[] = [];
  unknownFields(json, FIELDS, 'curvature', problems);
  const task = readChoice(json.task, 'curvature.task', TASK_IDS, problems);
  const model = readModel(json.model, problems);
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
    const checkpoint = config.model.kind === 'checkpoint' ? decodeCheckpoint(config.model.bytes) : null;
    if (checkpoint && checkpoint.task !== config.task)
      throw new JobConfigError([`curvature.model: the checkpoint is a model of task "${checkpoint.task}", not of "${config.task}"`]);
    const loaded = await loadTask(config.task);
    const placed = loaded.place(backend);
    const model = placed.buildModel(checkpoint ? checkpoint.seed : config.model.kind === 'fresh' ? config.model.seed : 1);
    try {
      if (checkpoint) restoreCheckpoint(model, checkpoint, { task: config.task });
      const report = await curvatureReport(placed, model, {
        trainSize: loaded.trainSize,
        examples: config.examples,
        fisher: config.fisher,
        bias: config.bias,
        seed: config.seed,
        exactMaxParams: config.exactMaxParams,
        signal,
        onProgress: (p) => progress({ stage: PHASES[p.phase] ?? p.phase, done: p.done, total: p.total }),
      }).catch((e: unknown) => {
        throw signal.aborted ? new JobCancelledError() : e;
      });
      return {
        result: {
          task: config.task,
          model: checkpoint
            ? {
                kind: 'checkpoint',
                step: checkpoint.step,
                seed: checkpoint.seed,
                origin: checkpoint.origin?.label ?? checkpoint.origin?.optimizer ?? null,
              }
            : { kind: 'fresh', seed: config.model.kind === 'fresh' ? config.model.seed : 1 },
          report,
        },
      };
    } finally {
      model.dispose();
      placed.dispose();
    }
  },
};
