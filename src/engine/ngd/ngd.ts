// Natural gradient on wide networks (docs/curvature-tools.md §7; Zhang, Martens & Grosse 2019):
// exact NGD, gradient descent at its largest stable step and K-FAC on the first layer of the
// two-layer net (two-layer.ts), on the squared loss L = (1/2n) ‖u − y‖², all from the same initial
// weights. With r = u − y the residual and K = J Jᵀ the Gram matrix:
//
//   NGD   ΔW = −η Jᵀ (K + εI)⁻¹ r           (the min-norm step of the Fisher/GGN JᵀJ/n; an n×n solve).
//         Linearised: r ← (1 − η) r, whatever K's conditioning.
//   GD    ΔW = −h Jᵀ r / n,  h = 1/λ_max(K₀/n): the largest step that contracts every mode without
//         overshoot (2/λ_max is the edge of divergence). Linearised: the slowest mode contracts
//         by 1 − λ₀/λ_max per step (λ₀ = λ_min(K₀)) — the rate depends on λ₀.
//   K-FAC (G ⊗ A + λI)⁻¹ ∇_W L with A = XᵀX/n, G = BᵀB/n, B_i = (1/√m) a ⊙ S_i, damping exact in the
//         eigenbasis (docs/kfac.md §4, eigen). G is m×m but of rank ≤ n: its eigenvectors are
//         Bᵀ U diag(nκ)^{-1/2} from B Bᵀ/n = S Sᵀ/(nm) = U diag(κ) Uᵀ, and ∇_W L = Bᵀ diag(r) X / n
//         lies in their span, so the step is the lift of an n×d matrix and never forms G.
import { hostEigh } from '../linalg/host-eigh.ts';
import type { Backend } from '../backend/backend.ts';
import type { NgdData } from './data.ts';
import { choleskySolve, gramOfColumns, norm } from './host-solve.ts';
import { TwoLayerNet, type WideActivation, type WideEvaluation } from './two-layer.ts';

export const WIDE_METHODS = ['ngd', 'gd', 'kfac'] as const;
export type WideMethod = (typeof WIDE_METHODS)[number];

export interface WideRunOptions {
  width: number;
  seed: number;
  method: WideMethod;
  /** NGD and K-FAC step size η (GD uses its own largest stable step). */
  eta: number;
  steps: number;
  activation?: WideActivation;
  /** Ridge ε of NGD's solve, relative to the mean diagonal of K (default 1e-6; 0 = the exact min-norm step, which a singular K refuses). */
  ridge?: number;
  /** K-FAC damping λ (absolute; default 1e-3). */
  kfacDamping?: number;
  /** GD's step h (default 1/λ_max(K₀/n), computed here at the initial weights). */
  gdStep?: number;
  /** Two example indices whose outputs make the output-space trajectory (default the first two). */
  pair?: [number, number];
  dtype?: 'float32' | 'float64';
  signal?: AbortSignal;
  onStep?: (step: number) => void | Promise<void>;
}

export interface WideRun {
  method: WideMethod;
  width: number;
  /** η for NGD and K-FAC; h for GD. */
  eta: number;
  /** ‖u_k − y‖ for k = 0 … steps. */
  residuals: number[];
  /** ‖r_{k+1}‖ / ‖r_k‖ per step. */
  ratios: number[];
  /** (u_i, u_j) of the pair per k = 0 … steps. */
  trajectory: [number, number][];
  /** The rate theory predicts per step: 1 − η (NGD), 1 − λ₀/λ_max·(h λ_max) (GD), none for K-FAC. */
  predictedRate: number | null;
}

/** The Gram matrix's extreme eigenvalues at the initial weights. */
export interface GramSpectrum {
  lambda0: number;
  lambdaMax: number;
}

export function gramSpectrum(gram: Float64Array, n: number): GramSpectrum {
  const { values } = hostEigh(gram, n);
  return { lambda0: values[n - 1], lambdaMax: values[0] };
}

function residualOf(e: WideEvaluation, y: Float64Array): Float64Array {
  return e.outputs.map((u, i) => u - y[i]);
}

