// STUB: elementwise kernels (cpu).
import type { UnaryOp, BinaryOp } from '../backend.ts';
import type { Tensor } from '../../tensor.ts';
import type { CpuBackend } from './cpu-backend.ts';

export function unary(backend: CpuBackend, op: UnaryOp, x: Tensor): Tensor {
  throw new Error('cpu unary: not implemented yet');
}

export function binary(backend: CpuBackend, op: BinaryOp, a: Tensor, b: Tensor): Tensor {
  throw new Error('cpu binary: not implemented yet');
}

export function binaryScalar(backend: CpuBackend, op: BinaryOp, x: Tensor, s: number, scalarFirst: boolean): Tensor {
  throw new Error('cpu binaryScalar: not implemented yet');
}

export function where(backend: CpuBackend, cond: Tensor, a: Tensor, b: Tensor): Tensor {
  throw new Error('cpu where: not implemented yet');
}
