// The exact GGN block of one layer by brute force (docs/kfac.md §6), the oracle K-FAC is tested
// against: J = ∂f/∂θ row by row (one backward pass per output element, seeded with a one-hot), the
// per-term loss Hessians H_m = ∂²(c ℓ_m)/∂f_m², and Jᵀ H J. Cost O(|f| · backward + M C P²): tiny
// models only. CPU backend in float64, so that the comparison is limited by K-FAC, not by rounding.
import { grad } from '../autograd/backward.ts';
import type { Variable } from '../autograd/variable.ts';
import { CpuBackend } from '../backend/cpu/cpu-backend.ts';
import { mseTerms } from '../nn/losses.ts';
import { scope, shapeToString, type Tensor } from '../tensor.ts';
import type { BiasMode } from './factors.ts';
import type { LossTargets } from '../nn/losses.ts';
import type { Module } from '../nn/module.ts';
import { withCurvatureCapture, type KfacLayerInfo } from '../nn/curvature-hook.ts';

/** A dense square matrix, row-major. */
export interface SquareMatrix {
  size: number;
  values: Float64Array;
}

export interface ExactGgnBlock {
  /**
   * Bias folded: the block of vec(W_aug), W_aug = [W | b] ([dOut, dIn + 1], row-major, so index
   * i·(dIn + 1) + j, with the bias of output i at j = dIn). Otherwise the block of vec(W).
   */
  weight: SquareMatrix;
  /** Bias separate: the block of b. null when folded or when the layer has no bias. */
  bias: SquareMatrix | null;
}

export interface ExactGgnOptions {
  /** Default 'folded' (as computeKfacFactors). */
  bias?: BiasMode;
}

/**
 * The exact GGN block of the parameters `weight` ([dOut, dIn]) and `bias` ([dOut] or null) of one
 * layer, for the loss `loss` of the model outputs built by `forward`. The variables must be
 * float64 leaves on the CPU backend.
 */
export function exactGgnBlock(
  forward: () => Variable,
  loss: LossTargets,
  weight: Variable,
  bias: Variable | null,
  options: ExactGgnOptions = {},
): ExactGgnBlock {
  const backend = weight.backend;
  if (!(backend instanceof CpuBackend)) throw new Error(`exactGgnBlock: needs the CPU backend, got ${backend.name}`);
  for (const v of bias ? [weight, bias] : [weight]) {
    if (v.value.dtype !== 'float64') throw new Error(`exactGgnBlock: parameters must be float64, got ${v.value.dtype}`);
  }
  if (weight.rank !== 2) throw new Error(`exactGgnBlock: weight must be [dOut, dIn], got ${shapeToString(weight.shape)}`);
  const [dOut, dIn] = weight.shape;
  if (bias && (bias.rank !== 1 || bias.shape[0] !== dOut)) {
    throw new Error(`exactGgnBlock: bias ${shapeToString(bias.shape)} does not match weight ${shapeToString(weight.shape)}`);
  }
  const folded = (options.bias ?? 'folded') === 'folded' && bias !== null;
  const width = folded ? dIn + 1 : dIn; // columns of W (or W_aug) in vec order
  const P = dOut * width;

  return scope(() => {
    const f = forward();
    if (f.value.dtype !== 'float64') throw new Error(`exactGgnBlock: model outputs must be float64, got ${f.value.dtype}`);
    const outputs = backend.dataOf(f.value) as Float64Array;
    const hessians = termHessians(backend, outputs, f.shape, loss);
    const { C, M } = hessians;

    // J: one row per output element (term m, class k at row m·C + k), one column per parameter.
    const J = new Float64Array(f.value.size * P);
    const biasCount = bias && !folded ? dOut : 0;
    const Jb = new Float64Array(f.value.size * biasCount);
    const wrt = bias ? [weight, bias] : [weight];
    for (let e = 0; e < f.value.size; e++) {
      scope(() => {
        const seedValues = new Float64Array(f.value.size);
        seedValues[e] = 1;
        const [gW, gB] = grad(f, wrt, backend.tensor(seedValues, f.shape, 'float64'));
        const w = backend.dataOf(gW);
        const row = e * P;
        for (let i = 0; i < dOut; i++) for (let j = 0; j < dIn; j++) J[row + i * width + j] = w[i * dIn + j];
        if (gB) {
          const b = backend.dataOf(gB);
          if (folded) for (let i = 0; i < dOut; i++) J[row + i * width + dIn] = b[i];
          else Jb.set(b, e * dOut);
        }
      });
    }
    return {
      weight: { size: P, values: sandwich(J, P, hessians.blocks, M, C) },
      bias: biasCount > 0 ? { size: biasCount, values: sandwich(Jb, biasCount, hessians.blocks, M, C) } : null,
    };
  });
}