/** M = s · diag(c) X for X [n, d]. */
function rowScaled(x: Float64Array, c: ArrayLike<number>, n: number, d: number, s: number): Float64Array {
  const m = new Float64Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) m[i * d + j] = s * c[i] * x[i * d + j];
  return m;
}

/** The K-FAC step matrix M [n, d] with ΔW = lift(M) (file comment). */
export function kfacStepMatrix(
  data: NgdData,
  e: WideEvaluation,
  r: Float64Array,
  inputBasis: { mu: Float64Array; qa: Float64Array },
  damping: number,
  eta: number,
): Float64Array {
  const { n, d, inputs: x } = data;
  const { mu, qa } = inputBasis;
  const { values: kappa, vectors: u } = hostEigh(
    e.pattern.map((p) => p / n),
    n,
  );
  // Z = diag(r) X Q_A  [n, d]
  const z = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    for (let b = 0; b < d; b++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += x[i * d + j] * qa[j * d + b];
      z[i * d + b] = r[i] * s;
    }
  }
  // C_kb = sqrt(κ_k/n) (Uᵀ Z)_kb / (κ_k μ_b + λ); then M' = U diag(1/sqrt(nκ)) C, M = −η M' Q_Aᵀ.
  const kept = kappa.map((k) => (k > 1e-12 * kappa[0] ? 1 : 0));
  const w = new Float64Array(n * d); // U diag(1/sqrt(nκ)) C
  const row = new Float64Array(d);
  for (let k = 0; k < n; k++) {
    if (!kept[k]) continue;
    row.fill(0);
    for (let i = 0; i < n; i++) {
      const uik = u[i * n + k];
      for (let b = 0; b < d; b++) row[b] += uik * z[i * d + b];
    }
    for (let b = 0; b < d; b++) row[b] *= Math.sqrt(kappa[k] / n) / (kappa[k] * mu[b] + damping) / Math.sqrt(n * kappa[k]);
    for (let i = 0; i < n; i++) {
      const uik = u[i * n + k];
      for (let b = 0; b < d; b++) w[i * d + b] += uik * row[b];
    }
  }
  const m = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      let s = 0;
      for (let b = 0; b < d; b++) s += w[i * d + b] * qa[j * d + b];
      m[i * d + j] = -eta * s;
    }
  }
  return m;
}

/** Train the two-layer net with one method from the seed's initial weights; residuals per step. */
export async function runWide(backend: Backend, data: NgdData, options: WideRunOptions): Promise<WideRun> {
  const { width, seed, method, eta, steps, signal } = options;
  if (!(eta > 0 && eta <= 2)) throw new Error(`wide net: η must be in (0, 2], got ${eta}`);
  if (!(Number.isInteger(steps) && steps >= 1)) throw new Error(`wide net: steps must be a whole number ≥ 1, got ${steps}`);
  const { n, d, inputs: x, targets: y } = data;
  const [pi, pj] = options.pair ?? [0, Math.min(1, n - 1)];
  const net = new TwoLayerNet(backend, data, { width, seed, activation: options.activation, dtype: options.dtype });
  try {
    let e = await net.evaluate();
    const { lambda0, lambdaMax } = gramSpectrum(e.gram, n);
    const h = options.gdStep ?? n / lambdaMax;
    const inputBasis = method === 'kfac' ? inputEigenbasis(data) : null;
    const meanDiagonal = e.gram.reduce((s, v, i) => (i % (n + 1) === 0 ? s + v : s), 0) / n;
    const ridge = (options.ridge ?? 1e-6) * meanDiagonal;
    let r = residualOf(e, y);
    const residuals = [norm(r)];
    const trajectory: [number, number][] = [[e.outputs[pi], e.outputs[pj]]];
    for (let k = 0; k < steps; k++) {
      if (signal?.aborted) throw new DOMException('wide-net run: cancelled', 'AbortError');
      let m: Float64Array;
      if (method === 'ngd') m = rowScaled(x, choleskySolve(e.gram, n, r, ridge), n, d, -eta);
      else if (method === 'gd') m = rowScaled(x, r, n, d, -h / n);
      else m = kfacStepMatrix(data, e, r, inputBasis!, options.kfacDamping ?? 1e-3, eta);
      net.step(m);
      e = await net.evaluate();
      r = residualOf(e, y);
      residuals.push(norm(r));
      trajectory.push([e.outputs[pi], e.outputs[pj]]);
      await options.onStep?.(k);
    }
    const ratios = residuals.slice(1).map((v, k) => v / residuals[k]);
    const predictedRate = method === 'ngd' ? 1 - eta : method === 'gd' ? 1 - (h * lambda0) / n : null;
    return { method, width, eta: method === 'gd' ? h : eta, residuals, ratios, trajectory, predictedRate };
  } finally {
    net.dispose();
  }
}

