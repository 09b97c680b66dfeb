// The exact GGN block of one layer by brute force (specs/KFAC.md §6), the oracle K-FAC is tested
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

/**
 * The loss Hessians ∂²(c ℓ_m)/∂f_m² of §3, one [C, C] block per term: MSE 2c I; softmax
 * cross-entropy c (diag(p) − p pᵀ), zero for ignored (negative) targets.
 */
function termHessians(
  backend: CpuBackend,
  f: Float64Array,
  shape: readonly number[],
  loss: LossTargets,
): { blocks: Float64Array; M: number; C: number } {
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
  const counted = labels.reduce((n, y) => n + (y >= 0 ? 1 : 0), 0);
  const c = spec.scale(counted, C);
  const blocks = new Float64Array(M * C * C);
  const p = new Float64Array(C);
  for (let m = 0; m < M; m++) {
    if (labels[m] < 0) continue;
    let max = -Infinity;
    for (let k = 0; k < C; k++) max = Math.max(max, f[m * C + k]);
    let total = 0;
    for (let k = 0; k < C; k++) total += p[k] = Math.exp(f[m * C + k] - max);
    for (let k = 0; k < C; k++) p[k] /= total;
    for (let k = 0; k < C; k++) {
      for (let l = 0; l < C; l++) blocks[m * C * C + k * C + l] = c * ((k === l ? p[k] : 0) - p[k] * p[l]);
    }
  }
  return { blocks, M, C };
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
