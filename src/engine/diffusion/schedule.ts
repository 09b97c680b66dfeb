// The DDPM noise schedule (Ho et al. 2020; docs/curvature-tools.md §3, diffusion models): a variance
// schedule β_1..β_T, α_t = 1 − β_t, ᾱ_t = Π_{s ≤ t} α_s, and the closed forms the model, its
// training, its sampler and its ELBO use. Time steps are 1-based (t = 1..T), arrays 0-based (index t − 1).
//
//   forward process   q(x_t | x_0)        = N(√ᾱ_t x_0, (1 − ᾱ_t) I)
//   posterior         q(x_{t−1} | x_t, x_0) = N(c0 x_0 + ct x_t, β̃_t I),
//                     c0 = √ᾱ_{t−1} β_t / (1 − ᾱ_t),  ct = √α_t (1 − ᾱ_{t−1}) / (1 − ᾱ_t),
//                     β̃_t = (1 − ᾱ_{t−1}) β_t / (1 − ᾱ_t)   (ᾱ_0 = 1)
//   model mean        μ_θ(x_t, t) = (x_t − β_t / √(1 − ᾱ_t) · ε_θ(x_t, t)) / √α_t
//   ELBO term         L_{t−1} = w_t ‖ε − ε_θ(x_t, t)‖² + const,  w_t = β_t² / (2 σ_t² α_t (1 − ᾱ_t)),
//                     with the sampler's σ_t² = β_t: w_t = β_t / (2 α_t (1 − ᾱ_t)).

export type ScheduleKind = 'linear' | 'cosine';

export interface ScheduleOptions {
  /** T, the number of diffusion steps (default 100). */
  steps?: number;
  /** 'linear' β from betaStart to betaEnd (default), or Nichol & Dhariwal's 'cosine' ᾱ. */
  kind?: ScheduleKind;
  /** Linear schedule's β_1 (default 1e-4). */
  betaStart?: number;
  /** Linear schedule's β_T (default 0.1: with T = 100, √ᾱ_T ≈ 0.08, close enough to pure noise for data of radius 1). */
  betaEnd?: number;
}

export interface NoiseSchedule {
  readonly steps: number;
  readonly kind: ScheduleKind;
  /** β_t at index t − 1. */
  readonly betas: Float64Array;
  readonly alphas: Float64Array;
  readonly alphaBars: Float64Array;
}

export function makeSchedule(options: ScheduleOptions = {}): NoiseSchedule {
  const steps = options.steps ?? 100;
  const kind = options.kind ?? 'linear';
  if (!(Number.isInteger(steps) && steps >= 1 && steps <= 10_000))
    throw new Error(`makeSchedule: steps must be a whole number from 1 to 10000, got ${steps}`);
  const betas = new Float64Array(steps);
  if (kind === 'linear') {
    const start = options.betaStart ?? 1e-4;
    const end = options.betaEnd ?? 0.1;
    if (!(start > 0 && end > 0 && start < 1 && end < 1))
      throw new Error(`makeSchedule: betaStart and betaEnd must lie in (0, 1), got ${start} and ${end}`);
    for (let i = 0; i < steps; i++) betas[i] = steps === 1 ? start : start + ((end - start) * i) / (steps - 1);
  } else if (kind === 'cosine') {
    // ᾱ(t) = f(t)/f(0), f(t) = cos²((t/T + s)/(1 + s) · π/2), s = 0.008; β clipped at 0.999 (Nichol & Dhariwal 2021).
    const s = 0.008;
    const f = (t: number) => Math.cos((((t / steps + s) / (1 + s)) * Math.PI) / 2) ** 2;
    for (let i = 0; i < steps; i++) betas[i] = Math.min(0.999, 1 - f(i + 1) / f(i));
  } else {
    throw new Error(`makeSchedule: kind must be 'linear' or 'cosine', got ${String(kind)}`);
  }
  const alphas = betas.map((b) => 1 - b);
  const alphaBars = new Float64Array(steps);
  let running = 1;
  for (let i = 0; i < steps; i++) alphaBars[i] = running *= alphas[i];
  return { steps, kind, betas, alphas, alphaBars };
}

function checkStep(s: NoiseSchedule, t: number, what: string): void {
  if (!(Number.isInteger(t) && t >= 1 && t <= s.steps)) throw new Error(`${what}: t must be a whole number from 1 to ${s.steps}, got ${t}`);
}

/** ᾱ_t, with ᾱ_0 = 1. */
export function alphaBar(s: NoiseSchedule, t: number): number {
  return t === 0 ? 1 : s.alphaBars[t - 1];
}

/** q(x_t | x_0) = N(mean · x_0, std² I). */
export function forwardMoments(s: NoiseSchedule, t: number): { mean: number; std: number } {
  checkStep(s, t, 'forwardMoments');
  const ab = s.alphaBars[t - 1];
  return { mean: Math.sqrt(ab), std: Math.sqrt(1 - ab) };
}

/** q(x_{t−1} | x_t, x_0) = N(coefX0 · x_0 + coefXt · x_t, variance · I). */
export function posterior(s: NoiseSchedule, t: number): { coefX0: number; coefXt: number; variance: number } {
  checkStep(s, t, 'posterior');
  const beta = s.betas[t - 1];
  const ab = s.alphaBars[t - 1];
  const abPrev = alphaBar(s, t - 1);
  return {
    coefX0: (Math.sqrt(abPrev) * beta) / (1 - ab),
    coefXt: (Math.sqrt(s.alphas[t - 1]) * (1 - abPrev)) / (1 - ab),
    variance: ((1 - abPrev) * beta) / (1 - ab),
  };
}

/** μ_θ = (x_t − β_t / √(1 − ᾱ_t) · ε̂) / √α_t: the coefficients (onXt, onEps) of x_t and ε̂. */
export function meanFromEpsilon(s: NoiseSchedule, t: number): { onXt: number; onEps: number } {
  checkStep(s, t, 'meanFromEpsilon');
  const beta = s.betas[t - 1];
  const rootAlpha = Math.sqrt(s.alphas[t - 1]);
  return { onXt: 1 / rootAlpha, onEps: -beta / (Math.sqrt(1 - s.alphaBars[t - 1]) * rootAlpha) };
}

/** The ELBO's weight of ‖ε − ε_θ‖² at step t with σ_t² = β_t: w_t = β_t / (2 α_t (1 − ᾱ_t)). */
export function elboWeight(s: NoiseSchedule, t: number): number {
  checkStep(s, t, 'elboWeight');
  return s.betas[t - 1] / (2 * s.alphas[t - 1] * (1 - s.alphaBars[t - 1]));
}
