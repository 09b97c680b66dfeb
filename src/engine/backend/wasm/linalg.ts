// Batched small dense linear algebra on the WASM backend, all in assembly/linalg.ts (f64 inside,
// float32 out): Cholesky, triangular solves, the Cholesky inverse, and eigh by cyclic Jacobi
// rotations (a different method from the reference's Householder + QR, so the tests compare two
// independent solvers), in the reference's output conventions.
import type { CholeskyResult, EighResult, TriangularSolveOptions } from '../backend.ts';
import type { Tensor } from '../../tensor.ts';
import { choleskyInversePlan, choleskyPlan, eighPlan, triangularSolvePlan } from '../../shape-rules/linalg.ts';
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
  const values = backend.alloc(p.valuesShape, 'float32');
  const vectors = backend.alloc(p.vectorsShape, 'float32');
  const scratch = backend.scratch(8 * (2 * p.n * p.n + 2 * p.n));
  backend.kernels.eigh(backend.ptr(a), values.ptr, vectors.ptr, p.batch, p.n, scratch);
  return { values: values.tensor, vectors: vectors.tensor };
}
