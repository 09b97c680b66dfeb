// STUB: layout kernels (cpu).
import type { Conv2dGeometry } from '../backend.ts';
import type { Tensor, Shape } from '../../tensor.ts';
import type { CpuBackend } from './cpu-backend.ts';

export function permute(backend: CpuBackend, x: Tensor, perm: readonly number[]): Tensor {
  throw new Error('cpu permute: not implemented yet');
}

export function slice(backend: CpuBackend, x: Tensor, begin: readonly number[], size: readonly number[]): Tensor {
  throw new Error('cpu slice: not implemented yet');
}

export function concat(backend: CpuBackend, xs: readonly Tensor[], axis: number): Tensor {
  throw new Error('cpu concat: not implemented yet');
}

export function gather(backend: CpuBackend, x: Tensor, indices: Tensor): Tensor {
  throw new Error('cpu gather: not implemented yet');
}

export function scatterAdd(backend: CpuBackend, src: Tensor, indices: Tensor, numRows: number): Tensor {
  throw new Error('cpu scatterAdd: not implemented yet');
}

export function im2col(backend: CpuBackend, x: Tensor, geometry: Conv2dGeometry): Tensor {
  throw new Error('cpu im2col: not implemented yet');
}

export function col2im(backend: CpuBackend, cols: Tensor, inputShape: Shape, geometry: Conv2dGeometry): Tensor {
  throw new Error('cpu col2im: not implemented yet');
}
