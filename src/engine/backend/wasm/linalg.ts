// Batched small dense linear algebra on the WASM backend: Cholesky, triangular solves and the
// Cholesky inverse run in assembly/linalg.ts (f64 inside, float32 out); eigh calls the project's one
// float64 host eigensolver (src/engine/linalg/host-eigh.ts) on each matrix, as the reference does.
import type { CholeskyResult, EighResult, TriangularSolveOptions } from '../backend.ts';
import type { Tensor } from '../../tensor.ts';
import { choleskyInversePlan, choleskyPlan, eighPlan, triangularSolvePlan } from '../../shape-rules/linalg.ts';
import { hostEigh } from '../../linalg/host-eigh.ts';
import type { WasmBackend } from './wasm-backend.ts';

/** Smallest normal float32: a smaller pivot counts as failed, as on the other backends. */
const FLOAT32_MIN_NORMAL = 1.1754943508222875e-38;

export function cholesky(backend: WasmBackend, a: Tensor): CholeskyResult {
  const p = choleskyPlan(a);
  const factor = backend.alloc(p.factorShape, 'float32');
  const status = backend.alloc(p.statusShape, 'int32');
  const scratch = backend.scratch(p.n * p.n * 8);
  backend.kernels.cholesky(backend.ptr(a), factor.ptr, status.ptr, p.batch, p.n, FLOAT32_MIN_NORMAL, scratch);
  return { factor: factor.tensor, status: status.tensor };
}

export function triangularSolve(backend: WasmBackend, l: Tensor, b: Tensor, options: TriangularSolveOptions): Tensor {
  const p = triangularSolvePlan(l, b);
  const { tensor, ptr } = backend.alloc(p.outShape, 'float32');
  const scratch = backend.scratch(p.n * 8);
  backend.kernels.triangularSolve(backend.ptr(l), backend.ptr(b), ptr, p.batch, p.n, p.k, options.transpose ?? false, scratch);
  return tensor;
}

export function choleskyInverse(backend: WasmBackend, l: Tensor): Tensor {
  const p = choleskyInversePlan(l);
  const { tensor, ptr } = backend.alloc(p.outShape, 'float32');
  const scratch = backend.scratch(p.n * p.n * 8);
  backend.kernels.choleskyInverse(backend.ptr(l), ptr, p.batch, p.n, scratch);
  return tensor;
}

export function eigh(backend: WasmBackend, a: Tensor): EighResult {
  const p = eighPlan(a);
  const { n } = p;
  const values = backend.alloc(p.valuesShape, 'float32').tensor;
  const vectors = backend.alloc(p.vectorsShape, 'float32').tensor;
  const src = backend.view(a);
  const valuesOut = backend.view(values);
  const vectorsOut = backend.view(vectors);
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

/** Positions of descending values in ascending order, NaN last, ties in their original order (as the reference). */
function ascendingOrder(descending: Float64Array): number[] {
  return Array.from({ length: descending.length }, (_, i) => i).sort((i, j) => {
    const [nanI, nanJ] = [Number.isNaN(descending[i]), Number.isNaN(descending[j])];
    if (nanI || nanJ) return nanI === nanJ ? i - j : nanI ? 1 : -1;
    if (descending[i] !== descending[j]) return descending[i] < descending[j] ? -1 : 1;
    return i - j;
  });
}
