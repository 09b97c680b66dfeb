// Shape rules of the reduction family (reduce, argmax, softmax, logSoftmax), shared by the CPU
// twin and the WebGPU dispatch. Every reduction views its input as [outer, axisLen, inner]: the
// reduced axis in the middle, everything before it flattened into `outer`, everything after into
// `inner`. Reducing everything is the case outer = inner = 1. Inputs must be float32 or float64.
import type { ReduceOp } from '../backend/backend.ts';
import { shapeToString, type DType, type Tensor } from '../tensor.ts';
import { normalizeAxis, ShapeError } from './shape.ts';

export const REDUCE_OPS: readonly ReduceOp[] = ['sum', 'mean', 'max'];

export interface ReducePlan {
  outShape: number[];
  outer: number;
  axisLen: number;
  inner: number;
  dtype: DType;
}

function requireFloat(x: Tensor, what: string): void {
  if (x.dtype === 'int32') {
    throw new ShapeError(`${what}: expected a float32 or float64 tensor, got int32 ${shapeToString(x.shape)} (cast it to float32 first)`);
  }
}

function axisFor(what: string, axis: number, x: Tensor): number {
  try {
    return normalizeAxis(axis, x.rank);
  } catch (e) {
    if (e instanceof ShapeError)
      throw new ShapeError(`${what}: axis ${axis} is out of range for a tensor of shape ${shapeToString(x.shape)}`);
    throw e;
  }
}

function splitAt(shape: readonly number[], axis: number): { outer: number; axisLen: number; inner: number } {
  let outer = 1;
  let inner = 1;
  for (let d = 0; d < axis; d++) outer *= shape[d];
  for (let d = axis + 1; d < shape.length; d++) inner *= shape[d];
  return { outer, axisLen: shape[axis], inner };
}

/** Over one axis (negative counts from the end) or, with axis null, over everything. */
export function planReduce(op: ReduceOp, x: Tensor, axis: number | null, keepDims: boolean): ReducePlan {
  const what = `reduce ${op}`;
  if (!REDUCE_OPS.includes(op)) throw new Error(`reduce: unknown op "${op}"`);
  requireFloat(x, what);
  if (axis === null) {
    return { outShape: keepDims ? x.shape.map(() => 1) : [], outer: 1, axisLen: x.size, inner: 1, dtype: x.dtype };
  }
  const a = axisFor(what, axis, x);
  const outShape = keepDims ? x.shape.map((d, i) => (i === a ? 1 : d)) : x.shape.filter((_, i) => i !== a);
  return { outShape, ...splitAt(x.shape, a), dtype: x.dtype };
}

/** argmax removes the axis; the result is int32. An empty axis has no maximum. */
export function planArgmax(x: Tensor, axis: number): ReducePlan {
  requireFloat(x, 'argmax');
  if (typeof axis !== 'number') throw new ShapeError(`argmax: axis must be a number, got ${String(axis)}`);
  const a = axisFor('argmax', axis, x);
  const split = splitAt(x.shape, a);
  if (split.axisLen === 0) throw new ShapeError(`argmax: axis ${axis} of ${shapeToString(x.shape)} is empty`);
  return { outShape: x.shape.filter((_, i) => i !== a), ...split, dtype: 'int32' };
}

export interface SoftmaxPlan {
  rows: number;
  rowLen: number;
  dtype: DType;
}

/** softmax / logSoftmax over the last axis; the output has the input's shape. */
export function planSoftmax(x: Tensor, log: boolean): SoftmaxPlan {
  const what = log ? 'logSoftmax' : 'softmax';
  requireFloat(x, what);
  if (x.rank === 0) throw new ShapeError(`${what}: expected rank at least 1, got []`);
  const rowLen = x.shape[x.rank - 1];
  return { rows: rowLen === 0 ? 0 : x.size / rowLen, rowLen, dtype: x.dtype };
}