/** Σ_m J_mᵀ H_m J_m for J [M·C, P] (term-major rows) and H_m [C, C]. */
function sandwich(J: Float64Array, P: number, H: Float64Array, M: number, C: number): Float64Array {
  const out = new Float64Array(P * P);
  const HJ = new Float64Array(C * P);
  for (let m = 0; m < M; m++) {
    const Jm = m * C * P;
    const Hm = m * C * C;
    HJ.fill(0);
    for (let k = 0; k < C; k++) {
      for (let l = 0; l < C; l++) {
        const h = H[Hm + k * C + l];
        if (h === 0) continue;
        for (let p = 0; p < P; p++) HJ[k * P + p] += h * J[Jm + l * P + p];
      }
    }
    for (let k = 0; k < C; k++) {
      for (let p = 0; p < P; p++) {
        const jkp = J[Jm + k * P + p];
        if (jkp === 0) continue;
        const outRow = p * P;
        for (let q = 0; q < P; q++) out[outRow + q] += jkp * HJ[k * P + q];
      }
    }
  }
  // Symmetrise: the two triangles differ only by rounding.
  for (let p = 0; p < P; p++) {
    for (let q = p + 1; q < P; q++) {
      const s = 0.5 * (out[p * P + q] + out[q * P + p]);
      out[p * P + q] = s;
      out[q * P + p] = s;
    }
  }
  return out;
}

/** One [C, C] block per loss term, M of them, row-major. */
interface TermBlocks {
  blocks: Float64Array;
  M: number;
  C: number;
}

/**
 * The loss Hessians ∂²(c ℓ_m)/∂f_m² of §3, one [C, C] block per term: MSE 2c I; softmax
 * cross-entropy c (diag(p) − p pᵀ), zero for ignored (negative) targets.
 */
function termHessians(backend: CpuBackend, f: Float64Array, shape: readonly number[], loss: LossTargets): TermBlocks {
  const { spec, targets } = loss;
  if (spec.kind === 'mse') {
    const { M, C } = mseTerms(shape);
    const c = spec.scale(M, C);
    const blocks = new Float64Array(M * C * C);
    for (let m = 0; m < M; m++) for (let k = 0; k < C; k++) blocks[m * C * C + k * C + k] = 2 * c;
    return { blocks, M, C };
  }
  if (shape.length < 2) throw new Error(`exactGgnBlock: cross-entropy needs logits [..., C], got ${shapeToString(shape)}`);
  const C = shape[shape.length - 1];
  const M = f.length / C;
  const labels = readLabels(backend, targets, M);
  const c = spec.scale(countedLabels(labels), C);
  const blocks = new Float64Array(M * C * C);
  const p = new Float64Array(C);
  for (let m = 0; m < M; m++) {
    if (labels[m] < 0) continue;
    softmaxRow(f, m, C, p, 0);
    for (let k = 0; k < C; k++) {
      for (let l = 0; l < C; l++) blocks[m * C * C + k * C + l] = c * ((k === l ? p[k] : 0) - p[k] * p[l]);
    }
  }
  return { blocks, M, C };
}

/** The loss terms a cross-entropy counts: negative labels are ignored. */
function countedLabels(labels: Int32Array): number {
  return labels.reduce((n, y) => n + (y >= 0 ? 1 : 0), 0);
}

