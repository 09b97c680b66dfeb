// Thermodynamic K-FAC (docs/curvature-tools.md §6; Donatella et al.): the damped Kronecker factors
// are inverted by a SIMULATED analog Ornstein–Uhlenbeck device instead of a Cholesky.
//
// The device holds a symmetric positive-definite matrix M and evolves dx = −M x dt + √2 dW, whose
// stationary distribution is N(0, M⁻¹); the covariance of S samples estimates M⁻¹. With a drift
// −(M x − v) the stationary mean is M⁻¹ v, so time averages solve linear systems. We simulate it
// exactly: in M's eigenbasis (M = Q diag(ℓ) Qᵀ) the modes y = Qᵀ x are independent and one step of
// length dt is y ← e^{−ℓ dt} y + sqrt((1 − e^{−2ℓ dt})/ℓ) ξ with ξ ~ N(0, I), no discretisation error.
// What crosses the digital/analog boundary is quantised to b bits, s = max|M| / (2^{b−1} − 1),
// Q(M) = s·round(M/s) — M on the way in, the estimate on the way out.
//
// Units: the device runs on M / max|M| (its entries fill the device's range), so dt is in units of
// the device's fastest time constant and does not depend on the factor's scale; the estimate is
// scaled back by 1 / max|M|. Modes the quantised matrix leaves at or below one quantisation step
// (ℓ ≤ s: they would not relax, or would diverge, on a real device) are clamped to s and counted.
// Hot start: each factor's chain continues from its state at the previous inversion (no burn-in).
//
// Everything the device does runs on the host in float64: it is a separate (simulated) machine,
// fed by a read-back of the factors and answering with an upload, so the method works the same on
// every backend. In the K-FAC optimizer it replaces the Cholesky of the π-damped factors
// (docs/kfac.md §4 step 2); the preconditioning G⁻¹ V A⁻¹ is unchanged.
import type { Backend } from '../../backend/backend.ts';
import { hostEigh } from '../../linalg/host-eigh.ts';
import { Rng } from '../../random.ts';
import { readAndDispose, scope, type Tensor } from '../../tensor.ts';
import { deriveSeed } from '../../data/common.ts';
import { KfacNumericalError, type FactorLabel, type LayerInverse, type LayerState } from './types.ts';

export interface ThermodynamicSettings {
  /** Samples S per factor and inversion. */
  samples: number;
  /** Time between samples, in units of the device's fastest time constant (1 / max|M|). */
  dt: number;
  /** Bits b of what goes to and from the device; 0 = no quantisation. */
  bits: number;
  /** Continue each factor's chain from its previous state (else start at x = 0). */
  hotStart: boolean;
  seed: number;
}

export const DEFAULT_THERMODYNAMIC: ThermodynamicSettings = { samples: 1000, dt: 10, bits: 8, hotStart: true, seed: 0 };

/** The quantisation step s = max|M| / (2^{b−1} − 1) of b bits (0 when b = 0, i.e. off, or M = 0). */
export function quantizationStep(values: ArrayLike<number>, bits: number): number {
  if (bits === 0) return 0;
  if (!(Number.isInteger(bits) && bits >= 2 && bits <= 52))
    throw new Error(`quantize: bits must be 0 (off) or a whole number in 2 … 52, got ${bits}`);
  let max = 0;
  for (let i = 0; i < values.length; i++) max = Math.max(max, Math.abs(values[i]));
  return max / (2 ** (bits - 1) - 1);
}

/** Q(M) = s·round(M/s) with s = max|M| / (2^{b−1} − 1); |Q(M) − M| ≤ s/2 entrywise. bits = 0 copies. */
export function quantize(values: ArrayLike<number>, bits: number): { values: Float64Array; step: number } {
  const step = quantizationStep(values, bits);
  const out = Float64Array.from(values);
  if (step > 0) for (let i = 0; i < out.length; i++) out[i] = step * Math.round(out[i] / step);
  return { values: out, step };
}

/** What the device did for one matrix. */
export interface DeviceRun {
  /** The estimate of M⁻¹ (or M⁻¹ v), quantised on the way out; n×n row-major (or n). */
  result: Float64Array;
  /** Condition number ℓ_max / ℓ_min of the quantised matrix as the device ran it (after clamping). */
  condition: number;
  /** Modes clamped to one quantisation step. */
  clampedModes: number;
  /** Quantisation steps in and out (0 = off). */
  stepIn: number;
  stepOut: number;
}

