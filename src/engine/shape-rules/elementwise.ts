// Shape and dtype rules of the elementwise family (unary, binary, binaryScalar, where, cast),
// shared by the CPU twin and the WebGPU dispatch.
//
// Dtypes: arithmetic is defined on floats only. unary/binary/binaryScalar and where's two value
// operands must be float32 (or float64, CPU only); int32 inputs are rejected with a ShapeError that
// says to cast first, so that no op silently changes integer semantics (division, overflow). The
// result is float64 when any float input is float64, else float32. where's condition may be any
// dtype (it is only tested against zero).
import type { BinaryOp, UnaryOp } from '../backend/backend.ts';
import { shapeToString, type DType, type Shape, type Tensor } from '../tensor.ts';
import { broadcastShapes, broadcastStrides, resultFloatType, sameBackend, ShapeError } from './shape.ts';

export const UNARY_OPS: readonly UnaryOp[] = [
  'neg',
  'abs',
  'exp',
  'log',
  'sqrt',
  'rsqrt',
  'square',
  'reciprocal',
  'sign',
  'relu',
  'gelu',
  'tanh',
  'sigmoid',
];

export const BINARY_OPS: readonly BinaryOp[] = ['add', 'sub', 'mul', 'div', 'pow', 'max', 'min', 'greater', 'equal'];

/** Most dims a broadcast kernel takes after collapsing (the WGSL uniform holds two vec4 per operand). */
export const MAX_BROADCAST_RANK = 8;

export interface ElementwiseResult {
  shape: number[];
  dtype: DType;
}

function requireFloat(t: Tensor, what: string): void {
  if (t.dtype === 'int32') {
    throw new ShapeError(`${what}: expected a float32 or float64 tensor, got int32 ${shapeToString(t.shape)} (cast it to float32 first)`);
  }
}

export function checkUnary(op: UnaryOp, x: Tensor): ElementwiseResult {
  if (!UNARY_OPS.includes(op)) throw new Error(`unary: unknown op "${op}"`);
  requireFloat(x, `unary ${op}`);
  return { shape: [...x.shape], dtype: x.dtype };
}

function checkBinaryOp(op: BinaryOp, what: string): void {
  if (!BINARY_OPS.includes(op)) throw new Error(`${what}: unknown op "${op}"`);
}

export function checkBinary(op: BinaryOp, a: Tensor, b: Tensor): ElementwiseResult {
  const what = `binary ${op}`;
  checkBinaryOp(op, what);
  sameBackend(what, a, b);
  requireFloat(a, what);
  requireFloat(b, what);
  return { shape: broadcastFor(what, a.shape, b.shape), dtype: resultFloatType(a, b) };
}

export function checkBinaryScalar(op: BinaryOp, x: Tensor, s: number): ElementwiseResult {
  const what = `binaryScalar ${op}`;
  checkBinaryOp(op, what);
  if (typeof s !== 'number') throw new Error(`${what}: the scalar must be a number, got ${typeof s}`);
  requireFloat(x, what);
  return { shape: [...x.shape], dtype: x.dtype };
}

export function checkWhere(cond: Tensor, a: Tensor, b: Tensor): ElementwiseResult {
  sameBackend('where', cond, a, b);
  requireFloat(a, 'where (value a)');
  requireFloat(b, 'where (value b)');
  return { shape: broadcastFor('where', cond.shape, a.shape, b.shape), dtype: resultFloatType(a, b) };
}

/** broadcastShapes, with the op's name in the error. */
function broadcastFor(what: string, ...shapes: Shape[]): number[] {
  try {
    return broadcastShapes(...shapes);
  } catch (e) {
    if (e instanceof ShapeError) throw new ShapeError(`${what}: ${e.message}`);
    throw e;
  }
}

export interface BroadcastPlan {
  /** The output's shape with size-1 dims dropped and mergeable neighbours merged. */
  shape: number[];
  /** Per input, its element strides along `shape` (0 where it is broadcast). */
  strides: number[][];
}

/**
 * Collapse a broadcast to the fewest dims: drop size-1 output dims, and merge neighbouring dims
 * wherever every input walks them as one (stride[i] = stride[i+1]·shape[i+1], which includes two
 * broadcast dims). [3,1,5]×[1,4,1] stays rank 3; [17]×[63,17] becomes rank 2; equal shapes become rank 1.
 */
export function collapseBroadcast(outShape: Shape, inputShapes: readonly Shape[]): BroadcastPlan {
  const full = inputShapes.map((s) => broadcastStrides(s, outShape));
  const shape: number[] = [];
  const strides: number[][] = inputShapes.map(() => []);
  for (let d = 0; d < outShape.length; d++) {
    if (outShape[d] === 1) continue;
    const last = shape.length - 1;
    const mergeable = last >= 0 && full.every((st, k) => strides[k][last] === st[d] * outShape[d]);
    if (mergeable) {
      shape[last] *= outShape[d];
      full.forEach((st, k) => (strides[k][last] = st[d]));
    } else {
      shape.push(outShape[d]);
      full.forEach((st, k) => strides[k].push(st[d]));
    }
  }
  return { shape, strides };
}
