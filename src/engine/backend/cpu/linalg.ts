// STUB: linalg kernels (cpu).
import type { TriangularSolveOptions, CholeskyResult, EighResult } from '../backend.ts';
import type { Tensor } from '../../tensor.ts';
import type { CpuBackend } from './cpu-backend.ts';

export function cholesky(backend: CpuBackend, a: Tensor): CholeskyResult {
  throw new Error('cpu cholesky: not implemented yet');
}

export function triangularSolve(backend: CpuBackend, l: Tensor, b: Tensor, options: TriangularSolveOptions): Tensor {
  throw new Error('cpu triangularSolve: not implemented yet');
}

export function choleskyInverse(backend: CpuBackend, l: Tensor): Tensor {
  throw new Error('cpu choleskyInverse: not implemented yet');
}

export function eigh(backend: CpuBackend, a: Tensor): EighResult {
  throw new Error('cpu eigh: not implemented yet');
}