/**
 * A simulated thermodynamic device with one chain per key (a layer's factor): `inverse` estimates
 * M⁻¹ from S samples, `solve` estimates M⁻¹ v as a time average. Seeded: the same calls in the
 * same order give the same numbers.
 */
export class ThermodynamicDevice {
  readonly settings: ThermodynamicSettings;
  /** Each key's last state x (device units, original coordinates), for hot starts. */
  private readonly states = new Map<string, Float64Array>();
  private readonly rng: Rng;
  /** Runs since construction (all keys). */
  runs = 0;

  constructor(settings: Partial<ThermodynamicSettings> = {}) {
    // An undefined field (an optional setting not given) keeps its default rather than erasing it.
    const given = Object.fromEntries(Object.entries(settings).filter(([, v]) => v !== undefined));
    this.settings = { ...DEFAULT_THERMODYNAMIC, ...given };
    const { samples, dt } = this.settings;
    if (!(Number.isInteger(samples) && samples >= 1))
      throw new Error(`thermodynamic device: samples must be a whole number ≥ 1, got ${samples}`);
    if (!(dt > 0 && Number.isFinite(dt))) throw new Error(`thermodynamic device: dt must be a positive number, got ${dt}`);
    quantizationStep([], this.settings.bits); // validates bits
    this.rng = new Rng(deriveSeed(this.settings.seed, 0x7e57));
  }

  /** Forget every chain's state (the next runs start cold). */
  reset(): void {
    this.states.clear();
  }

