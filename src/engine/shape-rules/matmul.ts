// Shape rules of the matmul family, shared by the CPU twin and the WebGPU dispatch.
// [..., m, k] × [..., k, n] → [..., m, n]; the batch dims (all but the last two) broadcast as in NumPy.
import type { MatmulOptions } from '../backend/backend.ts';
import { shapeToString, sizeOf, type Tensor } from '../tensor.ts';
import { broadcastShapes, broadcastStrides, requireDType, requireRank, sameBackend, ShapeError } from './shape.ts';

export interface MatmulPlan {
  m: number;
  n: number;
  k: number;
  transA: boolean;
  transB: boolean;
  /** The broadcast batch shape (may be []). */
  batchShape: number[];
  batchCount: number;
  outShape: number[];
  /** Element offsets of each batch dim in a and b (0 along broadcast dims), aligned with batchShape. */
  aBatchStrides: number[];
  bBatchStrides: number[];
}

function describe(t: Tensor, transposed: boolean): string {
  return `${shapeToString(t.shape)}${transposed ? ' (transposed)' : ''}`;
}

/** Validates a matmul and works out its sizes; throws ShapeError naming the op and the shapes. */
export function planMatmul(a: Tensor, b: Tensor, options: MatmulOptions = {}): MatmulPlan {
  const transA = options.transA ?? false;
  const transB = options.transB ?? false;
  requireRank(a, 2, 'matmul: a');
  requireRank(b, 2, 'matmul: b');
  requireDType(a, ['float32', 'float64'], 'matmul: a');
  requireDType(b, ['float32', 'float64'], 'matmul: b');
  sameBackend('matmul', a, b);
  const [aRows, aCols] = a.shape.slice(-2);
  const [bRows, bCols] = b.shape.slice(-2);
  const m = transA ? aCols : aRows;
  const kA = transA ? aRows : aCols;
  const kB = transB ? bCols : bRows;
  const n = transB ? bRows : bCols;
  if (kA !== kB) {
    throw new ShapeError(`matmul: inner dimensions differ: a ${describe(a, transA)} has k = ${kA}, b ${describe(b, transB)} has k = ${kB}`);
  }
  const aBatch = a.shape.slice(0, -2);
  const bBatch = b.shape.slice(0, -2);
  let batchShape: number[];
  try {
    batchShape = broadcastShapes(aBatch, bBatch);
  } catch (e) {
    if (!(e instanceof ShapeError)) throw e;
    throw new ShapeError(`matmul: batch dims of a ${shapeToString(a.shape)} and b ${shapeToString(b.shape)} do not broadcast`);
  }
  const aMatrix = m * kA;
  const bMatrix = kA * n;
  return {
    m,
    n,
    k: kA,
    transA,
    transB,
    batchShape,
    batchCount: sizeOf(batchShape),
    outShape: [...batchShape, m, n],
    aBatchStrides: broadcastStrides(aBatch, batchShape).map((s) => s * aMatrix),
    bBatchStrides: broadcastStrides(bBatch, batchShape).map((s) => s * bMatrix),
  };
}

export interface CollapsedBatch {
  /** Batch dims after merging and dropping size-1 dims, outermost first. */
  sizes: number[];
  aStrides: number[];
  bStrides: number[];
}

/**
 * The batch dims with size-1 dims dropped and neighbours merged wherever both operands step through
 * them as one dim (e.g. [2, 3] × [2, 3] becomes [6]); most matmuls end up with at most one batch dim.
 */
export function collapseBatch(plan: MatmulPlan): CollapsedBatch {
  const sizes: number[] = [];
  const aStrides: number[] = [];
  const bStrides: number[] = [];
  plan.batchShape.forEach((size, i) => {
    if (size === 1) return;
    const aStride = plan.aBatchStrides[i];
    const bStride = plan.bBatchStrides[i];
    const last = sizes.length - 1;
    if (last >= 0 && aStrides[last] === aStride * size && bStrides[last] === bStride * size) {
      sizes[last] *= size;
      aStrides[last] = aStride;
      bStrides[last] = bStride;
    } else {
      sizes.push(size);
      aStrides.push(aStride);
      bStrides.push(bStride);
    }
  });
  return { sizes, aStrides, bStrides };
}

/** Element offsets into a and b of the batch entry with row-major index `index` in the output batch. */
export function batchOffsets(batch: CollapsedBatch, index: number): { aOffset: number; bOffset: number } {
  let aOffset = 0;
  let bOffset = 0;
  let rest = index;
  for (let d = batch.sizes.length - 1; d >= 0; d--) {
    const i = rest % batch.sizes[d];
    rest = Math.floor(rest / batch.sizes[d]);
    aOffset += i * batch.aStrides[d];
    bOffset += i * batch.bStrides[d];
  }
  return { aOffset, bOffset };
}

/** Element strides of the logical operands: A(i, p) = a[i·aRow + p·aCol], B(p, j) = b[p·bRow + j·bCol]. */
export function operandStrides(plan: MatmulPlan): { aRow: number; aCol: number; bRow: number; bCol: number } {
  const { m, n, k, transA, transB } = plan;
  return {
    aRow: transA ? 1 : k,
    aCol: transA ? m : 1,
    bRow: transB ? 1 : n,
    bCol: transB ? k : 1,
  };
}
