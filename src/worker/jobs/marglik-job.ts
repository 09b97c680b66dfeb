// The 'marglik' job: the Laplace page's experiment (docs/curvature-tools.md §2) on the worker's
// backend — online marginal-likelihood training with K-FAC-expand and then K-FAC-reduce Laplace fits
// from the same initial weights, each followed by the MAP and Laplace (GLM, probit) test metrics, and
// optionally the weight-decay grid it replaces and the time per Laplace fit as R grows on this device. Progress carries the latest Laplace fit in its values
// (`fit.*`, sticky until the next fit) so the page can draw log marglik and δ_l per epoch live.
import { TASK_IDS, type TaskId } from '../../engine/lab/tasks.ts';
import type { KfacApprox } from '../../engine/curvature/factors.ts';
import type { MarglikFitRecord } from '../../engine/laplace/online.ts';
import {
  runMarglik,
  runWeightDecayGrid,
  WEIGHT_DECAY_GRID,
  type GridRunResult,
  type MarglikRunResult,
} from '../../engine/tools/marglik/experiment.ts';
import { laplaceFitScaling, type ScalingRow } from '../../engine/tools/marglik/fit-scaling.ts';
import { configRecord, JobConfigError, readChoice, readInteger, rethrowCancelled, unknownFields, type JobDefinition } from './job.ts';

/** Tasks with one prediction per example and held-out batches (what the predictive needs). */
export const MARGLIK_TASKS: readonly TaskId[] = TASK_IDS.filter((t) => ['cnn-mnist', 'vit-mnist', 'mlp-mnist', 'mlp-spirals'].includes(t));

export interface MarglikJobConfig {
  task: TaskId;
  seed: number;
  epochs: number;
  /** F and K of the online algorithm. */
  frequency: number;
  hyperSteps: number;
  /** The first n training and held-out examples. */
  trainExamples: number;
  testExamples: number;
  /** Also run the weight-decay grid baseline. */
  grid: boolean;
  /** MC samples of the linearised model (0: the probit predictive only). */
  predictiveSamples: number;
  /** Also time expand and reduce Laplace fits of the GAP CNN at R = 16, 64, 256 on this device, over this many images (0: skip). */
  scalingExamples: number;
}

export interface MarglikJobResult {
  task: TaskId;
  device: string;
  /** expand first, then reduce. */
  runs: MarglikRunResult[];
  grid: GridRunResult | null;
  weightDecayGrid: readonly number[];
  /** Time per Laplace fit as R grows (null when not asked for). */
  scaling: ScalingRow[] | null;
}

const FIELDS = [
  'task',
  'seed',
  'epochs',
  'frequency',
  'hyperSteps',
  'trainExamples',
  'testExamples',
  'grid',
  'predictiveSamples',
  'scalingExamples',
] as const;

export function parseMarglikConfig(value: unknown): MarglikJobConfig {
  const json = configRecord(value, 'marglik');
  const problems: string[] = [];
  unknownFields(json, FIELDS, 'marglik', problems);
  const task = readChoice(json.task, 'marglik.task', MARGLIK_TASKS, problems, 'cnn-mnist');
  const seed = readInteger(json.seed, 'marglik.seed', 0, 2 ** 31 - 1, problems, 0);
  const epochs = readInteger(json.epochs, 'marglik.epochs', 1, 200, problems, 5);
  const frequency = readInteger(json.frequency, 'marglik.frequency', 1, 50, problems, 1);
  const hyperSteps = readInteger(json.hyperSteps, 'marglik.hyperSteps', 1, 1000, problems, 10);
  const trainExamples = readInteger(json.trainExamples, 'marglik.trainExamples', 16, 4096, problems, 1024);
  const testExamples = readInteger(json.testExamples, 'marglik.testExamples', 16, 512, problems, 512);
  const predictiveSamples = readInteger(json.predictiveSamples, 'marglik.predictiveSamples', 0, 1000, problems, 0);
  const scalingExamples = readInteger(json.scalingExamples, 'marglik.scalingExamples', 0, 1024, problems, 0);
  if (json.grid !== undefined && typeof json.grid !== 'boolean')
    problems.push(`marglik.grid: expected true or false, got ${typeof json.grid}`);
  if (
    problems.length > 0 ||
    !task ||
    seed === undefined ||
    epochs === undefined ||
    frequency === undefined ||
    hyperSteps === undefined ||
    trainExamples === undefined ||
    testExamples === undefined ||
    predictiveSamples === undefined ||
    scalingExamples === undefined
  )
    throw new JobConfigError(problems);
  return {
    task,
    seed,
    epochs,
    frequency,
    hyperSteps,
    trainExamples,
    testExamples,
    grid: json.grid === true,
    predictiveSamples,
    scalingExamples,
  };
}

