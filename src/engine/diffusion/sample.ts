// Ancestral DDPM sampling (Ho et al. 2020, Algorithm 2; docs/curvature-tools.md §3): x_T ~ N(0, I),
// then for t = T..1, x_{t−1} = μ_θ(x_t, t) + σ_t z with z ~ N(0, I) (z = 0 at t = 1), μ_θ from the
// predicted noise (schedule.ts: meanFromEpsilon). Seeded: the same model and seed give the same
// samples on any backend up to float rounding. One forward pass of all samples per step.
import { constant, noGrad } from '../autograd/variable.ts';
import { streamRng } from '../data/common.ts';
import { readAndDispose, scope } from '../tensor.ts';
import { throwIfAborted, yieldToEventLoop } from '../curvature/data.ts';
import { POINT_DIM, writeTimeEmbedding, type MlpDenoiser } from './denoiser.ts';
import { meanFromEpsilon, posterior, type NoiseSchedule } from './schedule.ts';

/** σ_t² = β_t ('beta', the ELBO's choice) or the posterior variance β̃_t ('posterior'). */
export type SamplerVariance = 'beta' | 'posterior';

export interface SampleOptions {
  count: number;
  seed: number;
  variance?: SamplerVariance;
  /** Keep x_t at these steps (e.g. [T, T/2, 0]); 0 is the final sample. */
  keepSteps?: readonly number[];
  signal?: AbortSignal;
  onStep?: (done: number, total: number) => void;
}

export interface SampleResult {
  /** x_0 [count, 2]. */
  points: Float32Array;
  /** x_t at each kept step. */
  trajectory: { step: number; points: Float32Array }[];
}

const SAMPLER_STREAM = 0x5a3b;

export async function sampleDdpm(model: MlpDenoiser, schedule: NoiseSchedule, options: SampleOptions): Promise<SampleResult> {
  const { count, seed } = options;
  if (!(Number.isInteger(count) && count >= 1 && count <= 100_000))
    throw new Error(`sampleDdpm: count must be a whole number from 1 to 100000, got ${count}`);
  const variance = options.variance ?? 'beta';
  const rng = streamRng(seed, SAMPLER_STREAM);
  const keep = new Set(options.keepSteps ?? []);
  const trajectory: SampleResult['trajectory'] = [];
  let x = new Float64Array(count * POINT_DIM);
  for (let i = 0; i < x.length; i++) x[i] = rng.normal();
  const T = schedule.steps;
  if (keep.has(T)) trajectory.push({ step: T, points: Float32Array.from(x) });
  const width = model.inputDim;
  const inputs = new Float32Array(count * width);
  const embedding = new Float32Array(model.config.embedDim);
  const be = model.backend;
  for (let t = T; t >= 1; t--) {
    throwIfAborted(options.signal, 'sampleDdpm');
    writeTimeEmbedding(t, model.config.embedDim, embedding);
    for (let n = 0; n < count; n++) {
      inputs[n * width] = x[n * POINT_DIM];
      inputs[n * width + 1] = x[n * POINT_DIM + 1];
      inputs.set(embedding, n * width + POINT_DIM);
    }
    const eps = await readAndDispose(
      scope(() => noGrad(() => model.forward(constant(be.tensor(inputs, [count, 1, width], model.precision))).value)),
    );
    const { onXt, onEps } = meanFromEpsilon(schedule, t);
    const sigma = t > 1 ? Math.sqrt(variance === 'beta' ? schedule.betas[t - 1] : posterior(schedule, t).variance) : 0;
    const next = new Float64Array(x.length);
    for (let i = 0; i < x.length; i++) next[i] = onXt * x[i] + onEps * eps[i] + (sigma > 0 ? sigma * rng.normal() : 0);
    x = next;
    if (keep.has(t - 1)) trajectory.push({ step: t - 1, points: Float32Array.from(x) });
    options.onStep?.(T - t + 1, T);
    if (options.signal) await yieldToEventLoop();
  }
  return { points: Float32Array.from(x), trajectory };
}
