// Influence of training points on generated samples (docs/curvature-tools.md §3, diffusion models;
// Mlodozeniec et al.): score(q, n) = ∇m_qᵀ (H + λI)⁻¹ ∇ℓ_n, where
//   ℓ_n  = training point n's diffusion loss over its R fixed (t, ε) draws (summed, no c),
//   m_q  = the same loss of generated sample q over its own fixed draws ('loss', the seed's
//          measurement), or its ELBO-weighted version ('elbo', the training-free proxy: each draw's
//          squared error times w_t, so m_q is the θ-dependent part of the sample's −ELBO up to T/R),
//   H    = the GGN of the mean training loss over the training draws: K-FAC-expand over the draws
//          (one point = one example with R positions), EK-FAC in its eigenbasis, or the dense GGN.
// The scorer is the influence tool's (src/engine/tools/influence: influenceScores); this module only
// builds the data sets and fits the curvature once for every method asked for.
import { fitCurvature, fitEkfac, type EkfacCurvature, type KroneckerCurvature } from '../curvature/toolkit.ts';
import { influenceScores, meanCurvatureEigenvalue, type InfluenceMethod } from '../tools/influence/index.ts';
import { POINT_DIM, type MlpDenoiser } from './denoiser.ts';
import { drawLosses } from './draw-loss.ts';
import { drawLossData, fixedDraws, type Draws, type LossWeighting } from './draws.ts';
import type { NoiseSchedule } from './schedule.ts';

/** What a sample's influence is measured on. */
export type DiffusionMeasurement = 'loss' | 'elbo';

export const DIFFUSION_MEASUREMENTS: readonly DiffusionMeasurement[] = ['loss', 'elbo'];

export function measurementWeighting(measurement: DiffusionMeasurement): LossWeighting {
  return measurement === 'elbo' ? 'elbo' : 'simple';
}

export interface DiffusionDrawSettings {
  /**
   * R: fixed (t, ε) draws per training point (default 64: with 16 the per-point gradients are noisy
   * enough to hide what the curvature adds; see bench/influence-diffusion.ts).
   */
  trainDraws?: number;
  /** Fixed draws per generated sample (default 64). */
  queryDraws?: number;
  /** Seeds the fixed draws (default 0). */
  drawSeed?: number;
}

/** The fixed draws of the training points and of the samples (distinct streams of one seed). */
export function influenceDraws(
  schedule: NoiseSchedule,
  trainCount: number,
  queryCount: number,
  settings: DiffusionDrawSettings = {},
): { train: Draws; queries: Draws } {
  const seed = settings.drawSeed ?? 0;
  return {
    train: fixedDraws({ seed, examples: trainCount, draws: settings.trainDraws ?? 64, steps: schedule.steps }),
    queries: fixedDraws({ seed: seed + 0x51, examples: queryCount, draws: settings.queryDraws ?? 64, steps: schedule.steps }),
  };
}

/** Progress of diffusionInfluence: the stage in words and its own count. */
export interface DiffusionProgress {
  stage: string;
  done: number;
  total: number;
}

export interface DiffusionInfluenceOptions extends DiffusionDrawSettings {
  model: MlpDenoiser;
  schedule: NoiseSchedule;
  /** Training points [N, 2]. */
  points: Float32Array;
  /** Generated samples (the queries) [Q, 2]. */
  samples: Float32Array;
  methods: readonly InfluenceMethod[];
  /**
   * λ relative to the mean eigenvalue of the K-FAC curvature (default 10: the LDS pilot's best for
   * K-FAC and EK-FAC, bench/influence-diffusion.ts); see `damping`.
   */
  relativeDamping?: number;
  /** λ absolute (overrides relativeDamping). */
  damping?: number;
  /** Default 'loss'. */
  measurement?: DiffusionMeasurement;
  /** Points per batch (default 64). */
  batchSize?: number;
  signal?: AbortSignal;
  onProgress?: (p: DiffusionProgress) => void;
}

export interface DiffusionMethodScores {
  method: InfluenceMethod;
  /** [Q·N] row-major: scores[q·N + n] (positive: n helped sample q, removing it would raise q's loss). */
  scores: Float64Array;
  /** This method's own curvature fit (K-FAC factors for kfac; + Λ for ekfac; dense GGN for ggn), s. */
  fitSeconds: number;
  scoreSeconds: number;
}