/** The latest fit as flat progress values (fit.delta.k per layer). */
function fitValues(run: number, fit: MarglikFitRecord, count: number): Record<string, number> {
  const values: Record<string, number> = {
    run,
    fits: count,
    'fit.epoch': fit.epoch,
    'fit.logMarglik': fit.terms.logMarglik,
    'fit.fitMs': fit.fitMs,
    'fit.trainLoss': fit.trainLoss,
  };
  fit.precision.forEach((d, k) => (values[`fit.delta.${k}`] = d));
  return values;
}

export const marglikJob: JobDefinition<MarglikJobConfig, MarglikJobResult> = {
  kind: 'marglik',
  about:
    'online marginal-likelihood training with K-FAC-expand and K-FAC-reduce Laplace fits, then MAP vs Laplace on test data (and a weight-decay grid)',
  parseConfig: parseMarglikConfig,
  async run(config, { backend, signal, progress }) {
    const runs: MarglikRunResult[] = [];
    const common = {
      task: config.task,
      seed: config.seed,
      epochs: config.epochs,
      trainExamples: config.trainExamples,
      testExamples: config.testExamples,
      signal,
    };
    const cancelled = rethrowCancelled(signal);
    for (const [index, approx] of (['expand', 'reduce'] as KfacApprox[]).entries()) {
      let sticky: Record<string, number> = { run: index, fits: 0 };
      let fits = 0;
      const label = `K-FAC-${approx}`;
      const result = await runMarglik(backend, {
        ...common,
        approx,
        frequency: config.frequency,
        hyperSteps: config.hyperSteps,
        predictiveSamples: config.predictiveSamples,
        onProgress: (p) => {
          if (p.phase === 'train')
            progress({ stage: `${label}: training`, done: p.step + 1, total: p.steps, values: { ...sticky, loss: p.loss } });
          else if (p.phase === 'fit') {
            fits += 1;
            sticky = fitValues(index, p.fit, fits);
            progress({ stage: `${label}: Laplace fit`, done: p.fit.epoch, total: config.epochs, values: sticky });
          } else if (p.phase === 'predict') progress({ stage: `${label}: predictive on test data`, done: 0, total: 1, values: sticky });
        },
      }).catch(cancelled);
      runs.push(result);
    }
    let grid: GridRunResult | null = null;
    if (config.grid) {
      grid = await runWeightDecayGrid(backend, {
        ...common,
        onProgress: (p) => {
          if (p.phase === 'grid')
            progress({
              stage: `weight-decay grid: ${p.weightDecay} (${p.index + 1} of ${p.count})`,
              done: p.index * p.steps + p.step + 1,
              total: p.count * p.steps,
              values: { run: 2 },
            });
        },
      }).catch(cancelled);
    }
    let scaling: ScalingRow[] | null = null;
    if (config.scalingExamples > 0) {
      scaling = await laplaceFitScaling(backend, {
        families: ['cnn'],
        examples: config.scalingExamples,
        batch: Math.min(128, config.scalingExamples),
        repeats: 2,
        signal,
        onProgress: (done, total, model) => progress({ stage: `time per Laplace fit: ${model}`, done, total, values: { run: 3 } }),
      }).catch(cancelled);
    }
    return { result: { task: config.task, device: backend.info.summary, runs, grid, weightDecayGrid: WEIGHT_DECAY_GRID, scaling } };
  },
};