/** Eigenbasis of A = XᵀX/n (once per run: the inputs do not change). */
export function inputEigenbasis(data: NgdData): { mu: Float64Array; qa: Float64Array } {
  const { values, vectors } = hostEigh(gramOfColumns(data.inputs, data.n, data.d, data.n), data.d);
  return { mu: values.map((v) => Math.max(v, 0)), qa: vectors };
}

export interface WideComparisonOptions {
  widths: readonly number[];
  methods: readonly WideMethod[];
  eta: number;
  steps: number;
  seed: number;
  activation?: WideActivation;
  ridge?: number;
  kfacDamping?: number;
  pair?: [number, number];
  dtype?: 'float32' | 'float64';
  signal?: AbortSignal;
  /** After every step of every run: done and total steps over the whole comparison. */
  onProgress?: (done: number, total: number, what: string) => void | Promise<void>;
}

export interface WideWidthResult extends GramSpectrum {
  width: number;
  /** GD's step h = n / λ_max(K₀) and its predicted slowest-mode rate 1 − λ₀/λ_max. */
  gdStep: number;
  gdRate: number;
  runs: WideRun[];
}

export interface WideComparison {
  dataset: NgdData['dataset'];
  n: number;
  d: number;
  eta: number;
  steps: number;
  activation: WideActivation;
  pair: [number, number];
  /** The pair's targets (the trajectories' destination). */
  pairTargets: [number, number];
  widths: WideWidthResult[];
}

/** Every method at every width from the same seed: the data of the NGD page and bench. */
export async function compareWide(backend: Backend, data: NgdData, options: WideComparisonOptions): Promise<WideComparison> {
  const { widths, methods, eta, steps, seed } = options;
  const pair = options.pair ?? [0, Math.min(1, data.n - 1)];
  const total = widths.length * methods.length * steps;
  let done = 0;
  const out: WideWidthResult[] = [];
  for (const width of widths) {
    // The initial Gram matrix (same seed ⇒ same weights for every method).
    const probe = new TwoLayerNet(backend, data, { width, seed, activation: options.activation, dtype: options.dtype });
    let spectrum: GramSpectrum;
    try {
      spectrum = gramSpectrum((await probe.evaluate()).gram, data.n);
    } finally {
      probe.dispose();
    }
    const gdStep = data.n / spectrum.lambdaMax;
    const runs: WideRun[] = [];
    for (const method of methods) {
      runs.push(
        await runWide(backend, data, {
          width,
          seed,
          method,
          eta,
          steps,
          activation: options.activation,
          ridge: options.ridge,
          kfacDamping: options.kfacDamping,
          gdStep,
          pair,
          dtype: options.dtype,
          signal: options.signal,
          onStep: () => options.onProgress?.(++done, total, `width ${width}, ${method}`),
        }),
      );
    }
    out.push({ width, ...spectrum, gdStep, gdRate: 1 - spectrum.lambda0 / spectrum.lambdaMax, runs });
  }
  return {
    dataset: data.dataset,
    n: data.n,
    d: data.d,
    eta,
    steps,
    activation: options.activation ?? 'relu',
    pair,
    pairTargets: [data.targets[pair[0]], data.targets[pair[1]]],
    widths: out,
  };
}
