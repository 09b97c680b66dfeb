// STUB: linalg kernels (webgpu).
import type { TriangularSolveOptions, CholeskyResult, EighResult } from '../backend.ts';
import type { Tensor } from '../../tensor.ts';
import type { WebGPUBackend } from './webgpu-backend.ts';

export function cholesky(backend: WebGPUBackend, a: Tensor): CholeskyResult {
  throw new Error('webgpu cholesky: not implemented yet');
}

export function triangularSolve(backend: WebGPUBackend, l: Tensor, b: Tensor, options: TriangularSolveOptions): Tensor {
  throw new Error('webgpu triangularSolve: not implemented yet');
}

export function choleskyInverse(backend: WebGPUBackend, l: Tensor): Tensor {
  throw new Error('webgpu choleskyInverse: not implemented yet');
}

export function eigh(backend: WebGPUBackend, a: Tensor): EighResult {
  throw new Error('webgpu eigh: not implemented yet');
}
