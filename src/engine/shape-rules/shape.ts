// Shape rules shared by every kernel family and both backends.
import { shapeToString, sizeOf, type DType, type Shape, type Tensor } from '../tensor.ts';

export class ShapeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ShapeError';
  }
}

/** Row-major strides (in elements). */
export function stridesOf(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

/** NumPy broadcasting of any number of shapes. */
export function broadcastShapes(...shapes: Shape[]): number[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const o = rank - s.length + i;
      const d = s[i];
      if (out[o] === 1) out[o] = d;
      else if (d !== 1 && d !== out[o]) {
        throw new ShapeError(`shapes ${shapes.map(shapeToString).join(' and ')} do not broadcast`);
      }
    }
  }
  return out;
}

/**
 * Strides of `shape` seen through a broadcast to `outShape`: 0 along broadcast dims,
 * left-padded with zeros to the output rank.
 */
export function broadcastStrides(shape: Shape, outShape: Shape): number[] {
  const own = stridesOf(shape);
  const out = new Array<number>(outShape.length).fill(0);
  for (let i = 0; i < shape.length; i++) {
    const o = outShape.length - shape.length + i;
    out[o] = shape[i] === 1 ? 0 : own[i];
  }
  return out;
}

/** Resolve a possibly negative axis against a rank. */
export function normalizeAxis(axis: number, rank: number): number {
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) {
    throw new ShapeError(`axis ${axis} is out of range for a tensor of rank ${rank}`);
  }
  return axis < 0 ? axis + rank : axis;
}

export function checkReshape(from: Shape, to: Shape): void {
  if (sizeOf(from) !== sizeOf(to)) {
    throw new ShapeError(`cannot reshape ${shapeToString(from)} (${sizeOf(from)} elements) to ${shapeToString(to)}`);
  }
}

export function requireRank(t: Tensor, min: number, what: string, max = Infinity): void {
  if (t.rank < min || t.rank > max) {
    const want = max === Infinity ? `at least ${min}` : min === max ? `${min}` : `${min} to ${max}`;
    throw new ShapeError(`${what}: expected rank ${want}, got ${shapeToString(t.shape)}`);
  }
}

export function requireDType(t: Tensor, dtypes: readonly DType[], what: string): void {
  if (!dtypes.includes(t.dtype)) throw new ShapeError(`${what}: expected ${dtypes.join(' or ')}, got ${t.dtype}`);
}

export function sameBackend(what: string, ...ts: Tensor[]): void {
  const b = ts[0].backend;
  for (const t of ts) if (t.backend !== b) throw new ShapeError(`${what}: tensors live on different backends`);
}

/** The dtype of a result combining several float inputs (float64 wins, so CPU checks stay exact). */
export function resultFloatType(...ts: Tensor[]): DType {
  return ts.some((t) => t.dtype === 'float64') ? 'float64' : 'float32';
}
