// STUB: reduce kernels (webgpu).
import type { ReduceOp } from '../backend.ts';
import type { Tensor } from '../../tensor.ts';
import type { WebGPUBackend } from './webgpu-backend.ts';

export function reduce(backend: WebGPUBackend, op: ReduceOp, x: Tensor, axis: number | null, keepDims: boolean): Tensor {
  throw new Error('webgpu reduce: not implemented yet');
}

export function argmax(backend: WebGPUBackend, x: Tensor, axis: number): Tensor {
  throw new Error('webgpu argmax: not implemented yet');
}

export function softmax(backend: WebGPUBackend, x: Tensor, log: boolean): Tensor {
  throw new Error('webgpu softmax: not implemented yet');
}