  /** The device's estimate of M⁻¹ for the SPD n×n matrix M (row-major). */
  inverse(key: string, matrix: ArrayLike<number>, n: number): DeviceRun {
    const mode = this.load(key, matrix, n);
    const { ell, q, scale } = mode;
    const { samples } = this.settings;
    const y = this.startState(key, q, n);
    const { decay, noise } = this.stepCoefficients(ell);
    // C = (1/S) Σ_k y_k y_kᵀ in the eigenbasis (lower triangle), then Σ = Q C Qᵀ.
    const c = new Float64Array(n * n);
    for (let k = 0; k < samples; k++) {
      for (let i = 0; i < n; i++) y[i] = decay[i] * y[i] + noise[i] * this.rng.normal();
      for (let i = 0; i < n; i++) {
        const yi = y[i];
        const row = i * n;
        for (let j = 0; j <= i; j++) c[row + j] += yi * y[j];
      }
    }
    for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) c[j * n + i] = c[i * n + j];
    const sigma = rotate(q, c, n, 1 / (samples * scale));
    this.saveState(key, q, y, n);
    return this.finish(sigma, mode);
  }

  /** The device's estimate of M⁻¹ v: the time average of x under the drift −(M x − v). */
  solve(key: string, matrix: ArrayLike<number>, n: number, v: ArrayLike<number>): DeviceRun {
    if (v.length !== n) throw new Error(`thermodynamic solve: v has ${v.length} entries, M is ${n}×${n}`);
    const mode = this.load(key, matrix, n);
    const { ell, q, scale } = mode;
    const { samples } = this.settings;
    const vIn = quantize(v, this.settings.bits).values;
    // Target mean in the eigenbasis, device units: μ = diag(ℓ)⁻¹ Qᵀ v / max|M| · max|M| … the device
    // holds M / max|M| and v / max|M|, so its mean is (M/max|M|)⁻¹ v / max|M| = M⁻¹ v.
    const mu = new Float64Array(n);
    for (let k = 0; k < n; k++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += q[i * n + k] * vIn[i];
      mu[k] = s / scale / ell[k];
    }
    const y = this.startState(key, q, n);
    const { decay, noise } = this.stepCoefficients(ell);
    const mean = new Float64Array(n);
    for (let k = 0; k < samples; k++) {
      for (let i = 0; i < n; i++) {
        y[i] = mu[i] + decay[i] * (y[i] - mu[i]) + noise[i] * this.rng.normal();
        mean[i] += y[i];
      }
    }
    const x = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += q[i * n + k] * mean[k];
      x[i] = s / samples;
    }
    this.saveState(key, q, y, n);
    return this.finish(x, mode);
  }

  // The device's view of M: quantised, normalised to max|M| = 1, eigendecomposed, unresolvable modes clamped.
  private load(key: string, matrix: ArrayLike<number>, n: number) {
    if (matrix.length !== n * n) throw new Error(`thermodynamic device (${key}): matrix has ${matrix.length} entries, not ${n}×${n}`);
    for (let i = 0; i < matrix.length; i++) {
      if (!Number.isFinite(matrix[i])) throw new Error(`thermodynamic device (${key}): the matrix has a non-finite entry`);
    }
    const { values, step } = quantize(symmetric(matrix, n), this.settings.bits);
    let scale = 0;
    for (let i = 0; i < values.length; i++) scale = Math.max(scale, Math.abs(values[i]));
    if (scale === 0) throw new Error(`thermodynamic device (${key}): the matrix is zero`);
    for (let i = 0; i < values.length; i++) values[i] /= scale;
    const { values: ell, vectors: q } = hostEigh(values, n);
    // The smallest mode the device can hold: one quantisation step (device units), or a tiny floor without quantisation.
    const floor = step > 0 ? step / scale : 1e-12;
    let clampedModes = 0;
    for (let i = 0; i < n; i++) {
      if (!(ell[i] > floor)) {
        ell[i] = floor;
        clampedModes++;
      }
    }
    this.runs++;
    return { ell, q, scale, stepIn: step, clampedModes, condition: ell[0] / ell[n - 1] };
  }

  private stepCoefficients(ell: Float64Array) {
    const dt = this.settings.dt;
    const decay = ell.map((l) => Math.exp(-l * dt));
    // (1 − e^{−2ℓdt}) / ℓ, written with expm1 so that small ℓ dt keeps its digits.
    const noise = ell.map((l) => Math.sqrt(-Math.expm1(-2 * l * dt) / l));
    return { decay, noise };
  }

  /** The chain's state in the current eigenbasis: yesterday's x rotated (hot), or 0 (cold). */
  private startState(key: string, q: Float64Array, n: number): Float64Array {
    const y = new Float64Array(n);
    const x = this.settings.hotStart ? this.states.get(key) : undefined;
    if (!x || x.length !== n) return y;
    for (let k = 0; k < n; k++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += q[i * n + k] * x[i];
      y[k] = s;
    }
    return y;
  }

  private saveState(key: string, q: Float64Array, y: Float64Array, n: number): void {
    const x = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += q[i * n + k] * y[k];
      x[i] = s;
    }
    this.states.set(key, x);
  }

  private finish(estimate: Float64Array, mode: { stepIn: number; clampedModes: number; condition: number }): DeviceRun {
    const out = quantize(estimate, this.settings.bits);
    return { result: out.values, condition: mode.condition, clampedModes: mode.clampedModes, stepIn: mode.stepIn, stepOut: out.step };
  }
}

/** (M + Mᵀ)/2 of a row-major n×n matrix. */
function symmetric(m: ArrayLike<number>, n: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) out[i * n + j] = 0.5 * (m[i * n + j] + m[j * n + i]);
  return out;
}

/** factor · Q C Qᵀ for row-major n×n Q (eigenvectors as columns) and symmetric C. */
function rotate(q: Float64Array, c: Float64Array, n: number, factor: number): Float64Array {
  const qc = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < n; k++) {
      const a = q[i * n + k];
      if (a === 0) continue;
      for (let j = 0; j < n; j++) qc[i * n + j] += a * c[k * n + j];
    }
  }
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += qc[i * n + k] * q[j * n + k];
      out[i * n + j] = out[j * n + i] = s * factor;
    }
  }
  return out;
}

// ---- the cost model (docs/curvature-tools.md §6) -------------------------------------------------

/** Operations per factor inversion: digital O(n³), analog O(n² κ²) (Donatella et al.'s scaling; constants 1). */
export function inversionCost(n: number, condition: number): { digital: number; analog: number } {
  return { digital: n ** 3, analog: n * n * condition * condition };
}

/** ‖X − Y‖_F / ‖Y‖_F. */
export function relativeError(estimate: ArrayLike<number>, exact: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < exact.length; i++) {
    num += (estimate[i] - exact[i]) ** 2;
    den += exact[i] ** 2;
  }
  return Math.sqrt(num / den);
}

// ---- the K-FAC optimizer's hook ------------------------------------------------------------------

