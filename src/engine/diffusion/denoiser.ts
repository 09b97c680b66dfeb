// The denoiser ε_θ(x_t, t) of the 2-D diffusion model (docs/curvature-tools.md §3): an MLP on the
// noisy point x_t concatenated with a sinusoidal embedding of t, applied at every (t, ε) draw of an
// example. Inputs are [N, R, 2 + embedDim] (N training points, R draws each), so every Linear sees R
// shared positions per example and K-FAC of the per-draw loss is K-FAC-expand (docs/kfac.md §1-§2):
// one training point = one example with R draws, each draw one loss term.
import type { Variable } from '../autograd/variable.ts';
import { activate, type Activation } from '../nn/layers.ts';
import { Linear } from '../nn/linear.ts';
import { Module, type LayerContext } from '../nn/module.ts';

/** Dimension of the data points. */
export const POINT_DIM = 2;

export interface DenoiserConfig {
  /** Hidden widths (default [64, 64]); [] makes a linear denoiser (the K-FAC oracle's model). */
  hidden?: readonly number[];
  /** Sinusoidal embedding size, even (default 16). */
  embedDim?: number;
  /** Default 'relu'. */
  activation?: Activation;
}

/** The configuration with its defaults filled in (what a checkpoint or a job records). */
export interface ResolvedDenoiserConfig {
  hidden: number[];
  embedDim: number;
  activation: Activation;
}

export function resolveDenoiserConfig(config: DenoiserConfig = {}): ResolvedDenoiserConfig {
  const hidden = [...(config.hidden ?? [64, 64])];
  const embedDim = config.embedDim ?? 16;
  if (!(Number.isInteger(embedDim) && embedDim >= 0 && embedDim % 2 === 0 && embedDim <= 256))
    throw new Error(`denoiser: embedDim must be an even whole number from 0 to 256, got ${embedDim}`);
  for (const h of hidden)
    if (!(Number.isInteger(h) && h >= 1 && h <= 1024))
      throw new Error(`denoiser: hidden widths must be whole numbers from 1 to 1024, got ${h}`);
  return { hidden, embedDim, activation: config.activation ?? 'relu' };
}

/**
 * The sinusoidal embedding of step t (Vaswani et al.; Ho et al.): [sin(t ω_k), cos(t ω_k)] for
 * ω_k = 10000^(−k/half), k < half = dim/2, written into `out` at `offset`.
 */
export function writeTimeEmbedding(t: number, dim: number, out: Float32Array | Float64Array, offset = 0): void {
  const half = dim / 2;
  for (let k = 0; k < half; k++) {
    const omega = Math.pow(10000, -k / half);
    out[offset + k] = Math.sin(t * omega);
    out[offset + half + k] = Math.cos(t * omega);
  }
}

export function timeEmbedding(t: number, dim: number): Float64Array {
  const out = new Float64Array(dim);
  writeTimeEmbedding(t, dim, out);
  return out;
}

export class MlpDenoiser extends Module {
  readonly config: ResolvedDenoiserConfig;
  readonly layers: Linear[] = [];
  /** Width of one input row: the point and its step's embedding. */
  readonly inputDim: number;

  constructor(ctx: LayerContext, config: DenoiserConfig = {}) {
    super(ctx);
    this.config = resolveDenoiserConfig(config);
    this.inputDim = POINT_DIM + this.config.embedDim;
    const widths = [this.inputDim, ...this.config.hidden, POINT_DIM];
    for (let i = 0; i + 1 < widths.length; i++) {
      this.layers.push(this.addModule(`fc${i}`, new Linear(ctx, `fc${i}`, widths[i], widths[i + 1], { sharedDims: ['draws'] })));
    }
  }

  /** input [N, R, 2 + embedDim] (x_t, emb(t)) → ε̂ [N, R, 2]. */
  forward(input: Variable): Variable {
    if (input.rank !== 3 || input.shape[2] !== this.inputDim)
      throw new Error(`MlpDenoiser: expected inputs [N, R, ${this.inputDim}], got [${input.shape.join(', ')}]`);
    let h = input;
    this.layers.forEach((layer, i) => {
      h = layer.forward(h);
      if (i + 1 < this.layers.length) h = activate(this.config.activation, h);
    });
    return h;
  }
}

/** Parameters of a denoiser of this configuration: Σ (d_i + 1) d_{i+1}. */
export function denoiserParameterCount(config: DenoiserConfig = {}): number {
  const c = resolveDenoiserConfig(config);
  const widths = [POINT_DIM + c.embedDim, ...c.hidden, POINT_DIM];
  let n = 0;
  for (let i = 0; i + 1 < widths.length; i++) n += (widths[i] + 1) * widths[i + 1];
  return n;
}
