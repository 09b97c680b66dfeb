// The Laplace log marginal likelihood of docs/curvature-tools.md §2 from a fitted Kronecker Laplace
// approximation's spectrum, its gradient with respect to the log hyperparameters, and the K Adam
// steps on them of the online algorithm (Immer et al. 2021). Pure host arithmetic in float64: once
// the factors' eigenvalues are known, every quantity here is a sum over them.
//
//   log q(D|δ, σ) = log p(D|θ) − ½ [ log det P − log det P₀ + Σ_l δ_l ‖θ_l‖² ]
//   P_l = s·(G ⊗ A) + δ_l I,    log det P_l = Σ_ij log(s κ_i μ_j + δ_l)  (+ Σ_i log(s κ_i + δ_l), separate bias)
//   log det P₀ = Σ_l n_l log δ_l
//
// s turns the fitted curvature (of the loss as its batches reduce it, factor c) into the GGN of
// −log p: s = 1/c for cross-entropy, s = 1/(2σ² c) for the squared error (whose Hessian is 2I).

/** 'classification': softmax cross-entropy; 'regression': Gaussian with a learned noise σ (squared error). */
export type Likelihood = 'classification' | 'regression';

/** One K-FAC layer of a Laplace approximation, as the marginal likelihood needs it. */
export interface LaplaceLayerSpectrum {
  /** Position among the model's K-FAC layers. */
  index: number;
  name: string;
  /** Parameters n_l of the layer covered by the prior (weight, and bias when the layer has one). */
  params: number;
  /** κ_i μ_j of the fitted G ⊗ A (row-major [dOut, width]); with the bias folded, width = dIn + 1. */
  weightSpectrum: Float64Array;
  /** κ_i of a separate bias block G ⊗ [1]; null when the bias is folded or absent. */
  biasSpectrum: Float64Array | null;
  /** ‖θ_l‖² of the layer's parameters at the Laplace point. */
  squaredNorm: number;
}

/** What log q needs of a fitted approximation, all on the host. */
export interface LaplaceSpectrum {
  likelihood: Likelihood;
  layers: LaplaceLayerSpectrum[];
  /** 1/c of the fitted curvature: times it, the curvature of the summed loss Σ_m ℓ_m. */
  curvatureScale: number;
  /** Σ_m ℓ_m over the data: cross-entropy summed, or the squared error summed over all outputs. */
  lossSum: number;
  /** Regression: the number of outputs M·C (the Gaussian's normaliser); classification: unused. */
  outputs: number;
}

/** The hyperparameters: a prior precision δ_l per layer and, for regression, the noise σ. */
export interface MarglikHyper {
  precision: number[];
  /** Regression only (default 1). */
  sigma?: number;
}

export interface MarglikTerms {
  logMarglik: number;
  logLik: number;
  /** log det P (all layers). */
  logDetPosterior: number;
  /** log det P₀ = Σ_l n_l log δ_l. */
  logDetPrior: number;
  /** Σ_l δ_l ‖θ_l‖². */
  scatter: number;
  layers: { index: number; params: number; logDet: number }[];
}

/** ∂ log q / ∂ log δ_l and ∂ log q / ∂ log σ (0 for classification). */
export interface MarglikGradient {
  logPrecision: number[];
  logSigma: number;
}

/** s of the file comment: the factor from the fitted curvature to the GGN of −log p. */
export function hessianScale(spectrum: LaplaceSpectrum, sigma = 1): number {
  return spectrum.likelihood === 'regression' ? spectrum.curvatureScale / (2 * sigma * sigma) : spectrum.curvatureScale;
}

/** log p(D|θ) of the spectrum's likelihood. */
export function logLikelihood(spectrum: LaplaceSpectrum, sigma = 1): number {
  if (spectrum.likelihood === 'classification') return -spectrum.lossSum;
  return -spectrum.lossSum / (2 * sigma * sigma) - (spectrum.outputs / 2) * Math.log(2 * Math.PI * sigma * sigma);
}

/** The precision of each layer: one number for all, or one per layer. */
export function layerPrecisions(precision: number | readonly number[], layers: number): number[] {
  const list = typeof precision === 'number' ? Array.from({ length: layers }, () => precision) : [...precision];
  if (list.length !== layers) throw new Error(`marglik: ${list.length} prior precisions for ${layers} K-FAC layers`);
  for (const d of list) if (!(d > 0) || !Number.isFinite(d)) throw new Error(`marglik: prior precisions must be finite and > 0, got ${d}`);
  return list;
}

function checkHyper(spectrum: LaplaceSpectrum, hyper: MarglikHyper): { precision: number[]; sigma: number } {
  const precision = layerPrecisions(hyper.precision, spectrum.layers.length);
  const sigma = hyper.sigma ?? 1;
  if (!(sigma > 0) || !Number.isFinite(sigma)) throw new Error(`marglik: sigma must be finite and > 0, got ${sigma}`);
  return { precision, sigma };
}