/** softmax(f[m·C, …, m·C + C − 1]) into out[o, …, o + C − 1], shifted by the row's max for stability. */
function softmaxRow(f: Float64Array, m: number, C: number, out: Float64Array, o: number): void {
  let max = -Infinity;
  for (let k = 0; k < C; k++) max = Math.max(max, f[m * C + k]);
  let total = 0;
  for (let k = 0; k < C; k++) total += out[o + k] = Math.exp(f[m * C + k] - max);
  for (let k = 0; k < C; k++) out[o + k] /= total;
}

function readLabels(backend: CpuBackend, targets: Tensor, M: number): Int32Array {
  if (targets.dtype !== 'int32') throw new Error(`exactGgnBlock: cross-entropy targets must be int32, got ${targets.dtype}`);
  if (targets.size !== M) throw new Error(`exactGgnBlock: ${targets.size} targets for ${M} loss terms`);
  return backend.dataOf(targets) as Int32Array;
}

/**
 * The Kronecker product G ⊗ A of square matrices (row-major), [dG·dA]²: entry
 * (i·dA + j, k·dA + l) = G[i, k] A[j, l], the layout that matches vec(W) = W.flatten() (§2).
 */
export function kron(G: ArrayLike<number>, A: ArrayLike<number>): SquareMatrix {
  const dG = squareSide(G.length, 'G');
  const dA = squareSide(A.length, 'A');
  const size = dG * dA;
  const values = new Float64Array(size * size);
  for (let i = 0; i < dG; i++) {
    for (let k = 0; k < dG; k++) {
      const g = G[i * dG + k];
      for (let j = 0; j < dA; j++) {
        const row = (i * dA + j) * size + k * dA;
        for (let l = 0; l < dA; l++) values[row + l] = g * A[j * dA + l];
      }
    }
  }
  return { size, values };
}

function squareSide(length: number, what: string): number {
  const side = Math.round(Math.sqrt(length));
  if (side * side !== length) throw new Error(`kron: ${what} has ${length} entries, not a square matrix`);
  return side;
}

// ---- all K-FAC parameters at once (the curvature toolkit's oracle) --------------------------------

export interface ExactCurvatureOptions {
  /** Default 'folded'. */
  bias?: BiasMode;
  /** 'ggn' (default): Σ_m J_mᵀ H_m J_m; 'empirical': Σ_m c ∇ℓ_m ∇ℓ_mᵀ (the per-term empirical Fisher, docs/kfac.md §3). */
  kind?: 'ggn' | 'empirical';
}

export interface ExactCurvatureMatrix extends SquareMatrix {
  /** Where each K-FAC layer's parameters sit: weight block [offset, offset + dOut·width), then the separate bias block. */
  layers: { name: string; offset: number; dOut: number; width: number; biasOffset: number | null }[];
}

/**
 * The dense curvature of all K-FAC parameters of `model` (the Linear-like layers of the forward
 * pass, in order) for the loss of the outputs of `forward`: J from one backward pass per output
 * element, then Σ_m J_mᵀ H_m J_m with H_m the loss Hessian (GGN) or c ∇ℓ_m ∇ℓ_mᵀ (empirical). Tiny
 * float64 CPU models only (cost O(|f| · backward + M C P²)).
 */