/** What one thermodynamic inversion of all factors did (the lab shows it). */
export interface ThermodynamicReport {
  step: number;
  /** Per factor, in the stack order of the labels. */
  factors: { label: FactorLabel; n: number; condition: number; clampedModes: number }[];
}

/**
 * The optimizer's 'thermodynamic' inverse method: the π-damped factors (the same damping as the
 * Cholesky method, docs/kfac.md §4 step 2; a separate bias block gets G + λI) go through `device`,
 * and come back as inverse matrices in the Cholesky method's form, so preconditioning is unchanged.
 * `labels` give the stack order (A of every layer, G of every layer, then separate-bias G's);
 * `alsoRead` (the update-health sums) is read in the same transfer and returned as `extra`.
 */
export async function thermodynamicInverses(
  device: ThermodynamicDevice,
  args: {
    layers: readonly LayerState[];
    matrices: readonly Tensor[];
    labels: readonly FactorLabel[];
    damping: number;
    step: number;
    alsoRead?: Tensor;
  },
): Promise<{ inverses: LayerInverse[]; extra: number[]; report: ThermodynamicReport }> {
  const { layers, matrices, labels, damping, step } = args;
  const be: Backend = matrices[0].backend;
  const sizes = matrices.map((m) => m.shape[0]);
  const flat = scope(() => {
    const parts = matrices.map((m) => be.reshape(m.dtype === 'float32' || m.dtype === 'float64' ? m : be.cast(m, 'float32'), [m.size]));
    if (args.alsoRead) parts.push(be.reshape(be.cast(args.alsoRead, parts[0].dtype), [args.alsoRead.size]));
    return be.concat(parts, 0);
  });
  const host = await readAndDispose(flat);
  const offsets: number[] = [];
  let at = 0;
  for (const n of sizes) {
    offsets.push(at);
    at += n * n;
  }
  const extra = Array.from(host.subarray(at));
  const view = (i: number) => host.subarray(offsets[i], offsets[i] + sizes[i] * sizes[i]);
  const count = layers.length;
  const trace = (i: number) => {
    let t = 0;
    for (let k = 0; k < sizes[i]; k++) t += view(i)[k * sizes[i] + k];
    return t;
  };
  const report: ThermodynamicReport = { step, factors: [] };
  const results: Float64Array[] = [];
  const root = Math.sqrt(damping);
  for (let i = 0; i < matrices.length; i++) {
    const { layer, factor } = labels[i];
    const n = sizes[i];
    const m = Float64Array.from(view(i));
    for (let k = 0; k < m.length; k++) {
      if (!Number.isFinite(m[k]))
        throw new KfacNumericalError(
          layer,
          factor === 'A' ? 'input factor A' : 'gradient factor G',
          step,
          'has non-finite entries (NaN or ±Inf)',
        );
    }
    // π-damping per layer (docs/kfac.md §4): π = sqrt((tr A / dA) / (tr G / dG)); 1 when either trace is 0.
    let shift = damping;
    if (factor !== 'bias G') {
      const li = factor === 'A' ? i : i - count;
      const [meanA, meanG] = [trace(li) / sizes[li], trace(li + count) / sizes[li + count]];
      const pi = meanA > 0 && meanG > 0 ? Math.sqrt(meanA / meanG) : 1;
      shift = factor === 'A' ? pi * root : root / pi;
    }
    for (let k = 0; k < n; k++) m[k * n + k] += shift;
    const run = device.inverse(`${layer}:${factor}`, m, n);
    for (let k = 0; k < run.result.length; k++) {
      if (!Number.isFinite(run.result[k]))
        throw new KfacNumericalError(layer, `thermodynamic inverse of ${factor}`, step, 'is non-finite (NaN or ±Inf)');
    }
    results.push(run.result);
    report.factors.push({ label: labels[i], n, condition: run.condition, clampedModes: run.clampedModes });
  }
  const dtype = matrices[0].dtype;
  const upload = (i: number) => be.tensor(results[i], [sizes[i], sizes[i]], dtype);
  const inverses = layers.map((l, i): LayerInverse => {
    const k = labels.findIndex((x) => x.factor === 'bias G' && x.layer === l.info.name);
    return { kind: 'cholesky', A: upload(i), G: upload(count + i), biasG: k < 0 ? null : upload(k) };
  });
  return { inverses, extra, report };
}
