// The 'edit' job: the Memorisation page's experiment (docs/curvature-tools.md §4), run by the
// engine's runEditSweep on the worker's backend. The model is trained here with the experiment's
// recipe (and returned as a checkpoint of the base task, to keep or download), or a checkpoint of
// the base task trained earlier. The result holds the four accuracies at every ρ of the grid for
// the K-FAC edit and both baselines, so the page's ρ slider reads them without another job.
import { EXPERIMENT_IDS, EXPERIMENTS, placeExperiment, type ExperimentId } from '../../engine/memorisation/experiments.ts';
import { runEditSweep, trainExperimentModel, type SweepResult } from '../../engine/memorisation/sweep.ts';
import { modelFromCheckpoint } from '../../engine/checkpoint/checkpoint.ts';
import type { Module } from '../../engine/nn/module.ts';
import { deviceOf } from '../../engine/lab/report.ts';
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
import { MAX_TRAIN_STEPS } from './limits.ts';
import {
  checkpointOrigin,
  encodeModel,
  readModelSource,
  sourceCheckpoint,
  type BuiltSource,
  type CheckpointSource,
} from './model-source.ts';

/** A page sweeps at most this many ρ values (each costs three edits and four evaluations). */
export const MAX_EDIT_RHOS = 40;

export type EditModelSource = { kind: 'train'; steps: number } | CheckpointSource;

export interface EditJobConfig {
  experiment: ExperimentId;
  model: EditModelSource;
  /** K-FAC layer positions to edit. */
  layers: number[];
  /** The ρ grid, ascending, in (0, 1]; 1 (the unedited model) is always included. */
  rhos: number[];
  /** Seeds the model (when trained here), the batch order and the Fisher's sampled labels. */
  seed: number;
}

export interface EditJobResult {
  experiment: ExperimentId;
  model: { kind: 'train' | 'checkpoint'; steps: number; seed: number; origin: string | null };
  /** The model trained here, as a checkpoint of the experiment's base task (its buffer is transferred); null for a checkpoint given. */
  checkpoint: Uint8Array | null;
  sweep: SweepResult;
  /** Where it ran. */
  device: string;
}

const FIELDS = ['experiment', 'model', 'layers', 'rhos', 'seed'] as const;

/** Trained here by the experiment's recipe for `steps`, or a checkpoint of the base task. */
const TRAIN: BuiltSource<{ kind: 'train'; steps: number }> = {
  kind: 'train',
  fields: 'steps',
  read(model, where, problems) {
    const steps = readInteger(model.steps, `${where}.steps`, 1, MAX_TRAIN_STEPS, problems);
    return steps === undefined ? undefined : { kind: 'train', steps };
  },
};

function readNumbers(
  value: unknown,
  where: string,
  problems: string[],
  ok: (x: number) => boolean,
  expected: string,
  max: number,
): number[] | undefined {
  if (!Array.isArray(value) || value.length === 0 || value.length > max) {
    problems.push(`${where}: expected a list of 1 to ${max} numbers (${expected}), got ${describeValue(value)}`);
    return undefined;
  }
  const bad = value.find((x) => typeof x !== 'number' || !ok(x));
  if (bad !== undefined) {
    problems.push(`${where}: expected ${expected}, got ${describeValue(bad)}`);
    return undefined;
  }
  return value as number[];
}

export function parseEditConfig(value: unknown): EditJobConfig {
  const json = configRecord(value, 'edit');
  const problems: string[] = [];
  unknownFields(json, FIELDS, 'edit', problems);
  const experiment = readChoice(json.experiment, 'edit.experiment', EXPERIMENT_IDS, problems);
  const model = readModelSource(json.model, 'edit', TRAIN, problems);
  const count = experiment ? EXPERIMENTS[experiment].layerNames.length : Number.MAX_SAFE_INTEGER;
  const layers =
    json.layers === undefined && experiment
      ? [...EXPERIMENTS[experiment].defaultLayers]
      : readNumbers(
          json.layers,
          'edit.layers',
          problems,
          (x) => Number.isInteger(x) && x >= 0 && x < count,
          `K-FAC layer positions 0–${count - 1}`,
          16,
        );
  if (layers && new Set(layers).size !== layers.length) problems.push('edit.layers: lists a layer twice');
  const rhos = readNumbers(json.rhos, 'edit.rhos', problems, (x) => x > 0 && x <= 1, 'keep-mass values in (0, 1]', MAX_EDIT_RHOS);
  const seed = readInteger(json.seed, 'edit.seed', 0, 2 ** 31 - 1, problems, 1);
  if (problems.length > 0 || !experiment || !model || !layers || !rhos || seed === undefined) throw new JobConfigError(problems);
  const grid = [...new Set([...rhos, 1])].sort((a, b) => a - b);
  return { experiment, model, layers, rhos: grid, seed };
}

export const editJob: JobDefinition<EditJobConfig, EditJobResult> = {
  kind: 'edit',
  about:
    'memorisation editing: train (or load) the experiment’s model, edit chosen layers in the K-FAC eigenbasis at every ρ, with SVD and rectangle baselines',
  parseConfig: parseEditConfig,
  async run(config, { backend, signal, progress }) {
    const definition = EXPERIMENTS[config.experiment];
    progress({ stage: 'loading the data', done: 0, total: 1 });
    const checkpoint = sourceCheckpoint(
      config.model,
      'edit',
      definition.baseTask,
      `but ${config.experiment} uses the model of "${definition.baseTask}"`,
    );
    const placed = await placeExperiment(config.experiment, backend);
    let model: Module | null = null;
    try {
      let bytes: Uint8Array | null = null;
      let steps: number;
      if (checkpoint) {
        model = modelFromCheckpoint(placed, checkpoint, { task: definition.baseTask });
        steps = checkpoint.step;
      } else {
        steps = config.model.kind === 'train' ? config.model.steps : definition.training.steps;
        const trained = await trainExperimentModel(placed, config.seed, {
          steps,
          signal,
          onStep: (step, loss) => {
            if (step % 5 === 4 || step + 1 === steps) progress({ stage: 'training', done: step + 1, total: steps, values: { loss } });
          },
        });
        model = trained.model;
        bytes = await encodeModel(model, {
          task: definition.baseTask,
          seed: config.seed,
          step: steps,
          origin: { optimizer: definition.training.optimizer, label: `${config.experiment} (${definition.training.optimizer})` },
        });
      }
      const sweep = await runEditSweep({
        experiment: config.experiment,
        backend,
        seed: config.seed,
        rhos: config.rhos,
        layers: config.layers,
        model,
        signal,
        onProgress: (p) => progress({ stage: p.stage, done: p.done, total: p.total }),
      });
      return {
        result: {
          experiment: config.experiment,
          model: {
            kind: config.model.kind,
            steps,
            seed: checkpoint ? checkpoint.seed : config.seed,
            origin: checkpoint ? checkpointOrigin(checkpoint) : null,
          },
          checkpoint: bytes,
          sweep,
          device: deviceOf(backend).summary,
        },
        transfer: bytes ? [bytes.buffer] : [],
      };
    } catch (e) {
      throw signal.aborted ? new JobCancelledError() : e;
    } finally {
      model?.dispose();
    }
  },
};
