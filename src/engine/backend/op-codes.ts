// Op codes of the fast backends' kernels: the numbers are the `case` labels of the WGSL shaders
// (shaders/unary.wgsl, shaders/binary.wgsl) and of the WebAssembly kernels (assembly/elementwise.ts,
// assembly/reduce.ts), so change them together. Every op is tested against the reference on both.
import type { BinaryOp, ReduceOp, UnaryOp } from './backend.ts';

export const UNARY_CODES: Record<UnaryOp, number> = {
  neg: 0,
  abs: 1,
  exp: 2,
  log: 3,
  sqrt: 4,
  rsqrt: 5,
  square: 6,
  reciprocal: 7,
  sign: 8,
  relu: 9,
  gelu: 10,
  tanh: 11,
  sigmoid: 12,
};

export const BINARY_CODES: Record<BinaryOp, number> = {
  add: 0,
  sub: 1,
  mul: 2,
  div: 3,
  pow: 4,
  max: 5,
  min: 6,
  greater: 7,
  equal: 8,
};

export const REDUCE_CODES: Record<ReduceOp, number> = { sum: 0, mean: 1, max: 2 };