export function exactCurvatureMatrix(
  model: Module,
  forward: () => Variable,
  loss: LossTargets,
  options: ExactCurvatureOptions = {},
): ExactCurvatureMatrix {
  const parameters = new Set(model.parameters().map((p) => p.variable));
  const biasMode = options.bias ?? 'folded';
  return scope(() => {
    const captured: KfacLayerInfo[] = [];
    const f = withCurvatureCapture(
      { capture: (c) => void (captured.some((l) => l.weight.variable === c.layer.weight.variable) || captured.push(c.layer)) },
      forward,
    );
    const backend = f.backend;
    if (!(backend instanceof CpuBackend)) throw new Error(`exactCurvatureMatrix: needs the CPU backend, got ${backend.name}`);
    if (f.value.dtype !== 'float64') throw new Error(`exactCurvatureMatrix: model outputs must be float64, got ${f.value.dtype}`);
    if (captured.length === 0) throw new Error('exactCurvatureMatrix: the forward pass has no K-FAC layer');
    let P = 0;
    const layers = captured.map((l) => {
      if (!parameters.has(l.weight.variable)) throw new Error(`exactCurvatureMatrix: layer "${l.name}" is not part of the model`);
      if (l.weight.variable.value.dtype !== 'float64') throw new Error(`exactCurvatureMatrix: layer "${l.name}" is not float64`);
      const [dOut, dIn] = l.weight.variable.shape;
      const folded = biasMode === 'folded' && l.bias !== null;
      const width = folded ? dIn + 1 : dIn;
      const offset = P;
      P += dOut * width;
      const biasOffset = !folded && l.bias ? P : null;
      if (biasOffset !== null) P += dOut;
      return { name: l.name, offset, dOut, width, biasOffset, dIn, info: l };
    });
    const outputs = backend.dataOf(f.value) as Float64Array;
    const blocks =
      options.kind === 'empirical' ? termGradientOuters(backend, outputs, f.shape, loss) : termHessians(backend, outputs, f.shape, loss);
    const wrt = layers.flatMap((l) => (l.info.bias ? [l.info.weight.variable, l.info.bias.variable] : [l.info.weight.variable]));
    const J = new Float64Array(f.value.size * P);
    for (let e = 0; e < f.value.size; e++) {
      scope(() => {
        const seed = new Float64Array(f.value.size);
        seed[e] = 1;
        const grads = grad(f, wrt, backend.tensor(seed, f.shape, 'float64'));
        let g = 0;
        const row = e * P;
        for (const l of layers) {
          const w = backend.dataOf(grads[g++]);
          for (let i = 0; i < l.dOut; i++) for (let j = 0; j < l.dIn; j++) J[row + l.offset + i * l.width + j] = w[i * l.dIn + j];
          if (!l.info.bias) continue;
          const b = backend.dataOf(grads[g++]);
          // Folded: the last column of row i of [W | b]; separate: the bias block after the weight's.
          for (let i = 0; i < l.dOut; i++) J[row + (l.biasOffset === null ? l.offset + i * l.width + l.dIn : l.biasOffset + i)] = b[i];
        }
      });
    }
    return {
      size: P,
      values: sandwich(J, P, blocks.blocks, blocks.M, blocks.C),
      layers: layers.map(({ name, offset, dOut, width, biasOffset }) => ({ name, offset, dOut, width, biasOffset })),
    };
  });
}

/** The empirical Fisher's per-term blocks c u uᵀ with u = ∇_f ℓ_m at the true label (MSE 2(f − y), CE p − e_y). */
function termGradientOuters(backend: CpuBackend, f: Float64Array, shape: readonly number[], loss: LossTargets): TermBlocks {
  const { spec, targets } = loss;
  const C = shape[shape.length - 1];
  const M = f.length / C;
  const u = new Float64Array(M * C);
  let c: number;
  if (spec.kind === 'mse') {
    const y = backend.dataOf(targets);
    if (y.length !== f.length) throw new Error(`exactCurvatureMatrix: ${y.length} targets for ${f.length} outputs`);
    for (let i = 0; i < f.length; i++) u[i] = 2 * (f[i] - y[i]);
    const terms = mseTerms(shape);
    c = spec.scale(terms.M, terms.C);
  } else {
    const labels = readLabels(backend, targets, M);
    c = spec.scale(countedLabels(labels), C);
    for (let m = 0; m < M; m++) {
      if (labels[m] < 0) continue;
      softmaxRow(f, m, C, u, m * C);
      u[m * C + labels[m]] -= 1;
    }
  }
  const blocks = new Float64Array(M * C * C);
  for (let m = 0; m < M; m++) {
    for (let k = 0; k < C; k++) for (let l = 0; l < C; l++) blocks[m * C * C + k * C + l] = c * u[m * C + k] * u[m * C + l];
  }
  return { blocks, M, C };
}
