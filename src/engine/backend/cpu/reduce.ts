// STUB: reduce kernels (cpu).
import type { ReduceOp } from '../backend.ts';
import type { Tensor } from '../../tensor.ts';
import type { CpuBackend } from './cpu-backend.ts';

export function reduce(backend: CpuBackend, op: ReduceOp, x: Tensor, axis: number | null, keepDims: boolean): Tensor {
  throw new Error('cpu reduce: not implemented yet');
}

export function argmax(backend: CpuBackend, x: Tensor, axis: number): Tensor {
  throw new Error('cpu argmax: not implemented yet');
}

export function softmax(backend: CpuBackend, x: Tensor, log: boolean): Tensor {
  throw new Error('cpu softmax: not implemented yet');
}
