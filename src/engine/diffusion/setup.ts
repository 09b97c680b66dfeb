// One diffusion experiment's settings and the model they build (docs/curvature-tools.md §3): the
// point cloud, the denoiser, the schedule and the training run, with the lab's defaults. The page's
// job, the benchmark's retrainings and the tests all start from here, so "the 2-D diffusion model"
// means the same thing everywhere.
import type { Backend } from '../backend/backend.ts';
import type { Activation } from '../nn/layers.ts';
import { MlpDenoiser } from './denoiser.ts';
import { pointCloud, type PointCloudId } from './point-cloud.ts';
import { makeSchedule, type NoiseSchedule } from './schedule.ts';
import { trainDenoiser } from './train.ts';

export interface DiffusionSetup {
  cloud: PointCloudId;
  /** Training points N. */
  points: number;
  /** Seeds the point cloud. */
  dataSeed: number;
  hidden: number[];
  embedDim: number;
  activation: Activation;
  /** Diffusion steps T (linear β from 1e-4 to 0.1 at T = 100; betaEnd scales as 10/T so ᾱ_T stays ≈ e⁻⁵). */
  diffusionSteps: number;
  trainSteps: number;
  batchSize: number;
  lr: number;
}

export const DEFAULT_DIFFUSION_SETUP: Readonly<DiffusionSetup> = {
  cloud: 'spirals',
  points: 256,
  dataSeed: 1,
  hidden: [64, 64],
  embedDim: 16,
  activation: 'relu',
  diffusionSteps: 100,
  trainSteps: 1500,
  batchSize: 64,
  lr: 3e-3,
};

export function diffusionSchedule(setup: Pick<DiffusionSetup, 'diffusionSteps'>): NoiseSchedule {
  const T = setup.diffusionSteps;
  return makeSchedule({ steps: T, kind: 'linear', betaStart: 1e-4, betaEnd: Math.min(0.5, 10 / T) });
}

export function diffusionPoints(setup: Pick<DiffusionSetup, 'cloud' | 'points' | 'dataSeed'>): Float32Array {
  return pointCloud({ id: setup.cloud, count: setup.points, seed: setup.dataSeed });
}

export function buildDenoiser(backend: Backend, setup: DiffusionSetup, seed: number, precision?: 'float32' | 'float64'): MlpDenoiser {
  return new MlpDenoiser({ backend, seed, precision }, { hidden: setup.hidden, embedDim: setup.embedDim, activation: setup.activation });
}

export interface TrainedDiffusion {
  model: MlpDenoiser;
  schedule: NoiseSchedule;
  points: Float32Array;
  losses: number[];
  ms: number;
}

/**
 * A fresh denoiser of `seed` trained on the setup's points (or the subset `examples`); the seed
 * also orders the batches and draws the training (t, ε). The caller disposes the model.
 */
export async function trainDiffusion(
  backend: Backend,
  setup: DiffusionSetup,
  options: {
    seed: number;
    examples?: Int32Array;
    points?: Float32Array;
    signal?: AbortSignal;
    onStep?: (step: number, loss: number) => void | Promise<void>;
  },
): Promise<TrainedDiffusion> {
  const schedule = diffusionSchedule(setup);
  const points = options.points ?? diffusionPoints(setup);
  const model = buildDenoiser(backend, setup, options.seed);
  try {
    const { losses, ms } = await trainDenoiser({
      model,
      schedule,
      points,
      examples: options.examples,
      steps: setup.trainSteps,
      batchSize: setup.batchSize,
      lr: setup.lr,
      seed: options.seed,
      signal: options.signal,
      onStep: options.onStep,
    });
    return { model, schedule, points, losses, ms };
  } catch (e) {
    model.dispose();
    throw e;
  }
}
