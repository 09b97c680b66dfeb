// Shared by the curvature toolkit tests: tiny layer stacks with their data as toolkit batches, and
// dense float64 twins of the Kronecker operations (kron, solve, log det, sub-blocks).
import { constant } from '../../src/engine/autograd/variable.ts';
import type { Backend } from '../../src/engine/backend/backend.ts';
import type { LossSetting } from '../../src/engine/curvature/factors.ts';
import { LayerStack, type StackLayerSpec } from '../../src/engine/nn/models/layer-stack.ts';
import type { CurvatureBatch } from '../../src/engine/curvature/toolkit.ts';
import { lossSpec, type LossKind, type Reduction } from '../../src/engine/nn/losses.ts';
import type { Rng } from '../../src/engine/random.ts';
import type { Tensor } from '../../src/engine/tensor.ts';
import { randomStack } from './oracle-helpers.ts';

export interface StackProblem {
  layers: StackLayerSpec[];
  setting: LossSetting;
  loss: LossKind;
  reduction: Reduction;
  N: number;
  R: number;
  dIn: number;
  C: number;
  /** [N, R, dIn] row-major. */
  inputs: Float64Array;
  /** MSE: the outputs' shape; CE: class indices ([N, R] expand, [N] reduce), −1 = ignored. */
  targets: Float64Array;
}

export function stackProblem(
  rng: Rng,
  o: {
    widths: number[];
    N: number;
    R: number;
    setting: LossSetting;
    loss: LossKind;
    reduction: Reduction;
    ignore?: boolean;
    activation?: 'tanh';
  },
): StackProblem {
  const dIn = o.widths[0];
  const C = o.widths[o.widths.length - 1];
  const terms = o.setting === 'expand' ? o.N * o.R : o.N;
  const targets =
    o.loss === 'mse'
      ? rng.uniformArray(terms * C)
      : Float64Array.from({ length: terms }, (_, m) => (o.ignore && m % 4 === 1 ? -1 : rng.int(C)));
  return {
    layers: randomStack(rng, o.widths, true, o.activation ?? 'tanh'),
    setting: o.setting,
    loss: o.loss,
    reduction: o.reduction,
    N: o.N,
    R: o.R,
    dIn,
    C,
    inputs: rng.normalArray(o.N * o.R * dIn),
    targets,
  };
}

/** The model on a backend (float64 on the CPU, float32 on WebGPU) and its data, split at `cuts` (example indices). */
export function placeProblem(
  be: Backend,
  p: StackProblem,
  cuts: readonly number[] = [],
): { model: LayerStack; batches: CurvatureBatch[]; full: CurvatureBatch; dispose(): void } {
  const precision = be.supportsFloat64 && be.name === 'cpu' ? 'float64' : 'float32';
  const model = new LayerStack({ backend: be, seed: 0, precision }, { layers: p.layers, setting: p.setting });
  const owned: Tensor[] = [];
  const make = (from: number, to: number): CurvatureBatch => {
    const n = to - from;
    const x = be.tensor(p.inputs.subarray(from * p.R * p.dIn, to * p.R * p.dIn), [n, p.R, p.dIn], precision);
    const perExample = p.loss === 'mse' ? (p.setting === 'expand' ? p.R * p.C : p.C) : p.setting === 'expand' ? p.R : 1;
    const shape = p.loss === 'mse' ? (p.setting === 'expand' ? [n, p.R, p.C] : [n, p.C]) : p.setting === 'expand' ? [n, p.R] : [n];
    const y = be.tensor(p.targets.subarray(from * perExample, to * perExample), shape, p.loss === 'ce' ? 'int32' : precision);
    owned.push(x, y);
    return { forward: () => model.forward(constant(x)), loss: { spec: lossSpec(p.loss, p.reduction), targets: y } };
  };
  const bounds = [0, ...cuts, p.N];
  const batches = bounds.slice(1).map((to, i) => make(bounds[i], to));
  const full = make(0, p.N);
  return {
    model,
    batches,
    full,
    dispose: () => {
      owned.forEach((t) => t.dispose());
      model.dispose();
    },
  };
}

// ---- dense twins (float64, row-major) ------------------------------------------------------------

/** The principal sub-block [offset, offset + size) of a P×P matrix. */
export function subBlock(values: ArrayLike<number>, P: number, offset: number, size: number): Float64Array {
  const out = new Float64Array(size * size);
  for (let i = 0; i < size; i++) for (let j = 0; j < size; j++) out[i * size + j] = values[(offset + i) * P + offset + j];
  return out;
}

/** M x for M [n, n]. */
export function matVec(m: ArrayLike<number>, x: ArrayLike<number>): Float64Array {
  const n = x.length;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < n; j++) s += m[i * n + j] * x[j];
    out[i] = s;
  }
  return out;
}

/** diag(Qᵀ M Q). */
export function diagInBasis(m: ArrayLike<number>, q: ArrayLike<number>, n: number): Float64Array {
  const out = new Float64Array(n);
  const col = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    for (let i = 0; i < n; i++) col[i] = q[i * n + k];
    const mq = matVec(m, col);
    let s = 0;
    for (let i = 0; i < n; i++) s += col[i] * mq[i];
    out[k] = s;
  }
  return out;
}

/** Q diag(d) Qᵀ. */
export function fromBasis(q: ArrayLike<number>, d: ArrayLike<number>, n: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += q[i * n + k] * d[k] * q[j * n + k];
      out[i * n + j] = s;
    }
  }
  return out;
}

/** M + δ I. */
export function addIdentity(m: ArrayLike<number>, n: number, delta: number, scale = 1): Float64Array {
  const out = Float64Array.from(m, (v) => v * scale);
  for (let i = 0; i < n; i++) out[i * n + i] += delta;
  return out;
}

/** Lower Cholesky factor of an SPD matrix (throws if not positive definite). */
export function choleskyDense(m: ArrayLike<number>, n: number): Float64Array {
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = m[i * n + j];
      for (let k = 0; k < j; k++) s -= l[i * n + k] * l[j * n + k];
      if (i === j) {
        if (!(s > 0)) throw new Error(`choleskyDense: not positive definite at ${i}`);
        l[i * n + i] = Math.sqrt(s);
      } else l[i * n + j] = s / l[j * n + j];
    }
  }
  return l;
}

/** M⁻¹ b for SPD M, by Cholesky. */
export function solveDense(m: ArrayLike<number>, b: ArrayLike<number>): Float64Array {
  const n = b.length;
  const l = choleskyDense(m, n);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[i];
    for (let k = 0; k < i; k++) s -= l[i * n + k] * y[k];
    y[i] = s / l[i * n + i];
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i];
    for (let k = i + 1; k < n; k++) s -= l[k * n + i] * x[k];
    x[i] = s / l[i * n + i];
  }
  return x;
}

/** log det of an SPD matrix. */
export function logDetDense(m: ArrayLike<number>, n: number): number {
  const l = choleskyDense(m, n);
  let s = 0;
  for (let i = 0; i < n; i++) s += 2 * Math.log(l[i * n + i]);
  return s;
}

/** ‖x‖_F. */
export function frobenius(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  return Math.sqrt(s);
}

/** max |a − b| / max |b|. */
export function scaledMaxError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`scaledMaxError: lengths ${a.length} and ${b.length}`);
  let err = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    err = Math.max(err, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return err / (scale || 1);
}
