// Batched small dense linear algebra on the CPU: the oracle for shaders/cholesky.wgsl,
// shaders/trisolve.wgsl, shaders/cholesky-inverse.wgsl and shaders/eigh.wgsl. Every matrix is
// copied into a float64 work array, computed in float64 and rounded once on output.
import type { TriangularSolveOptions, CholeskyResult, EighResult } from '../backend.ts';
import type { Tensor } from '../../tensor.ts';
import { choleskyInversePlan, choleskyPlan, eighPlan, triangularSolvePlan } from '../../shape-rules/linalg.ts';
import type { CpuBackend } from './cpu-backend.ts';
import { hostEigh } from '../../linalg/host-eigh.ts';

/** Smallest normal float32: a float32 pivot below it could flush to zero on a GPU, so it counts as failed there and here. */
const FLOAT32_MIN_NORMAL = 1.1754943508222875e-38;

/**
 * Column-by-column (Cholesky–Crout) factorisation. A pivot d that is not > 0 (or not finite) stops
 * the factorisation: status = its 1-based index and that column and all later ones stay zero —
 * the same partial factor the WebGPU kernel leaves.
 */
export function cholesky(backend: CpuBackend, a: Tensor): CholeskyResult {
  const p = choleskyPlan(a);
  const { n } = p;
  const src = backend.dataOf(a);
  const { tensor: factor, data: out } = backend.alloc(p.factorShape, p.dtype);
  const { tensor: status, data: codes } = backend.alloc(p.statusShape, 'int32');
  const minPivot = p.dtype === 'float32' ? FLOAT32_MIN_NORMAL : Number.MIN_VALUE;
  const l = new Float64Array(n * n);
  for (let m = 0; m < p.batch; m++) {
    const base = m * n * n;
    l.fill(0);
    for (let j = 0; j < n; j++) {
      let d = src[base + j * n + j];
      for (let k = 0; k < j; k++) d -= l[j * n + k] * l[j * n + k];
      if (!(d >= minPivot) || d === Infinity) {
        codes[m] = j + 1;
        break;
      }
      const pivot = Math.sqrt(d);
      l[j * n + j] = pivot;
      for (let i = j + 1; i < n; i++) {
        let s = src[base + i * n + j];
        for (let k = 0; k < j; k++) s -= l[i * n + k] * l[j * n + k];
        l[i * n + j] = s / pivot;
      }
    }
    out.set(l, base);
  }
  return { factor, status };
}

/** Forward (L X = B) or backward (Lᵀ X = B) substitution, one right-hand side column at a time. */
export function triangularSolve(backend: CpuBackend, l: Tensor, b: Tensor, options: TriangularSolveOptions): Tensor {
  const p = triangularSolvePlan(l, b);
  const { n, k } = p;
  const lData = backend.dataOf(l);
  const bData = backend.dataOf(b);
  const { tensor, data: out } = backend.alloc(p.outShape, p.dtype);
  const x = new Float64Array(n);
  for (let m = 0; m < p.batch; m++) {
    const lBase = m * n * n;
    const bBase = m * n * k;
    for (let c = 0; c < k; c++) {
      if (options.transpose) {
        for (let i = n - 1; i >= 0; i--) {
          let s = bData[bBase + i * k + c];
          for (let r = i + 1; r < n; r++) s -= lData[lBase + r * n + i] * x[r];
          x[i] = s / lData[lBase + i * n + i];
        }
      } else {
        for (let i = 0; i < n; i++) {
          let s = bData[bBase + i * k + c];
          for (let r = 0; r < i; r++) s -= lData[lBase + i * n + r] * x[r];
          x[i] = s / lData[lBase + i * n + i];
        }
      }
      for (let i = 0; i < n; i++) out[bBase + i * k + c] = x[i];
    }
  }
  return tensor;
}

/**
 * A⁻¹ = L⁻ᵀ L⁻¹: invert L column by column (U = L⁻ᵀ, row c of U = column c of L⁻¹), then
 * (A⁻¹)ᵢⱼ = Σ_{r ≥ max(i,j)} Uᵢᵣ Uⱼᵣ for j ≤ i, written to both triangles so the result is exactly symmetric.
 */
export function choleskyInverse(backend: CpuBackend, l: Tensor): Tensor {
  const p = choleskyInversePlan(l);
  const { n } = p;
  const lData = backend.dataOf(l);
  const { tensor, data: out } = backend.alloc(p.outShape, p.dtype);
  const u = new Float64Array(n * n);
  for (let m = 0; m < p.batch; m++) {
    const base = m * n * n;
    u.fill(0);
    for (let c = 0; c < n; c++) {
      u[c * n + c] = 1 / lData[base + c * n + c];
      for (let i = c + 1; i < n; i++) {
        let s = 0;
        for (let r = c; r < i; r++) s += lData[base + i * n + r] * u[c * n + r];
        u[c * n + i] = -s / lData[base + i * n + i];
      }
    }
    for (let i = 0; i < n; i++) {
      for (let j = 0; j <= i; j++) {
        let s = 0;
        for (let r = i; r < n; r++) s += u[i * n + r] * u[j * n + r];
        out[base + i * n + j] = s;
        out[base + j * n + i] = s;
      }
    }
  }
  return tensor;
}

/**
 * Symmetric eigendecomposition (lower triangle of A read) by the host float64 solver
 * (src/engine/linalg/host-eigh.ts), turned to this kernel's convention: ascending values (NaN last,
 * as the WebGPU kernel sorts) and orthonormal vectors as columns, in the same order.
 */
export function eigh(backend: CpuBackend, a: Tensor): EighResult {
  const p = eighPlan(a);
  const { n } = p;
  const src = backend.dataOf(a);
  const { tensor: values, data: valuesOut } = backend.alloc(p.valuesShape, p.dtype);
  const { tensor: vectors, data: vectorsOut } = backend.alloc(p.vectorsShape, p.dtype);
  for (let m = 0; m < p.batch; m++) {
    const host = hostEigh(src.subarray(m * n * n, (m + 1) * n * n), n);
    const base = m * n * n;
    ascendingOrder(host.values).forEach((from, to) => {
      valuesOut[m * n + to] = host.values[from];
      for (let i = 0; i < n; i++) vectorsOut[base + i * n + to] = host.vectors[i * n + from];
    });
  }
  return { values, vectors };
}

/**
 * Positions of the host's descending values in ascending order, NaN last; equal values keep their
 * relative order (so a zero matrix gives I, not the reversed identity).
 */
function ascendingOrder(descending: Float64Array): number[] {
  return Array.from({ length: descending.length }, (_, i) => i).sort((i, j) => {
    const [nanI, nanJ] = [Number.isNaN(descending[i]), Number.isNaN(descending[j])];
    if (nanI || nanJ) return nanI === nanJ ? i - j : nanI ? 1 : -1;
    if (descending[i] !== descending[j]) return descending[i] < descending[j] ? -1 : 1;
    return i - j;
  });
}
