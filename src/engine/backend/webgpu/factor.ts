// STUB: factor kernels (webgpu).
import type { FactorOptions } from '../backend.ts';
import type { Tensor } from '../../tensor.ts';
import type { WebGPUBackend } from './webgpu-backend.ts';

export function factor(backend: WebGPUBackend, x: Tensor, options: FactorOptions): Tensor {
  throw new Error('webgpu factor: not implemented yet');
}

export function sharedReduce(backend: WebGPUBackend, x: Tensor, op: 'mean' | 'sum'): Tensor {
  throw new Error('webgpu sharedReduce: not implemented yet');
}
