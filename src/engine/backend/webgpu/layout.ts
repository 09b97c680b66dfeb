// STUB: layout kernels (webgpu).
import type { Conv2dGeometry } from '../backend.ts';
import type { Tensor, Shape } from '../../tensor.ts';
import type { WebGPUBackend } from './webgpu-backend.ts';

export function permute(backend: WebGPUBackend, x: Tensor, perm: readonly number[]): Tensor {
  throw new Error('webgpu permute: not implemented yet');
}

export function slice(backend: WebGPUBackend, x: Tensor, begin: readonly number[], size: readonly number[]): Tensor {
  throw new Error('webgpu slice: not implemented yet');
}

export function concat(backend: WebGPUBackend, xs: readonly Tensor[], axis: number): Tensor {
  throw new Error('webgpu concat: not implemented yet');
}

export function gather(backend: WebGPUBackend, x: Tensor, indices: Tensor): Tensor {
  throw new Error('webgpu gather: not implemented yet');
}

export function scatterAdd(backend: WebGPUBackend, src: Tensor, indices: Tensor, numRows: number): Tensor {
  throw new Error('webgpu scatterAdd: not implemented yet');
}

export function im2col(backend: WebGPUBackend, x: Tensor, geometry: Conv2dGeometry): Tensor {
  throw new Error('webgpu im2col: not implemented yet');
}

export function col2im(backend: WebGPUBackend, cols: Tensor, inputShape: Shape, geometry: Conv2dGeometry): Tensor {
  throw new Error('webgpu col2im: not implemented yet');
}
