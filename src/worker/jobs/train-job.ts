// The 'train' job: a task's model trained from its preset, with progress, returned as a checkpoint
// (src/engine/checkpoint/checkpoint.ts). The optimizer is the preset's K-FAC run of the task's own
// setting (K-FAC-expand for expand-setting tasks, K-FAC-reduce for reduce-setting ones, docs/kfac.md
// §2) at the preset's tuned values — the run the lab's reproduction benchmark expects to reach the
// target first; any other optimizer of the preset can be asked for by id. Training goes through the
// lab's own Experiment runner (same batches, same seed rule as the race), with one run.
import { ExperimentController } from '../../engine/lab/controller.ts';
import { Experiment } from '../../engine/lab/experiment.ts';
import type { ExperimentConfig } from '../../engine/lab/experiment-config.ts';
import { presetConfig } from '../../engine/lab/presets.ts';
import { TASK_IDS, TASKS, type TaskId } from '../../engine/lab/tasks.ts';
import { OPTIMIZER_IDS, type OptimizerId } from '../../engine/optim/schema.ts';
import { configRecord, JobCancelledError, JobConfigError, readChoice, readInteger, unknownFields, type JobDefinition } from './job.ts';
import { MAX_TRAIN_STEPS } from './limits.ts';
import { encodeModel } from './model-source.ts';
import { yieldToEventLoop } from '../lab-session.ts';

/**
 * A macrotask between steps: on the CPU backend a step never leaves the microtask queue, and the
 * worker must still read 'job-cancel' (and post progress) while it trains.
 */
class YieldingController extends ExperimentController {
  override async waitWhilePaused(): Promise<void> {
    await yieldToEventLoop();
    return super.waitWhilePaused();
  }
}

export interface TrainJobConfig {
  task: TaskId;
  /** Training steps (the preset's own count when absent). */
  steps: number;
  seed: number;
  /** Default: the task's default batch size. */
  batchSize: number;
  /** Default: the preset's K-FAC run of the task's setting. */
  optimizer: OptimizerId;
}

export interface TrainJobResult {
  /** The encoded checkpoint (its buffer is transferred). */
  checkpoint: Uint8Array;
  task: TaskId;
  steps: number;
  optimizer: OptimizerId;
  label: string;
  finalLoss: number;
  /** Validation accuracy after the last step. */
  valAccuracy: number | null;
  trainMs: number;
}

const FIELDS = ['task', 'steps', 'seed', 'batchSize', 'optimizer'] as const;

/** The preset's optimizer for a checkpoint: K-FAC of the task's setting. */
export function defaultTrainOptimizer(task: TaskId): OptimizerId {
  return TASKS[task].setting === 'expand' ? 'kfac-expand' : 'kfac-reduce';
}

export function parseTrainConfig(value: unknown): TrainJobConfig {
  const json = configRecord(value, 'train');
  const problems: string[] = [];
  unknownFields(json, FIELDS, 'train', problems);
  const task = readChoice(json.task, 'train.task', TASK_IDS, problems);
  // Without a task there are no preset defaults: only the fields given are checked.
  const preset = task ? TASKS[task] : null;
  const given = (name: string) => preset !== null || json[name] !== undefined;
  const steps = given('steps') ? readInteger(json.steps, 'train.steps', 1, MAX_TRAIN_STEPS, problems, preset?.preset.steps) : undefined;
  const seed = readInteger(json.seed, 'train.seed', 0, 2 ** 31 - 1, problems, 1);
  const batchSize = given('batchSize')
    ? readInteger(json.batchSize, 'train.batchSize', 1, 4096, problems, preset?.defaultBatchSize)
    : undefined;
  const optimizer = given('optimizer')
    ? readChoice(json.optimizer, 'train.optimizer', OPTIMIZER_IDS, problems, task ? defaultTrainOptimizer(task) : undefined)
    : undefined;
  if (problems.length > 0 || !task || steps === undefined || seed === undefined || batchSize === undefined || !optimizer)
    throw new JobConfigError(problems);
  return { task, steps, seed, batchSize, optimizer };
}

/** The one-run experiment the job trains: the preset's entry for the optimizer, evaluated after the last step. */
export function trainExperimentConfig(config: TrainJobConfig): ExperimentConfig {
  const preset = presetConfig(config.task);
  const entry = preset.optimizers.find((o) => o.id === config.optimizer) ?? { id: config.optimizer };
  return {
    ...preset,
    steps: config.steps,
    seed: config.seed,
    batchSize: config.batchSize,
    evalInterval: config.steps,
    target: null,
    optimizers: [entry],
  };
}

export const trainJob: JobDefinition<TrainJobConfig, TrainJobResult> = {
  kind: 'train',
  about: "train a task's model from its preset and return it as a checkpoint",
  parseConfig: parseTrainConfig,
  async run(config, { backend, signal, progress }) {
    progress({ stage: 'loading the data', done: 0, total: config.steps });
    const experiment = await Experiment.create(backend, trainExperimentConfig(config), {
      signal,
      controller: new YieldingController(),
      phaseTiming: false,
      onMetrics: (points) => {
        const p = points[0];
        if (p) progress({ stage: 'training', done: p.step, total: config.steps, values: { loss: p.trainLoss } });
      },
    });
    try {
      const outcome = await experiment.run();
      if (signal.aborted || outcome.stopped) throw new JobCancelledError();
      const run = outcome.runs[0];
      if (run.error) throw new Error(`training stopped at step ${run.stepsCompleted + 1}: ${run.error}`);
      const bytes = await encodeModel(experiment.models[0], {
        task: config.task,
        seed: config.seed,
        step: run.stepsCompleted,
        origin: { optimizer: run.optimizer, label: run.label },
      });
      let lastVal: number | null = null;
      for (const v of run.history.valMetric) if (v !== null && v !== undefined) lastVal = v;
      return {
        result: {
          checkpoint: bytes,
          task: config.task,
          steps: run.stepsCompleted,
          optimizer: run.optimizer,
          label: run.label,
          finalLoss: run.history.trainLoss.at(-1) ?? Number.NaN,
          valAccuracy: lastVal,
          trainMs: run.history.timeMs.at(-1) ?? 0,
        },
        transfer: [bytes.buffer],
      };
    } finally {
      experiment.dispose();
    }
  },
};