export interface DiffusionInfluenceResult {
  queries: number;
  examples: number;
  measurement: DiffusionMeasurement;
  /** λ used (absolute) and the K-FAC mean eigenvalue it was scaled from (null when given absolutely). */
  damping: number;
  meanEigenvalue: number | null;
  trainDraws: number;
  queryDraws: number;
  /** Each sample's measurement averaged over its draws. */
  queryLoss: Float64Array;
  methods: DiffusionMethodScores[];
}

/** Scores of every training point for every sample under each method; the K-FAC (and Λ) fit is shared. */
export async function diffusionInfluence(options: DiffusionInfluenceOptions): Promise<DiffusionInfluenceResult> {
  const { model, schedule, points, samples } = options;
  if (options.methods.length === 0) throw new Error('diffusionInfluence: no methods');
  if (points.length % POINT_DIM !== 0 || samples.length % POINT_DIM !== 0 || samples.length === 0)
    throw new Error('diffusionInfluence: points and samples must be non-empty [n, 2] arrays');
  const N = points.length / POINT_DIM;
  const Q = samples.length / POINT_DIM;
  const measurement = options.measurement ?? 'loss';
  const batchSize = options.batchSize ?? 64;
  const draws = influenceDraws(schedule, N, Q, options);
  const train = drawLossData({ model, schedule, points, draws: draws.train, batchSize });
  const queries = drawLossData({
    model,
    schedule,
    points: samples,
    draws: draws.queries,
    batchSize,
    weighting: measurementWeighting(measurement),
    reduction: 'sum',
  });
  const fitOptions = { approx: 'expand', setting: 'expand', fisher: 'type-2', bias: 'folded' } as const;
  const control = { signal: options.signal };
  const report = (stage: string) => (p: { done: number; total: number }) => options.onProgress?.({ stage, done: p.done, total: p.total });

  let curvature: KroneckerCurvature | null = null;
  let ekfac: EkfacCurvature | null = null;
  try {
    curvature = await fitCurvature(model, train, { ...fitOptions, ...control, onProgress: report('K-FAC factors over the draws') });
    const kfacFit = curvature.fitMs / 1000;
    const meanEigenvalue = options.damping === undefined ? await meanCurvatureEigenvalue(curvature) : null;
    const damping = options.damping ?? (options.relativeDamping ?? 10) * (meanEigenvalue as number);
    if (!(damping > 0 && Number.isFinite(damping))) throw new Error(`diffusionInfluence: damping must be > 0, got ${damping}`);
    let ekfacFit = 0;
    if (options.methods.includes('ekfac')) {
      ekfac = await fitEkfac(curvature, model, train, { ...control, onProgress: report('EK-FAC eigenvalues') });
      ekfacFit = ekfac.fitMs / 1000;
    }
    const methods: DiffusionMethodScores[] = [];
    for (const method of options.methods) {
      const result = await influenceScores({
        model,
        train,
        queries,
        method,
        damping,
        ...fitOptions,
        ...control,
        onProgress: (p) =>
          options.onProgress?.({
            stage: `${method}: ${p.phase === 'scores' ? 'scoring the training points' : p.phase}`,
            done: p.done,
            total: p.total,
          }),
        ...(method === 'kfac' || method === 'ekfac' ? { curvature } : {}),
        ...(method === 'ekfac' && ekfac ? { ekfac } : {}),
      });
      const fitSeconds = method === 'kfac' ? kfacFit : method === 'ekfac' ? kfacFit + ekfacFit : result.fitSeconds;
      methods.push({ method, scores: result.scores, fitSeconds, scoreSeconds: result.scoreSeconds });
    }
    const queryLoss = await drawLosses(model, schedule, samples, draws.queries, { weighting: measurementWeighting(measurement) });
    return {
      queries: Q,
      examples: N,
      measurement,
      damping,
      meanEigenvalue,
      trainDraws: draws.train.draws,
      queryDraws: draws.queries.draws,
      queryLoss,
      methods,
    };
  } finally {
    ekfac?.dispose();
    curvature?.dispose();
  }
}
