// STUB: elementwise kernels (webgpu).
import type { UnaryOp, BinaryOp } from '../backend.ts';
import type { Tensor, DType } from '../../tensor.ts';
import type { WebGPUBackend } from './webgpu-backend.ts';

export function unary(backend: WebGPUBackend, op: UnaryOp, x: Tensor): Tensor {
  throw new Error('webgpu unary: not implemented yet');
}

export function binary(backend: WebGPUBackend, op: BinaryOp, a: Tensor, b: Tensor): Tensor {
  throw new Error('webgpu binary: not implemented yet');
}

export function binaryScalar(backend: WebGPUBackend, op: BinaryOp, x: Tensor, s: number, scalarFirst: boolean): Tensor {
  throw new Error('webgpu binaryScalar: not implemented yet');
}

export function where(backend: WebGPUBackend, cond: Tensor, a: Tensor, b: Tensor): Tensor {
  throw new Error('webgpu where: not implemented yet');
}

export function cast(backend: WebGPUBackend, x: Tensor, dtype: DType): Tensor {
  throw new Error('webgpu cast: not implemented yet');
}
