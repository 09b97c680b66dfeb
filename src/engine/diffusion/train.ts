// Training the denoiser (docs/curvature-tools.md §3): Ho et al.'s simple loss
// E_{x_0, t, ε} ‖ε − ε_θ(√ᾱ_t x_0 + √(1−ᾱ_t) ε, t)‖², minimised with the lab's shared training loop
// (src/engine/lab/train-model.ts: trainModel) on batches that draw fresh (t, ε) per point from a
// seeded stream (draws.ts: trainingBatches). Retraining on a subset (the LDS) is the same call with
// `examples`.
import { trainModel, type TrainModelResult } from '../lab/train-model.ts';
import type { OptimizerId } from '../optim/schema.ts';
import type { MlpDenoiser } from './denoiser.ts';
import { trainingBatches } from './draws.ts';
import type { NoiseSchedule } from './schedule.ts';

export interface TrainDenoiserOptions {
  model: MlpDenoiser;
  schedule: NoiseSchedule;
  /** All training points [N, 2]. */
  points: Float32Array;
  /** Which points to train on (default all). */
  examples?: Int32Array;
  steps: number;
  batchSize: number;
  /** Seeds the batch order and the (t, ε) draws. */
  seed: number;
  /** Default 'adam'. */
  optimizer?: OptimizerId;
  /** Default 3e-3 (Adam), cosine-decayed to 10 % over the run. */
  lr?: number;
  /** (t, ε) draws per point per step (default 1). */
  drawsPerPoint?: number;
  signal?: AbortSignal;
  onStep?: (step: number, loss: number) => void | Promise<void>;
}

export function trainDenoiser(options: TrainDenoiserOptions): Promise<TrainModelResult> {
  const { model, schedule, points, steps, seed } = options;
  const count = points.length / 2;
  return trainModel({
    model,
    batch: trainingBatches({ model, schedule, points, seed, draws: options.drawsPerPoint }),
    examples: options.examples ?? count,
    batchSize: options.batchSize,
    steps,
    seed,
    optimizer: options.optimizer ?? 'adam',
    hyper: { lr: options.lr ?? 3e-3 },
    schedule: { kind: 'cosine', totalSteps: Math.max(1, steps), finalFraction: 0.1 },
    signal: options.signal,
    onStep: options.onStep,
  });
}
