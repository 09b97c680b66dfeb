// Elementwise kernels on the CPU: the oracle for shaders/unary.wgsl, binary.wgsl, where.wgsl.
// Arithmetic runs in JS numbers (float64) and is rounded once on store. The formulas for gelu,
// tanh and sigmoid match the WGSL ones term for term, so both backends agree to float32 rounding.
import type { BinaryOp, UnaryOp } from '../backend.ts';
import type { Tensor } from '../../tensor.ts';
import {
  checkBinary,
  checkBinaryScalar,
  checkUnary,
  checkWhere,
  collapseBroadcast,
  type BroadcastPlan,
} from '../../shape-rules/elementwise.ts';
import type { CpuBackend } from './cpu-backend.ts';

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/** tanh without overflow for large |x| (e^{-2|x|} ∈ (0, 1]), with a series near 0 to avoid cancellation. */
export function stableTanh(x: number): number {
  const ax = Math.abs(x);
  if (ax < 0.0625) {
    const x2 = x * x;
    return x * (1 + x2 * (-1 / 3 + x2 * (2 / 15)));
  }
  const e = Math.exp(-2 * ax);
  const t = (1 - e) / (1 + e);
  return x < 0 ? -t : t;
}

/** The logistic function, never evaluating exp of a positive number. */
export function stableSigmoid(x: number): number {
  const e = Math.exp(-Math.abs(x));
  return x >= 0 ? 1 / (1 + e) : e / (1 + e);
}

/** GELU, tanh approximation: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). */
export function gelu(x: number): number {
  return 0.5 * x * (1 + stableTanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)));
}

export const unaryFunctions: Record<UnaryOp, (x: number) => number> = {
  neg: (x) => -x,
  abs: Math.abs,
  exp: Math.exp,
  log: Math.log,
  sqrt: Math.sqrt,
  rsqrt: (x) => 1 / Math.sqrt(x),
  square: (x) => x * x,
  reciprocal: (x) => 1 / x,
  sign: (x) => (x > 0 ? 1 : x < 0 ? -1 : x), // keeps ±0 and NaN
  relu: (x) => (x > 0 ? x : 0),
  gelu,
  tanh: stableTanh,
  sigmoid: stableSigmoid,
};

export const binaryFunctions: Record<BinaryOp, (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  pow: Math.pow,
  max: Math.max,
  min: Math.min,
  greater: (a, b) => (a > b ? 1 : 0),
  equal: (a, b) => (a === b ? 1 : 0),
};

export function unary(backend: CpuBackend, op: UnaryOp, x: Tensor): Tensor {
  const { shape, dtype } = checkUnary(op, x);
  const { tensor, data } = backend.alloc(shape, dtype);
  const src = backend.dataOf(x);
  const f = unaryFunctions[op];
  for (let i = 0; i < src.length; i++) data[i] = f(src[i]);
  return tensor;
}

export function binary(backend: CpuBackend, op: BinaryOp, a: Tensor, b: Tensor): Tensor {
  const { shape, dtype } = checkBinary(op, a, b);
  const { tensor, data } = backend.alloc(shape, dtype);
  const f = binaryFunctions[op];
  const da = backend.dataOf(a);
  const db = backend.dataOf(b);
  const plan = collapseBroadcast(shape, [a.shape, b.shape]);
  if (plan.shape.length <= 1) {
    // Equal shapes or a one-element side: no index arithmetic.
    const [sa, sb] = plan.strides.map((st) => st[0] ?? 0);
    for (let i = 0; i < data.length; i++) data[i] = f(da[i * sa], db[i * sb]);
  } else {
    forEachBroadcast(plan, (i, [ia, ib]) => {
      data[i] = f(da[ia], db[ib]);
    });
  }
  return tensor;
}

export function binaryScalar(backend: CpuBackend, op: BinaryOp, x: Tensor, s: number, scalarFirst: boolean): Tensor {
  const { shape, dtype } = checkBinaryScalar(op, x, s);
  const { tensor, data } = backend.alloc(shape, dtype);
  const src = backend.dataOf(x);
  const f = binaryFunctions[op];
  // The scalar takes the tensor's precision, as it does on the GPU (so equal(x, 0.1) can hold).
  const v = dtype === 'float32' ? Math.fround(s) : s;
  if (scalarFirst) for (let i = 0; i < src.length; i++) data[i] = f(v, src[i]);
  else for (let i = 0; i < src.length; i++) data[i] = f(src[i], v);
  return tensor;
}

export function where(backend: CpuBackend, cond: Tensor, a: Tensor, b: Tensor): Tensor {
  const { shape, dtype } = checkWhere(cond, a, b);
  const { tensor, data } = backend.alloc(shape, dtype);
  const dc = backend.dataOf(cond);
  const da = backend.dataOf(a);
  const db = backend.dataOf(b);
  forEachBroadcast(collapseBroadcast(shape, [cond.shape, a.shape, b.shape]), (i, [ic, ia, ib]) => {
    data[i] = dc[ic] !== 0 ? da[ia] : db[ib];
  });
  return tensor;
}

/** Calls fn(outputIndex, inputIndices) for every output element in row-major order. */
function forEachBroadcast({ shape, strides }: BroadcastPlan, fn: (i: number, at: number[]) => void): void {
  const count = shape.reduce((p, d) => p * d, 1);
  const rank = shape.length;
  const coord = new Array<number>(rank).fill(0);
  const at = new Array<number>(strides.length).fill(0);
  for (let i = 0; i < count; i++) {
    fn(i, at);
    // Odometer step: bump the last dim, carrying into earlier ones.
    for (let d = rank - 1; d >= 0; d--) {
      coord[d]++;
      for (let k = 0; k < at.length; k++) at[k] += strides[k][d];
      if (coord[d] < shape[d]) break;
      for (let k = 0; k < at.length; k++) at[k] -= strides[k][d] * shape[d];
      coord[d] = 0;
    }
  }
}
