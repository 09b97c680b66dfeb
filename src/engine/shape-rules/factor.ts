// Shape rules of the K-FAC factor family (docs/kfac.md §2), shared by the CPU twin and WebGPU:
//   factor:       C = α Xᵀ diag(w) X + β C₀ for X [M, d] or [B, M, d]  →  [d, d] or [B, d, d]
//   sharedReduce: [N, R, d] → [N, d], mean (â) or sum (b̂) over the weight-sharing dim.
import type { FactorOptions } from '../backend/backend.ts';
import { shapeToString, type Tensor } from '../tensor.ts';
import { requireDType, requireRank, sameBackend, ShapeError } from './shape.ts';

export interface FactorPlan {
  /** Matrices in the batch (1 when X is [M, d]). */
  batch: number;
  rows: number;
  dim: number;
  outShape: number[];
  alpha: number;
  beta: number;
  /** Read only when beta ≠ 0 (its upper triangle, mirrored: see factor). */
  accumulator: Tensor | null;
  rowWeights: Tensor | null;
  /** rowWeights is [M] and shared by every matrix of a batch. */
  sharedWeights: boolean;
}

/**
 * Validate factor's inputs. The accumulator is read from its upper triangle (i ≤ j) and mirrored,
 * so the result stays exactly symmetric even if C₀ is not; it is ignored when beta = 0.
 */
export function factorPlan(x: Tensor, options: FactorOptions): FactorPlan {
  requireRank(x, 2, `factor: X ${shapeToString(x.shape)}`, 3);
  requireDType(x, ['float32', 'float64'], 'factor: X');
  const batched = x.rank === 3;
  const batch = batched ? x.shape[0] : 1;
  const rows = x.shape[x.rank - 2];
  const dim = x.shape[x.rank - 1];
  const outShape = batched ? [batch, dim, dim] : [dim, dim];
  const alpha = options.alpha ?? 1;
  const beta = options.beta ?? 0;
  if (!Number.isFinite(alpha) || !Number.isFinite(beta)) throw new ShapeError(`factor: alpha ${alpha} and beta ${beta} must be finite`);
  let accumulator: Tensor | null = null;
  if (beta !== 0) {
    const c = options.accumulator;
    if (!c) throw new ShapeError(`factor: beta = ${beta} needs an accumulator of shape ${shapeToString(outShape)}`);
    sameBackend('factor', x, c);
    requireDType(c, ['float32', 'float64'], 'factor: accumulator');
    if (c.rank !== outShape.length || c.shape.some((s, k) => s !== outShape[k])) {
      throw new ShapeError(
        `factor: accumulator ${shapeToString(c.shape)} does not match the factor ${shapeToString(outShape)} of X ${shapeToString(x.shape)}`,
      );
    }
    accumulator = c;
  }
  const w = options.rowWeights ?? null;
  let sharedWeights = true;
  if (w) {
    sameBackend('factor', x, w);
    requireDType(w, ['float32', 'float64'], 'factor: rowWeights');
    const ok = (w.rank === 1 && w.shape[0] === rows) || (batched && w.rank === 2 && w.shape[0] === batch && w.shape[1] === rows);
    if (!ok) {
      const want = batched ? `[${rows}] or [${batch}, ${rows}]` : `[${rows}]`;
      throw new ShapeError(`factor: rowWeights ${shapeToString(w.shape)} for X ${shapeToString(x.shape)}: expected ${want}`);
    }
    sharedWeights = w.rank === 1;
  }
  return { batch, rows, dim, outShape, alpha, beta, accumulator, rowWeights: w, sharedWeights };
}

export function sharedReduceShape(x: Tensor, op: 'mean' | 'sum'): number[] {
  requireRank(x, 3, `sharedReduce: x ${shapeToString(x.shape)} (expected [N, R, d])`, 3);
  requireDType(x, ['float32', 'float64'], 'sharedReduce');
  if (op !== 'mean' && op !== 'sum') throw new ShapeError(`sharedReduce: op must be 'mean' or 'sum', got '${String(op)}'`);
  return [x.shape[0], x.shape[2]];
}
