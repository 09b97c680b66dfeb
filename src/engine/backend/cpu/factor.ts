// STUB: factor kernels (cpu).
import type { FactorOptions } from '../backend.ts';
import type { Tensor } from '../../tensor.ts';
import type { CpuBackend } from './cpu-backend.ts';

export function factor(backend: CpuBackend, x: Tensor, options: FactorOptions): Tensor {
  throw new Error('cpu factor: not implemented yet');
}

export function sharedReduce(backend: CpuBackend, x: Tensor, op: 'mean' | 'sum'): Tensor {
  throw new Error('cpu sharedReduce: not implemented yet');
}