/** log q and its parts (docs/curvature-tools.md §2) at the hyperparameters. */
export function logMarginalLikelihood(spectrum: LaplaceSpectrum, hyper: MarglikHyper): MarglikTerms {
  const { precision, sigma } = checkHyper(spectrum, hyper);
  const s = hessianScale(spectrum, sigma);
  const logLik = logLikelihood(spectrum, sigma);
  let logDetPosterior = 0;
  let logDetPrior = 0;
  let scatter = 0;
  const layers = spectrum.layers.map((l, k) => {
    const delta = precision[k];
    let logDet = 0;
    for (const d of l.weightSpectrum) logDet += Math.log(s * Math.max(0, d) + delta);
    if (l.biasSpectrum) for (const d of l.biasSpectrum) logDet += Math.log(s * Math.max(0, d) + delta);
    logDetPosterior += logDet;
    logDetPrior += l.params * Math.log(delta);
    scatter += delta * l.squaredNorm;
    return { index: l.index, params: l.params, logDet };
  });
  const logMarglik = logLik - 0.5 * (logDetPosterior - logDetPrior + scatter);
  return { logMarglik, logLik, logDetPosterior, logDetPrior, scatter, layers };
}

/**
 * The analytic gradient of log q with respect to log δ_l and log σ:
 * ∂/∂log δ_l = −½ δ_l [Σ 1/(s d + δ_l) − n_l/δ_l + ‖θ_l‖²];
 * ∂/∂log σ = SSE/σ² − M C + Σ_l Σ s d/(s d + δ_l)   (s ∝ σ⁻², so ∂s/∂log σ = −2s).
 */
export function marglikGradient(spectrum: LaplaceSpectrum, hyper: MarglikHyper): MarglikGradient {
  const { precision, sigma } = checkHyper(spectrum, hyper);
  const s = hessianScale(spectrum, sigma);
  let explained = 0; // Σ s d / (s d + δ): the effective number of parameters the data determine
  const logPrecision = spectrum.layers.map((l, k) => {
    const delta = precision[k];
    let trace = 0;
    const visit = (values: Float64Array) => {
      for (const d of values) {
        const sd = s * Math.max(0, d);
        trace += 1 / (sd + delta);
        explained += sd / (sd + delta);
      }
    };
    visit(l.weightSpectrum);
    if (l.biasSpectrum) visit(l.biasSpectrum);
    return -0.5 * delta * (trace - l.params / delta + l.squaredNorm);
  });
  const logSigma = spectrum.likelihood === 'regression' ? spectrum.lossSum / (sigma * sigma) - spectrum.outputs + explained : 0;
  return { logPrecision, logSigma };
}

export interface HyperStepOptions {
  /** Adam steps K (default 10). */
  steps?: number;
  /** Adam's learning rate on the log hyperparameters (default 0.1). */
  lr?: number;
  /** Learn σ too (regression only; default true for regression). */
  learnSigma?: boolean;
}

/**
 * Adam's state on the log hyperparameters, carried across the online algorithm's Laplace fits (as
 * one optimizer over the whole run, Immer et al. 2021).
 */
export class HyperAdam {
  private m: number[] = [];
  private v: number[] = [];
  private t = 0;

  constructor(
    private readonly lr = 0.1,
    private readonly beta1 = 0.9,
    private readonly beta2 = 0.999,
    private readonly eps = 1e-8,
  ) {}

  /** One ascent step on x (in place) along the gradient g. */
  ascend(x: number[], g: readonly number[]): void {
    if (this.m.length !== x.length) {
      this.m = x.map(() => 0);
      this.v = x.map(() => 0);
      this.t = 0;
    }
    this.t++;
    const c1 = 1 - this.beta1 ** this.t;
    const c2 = 1 - this.beta2 ** this.t;
    for (let i = 0; i < x.length; i++) {
      this.m[i] = this.beta1 * this.m[i] + (1 - this.beta1) * g[i];
      this.v[i] = this.beta2 * this.v[i] + (1 - this.beta2) * g[i] * g[i];
      x[i] += (this.lr * (this.m[i] / c1)) / (Math.sqrt(this.v[i] / c2) + this.eps);
    }
  }
}

/**
 * K Adam steps maximising log q over log δ_l (and log σ) with θ and the factors fixed. Returns the
 * new hyperparameters and log q after the last step.
 */
export function optimizeHyperparameters(
  spectrum: LaplaceSpectrum,
  hyper: MarglikHyper,
  options: HyperStepOptions = {},
  adam: HyperAdam = new HyperAdam(options.lr ?? 0.1),
): { hyper: MarglikHyper; terms: MarglikTerms } {
  const { precision, sigma } = checkHyper(spectrum, hyper);
  const learnSigma = spectrum.likelihood === 'regression' && (options.learnSigma ?? true);
  const x = [...precision.map(Math.log), ...(learnSigma ? [Math.log(sigma)] : [])];
  const current = (): MarglikHyper => ({
    precision: x.slice(0, precision.length).map(Math.exp),
    sigma: learnSigma ? Math.exp(x[precision.length]) : sigma,
  });
  const steps = options.steps ?? 10;
  for (let k = 0; k < steps; k++) {
    const g = marglikGradient(spectrum, current());
    adam.ascend(x, learnSigma ? [...g.logPrecision, g.logSigma] : g.logPrecision);
  }
  const next = current();
  return { hyper: next, terms: logMarginalLikelihood(spectrum, next) };
}
