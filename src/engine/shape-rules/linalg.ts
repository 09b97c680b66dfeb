// Shape rules of the batched small dense linear algebra family (K-FAC inverts many damped factors
// every T_inv steps, docs/kfac.md §4), shared by the CPU twin and WebGPU, plus checked helpers
// that work on any backend:
//   cholesky:         A [..., n, n] → factor L [..., n, n] (lower, zeros above), status int32 [...]
//   triangularSolve:  L [..., n, n], B [..., n, k] → X [..., n, k] with L X = B (or Lᵀ X = B)
//   choleskyInverse:  L [..., n, n] → A⁻¹ = L⁻ᵀ L⁻¹ [..., n, n], exactly symmetric
//   eigh:             A [..., n, n] → values [..., n] ascending, vectors [..., n, n] (columns)
// cholesky and eigh read only the lower triangle of A (j ≤ i) and treat A as its mirror image.
import type { Backend } from '../backend/backend.ts';
import { readAndDispose, shapeToString, sizeOf, type DType, type Tensor } from '../tensor.ts';
import { requireDType, requireRank, resultFloatType, sameBackend, ShapeError } from './shape.ts';

/** A batch of square matrices [..., n, n], flattened to `batch` matrices for the kernels. */
export interface SquarePlan {
  batchShape: number[];
  batch: number;
  n: number;
  dtype: DType;
}

/** Validate a batch of square float matrices for `op`. */
export function squarePlan(op: string, a: Tensor, what = 'A'): SquarePlan {
  requireRank(a, 2, `${op}: ${what} ${shapeToString(a.shape)} (expected [..., n, n])`);
  requireDType(a, ['float32', 'float64'], `${op}: ${what}`);
  const n = a.shape[a.rank - 1];
  if (a.shape[a.rank - 2] !== n) throw new ShapeError(`${op}: ${what} ${shapeToString(a.shape)} is not square in its last two dims`);
  const batchShape = a.shape.slice(0, -2);
  return { batchShape, batch: sizeOf(batchShape), n, dtype: resultFloatType(a) };
}

export interface CholeskyPlan extends SquarePlan {
  factorShape: number[];
  statusShape: number[];
}

/** cholesky: factor [..., n, n] and int32 status [...]. Only the lower triangle of A is read. */
export function choleskyPlan(a: Tensor): CholeskyPlan {
  const p = squarePlan('cholesky', a);
  return { ...p, factorShape: [...a.shape], statusShape: p.batchShape };
}

export interface TriangularSolvePlan extends SquarePlan {
  /** Right-hand sides per matrix. */
  k: number;
  outShape: number[];
}

/** triangularSolve: L [..., n, n] and B [..., n, k] with exactly the same batch dims (no broadcasting). */
export function triangularSolvePlan(l: Tensor, b: Tensor): TriangularSolvePlan {
  const p = squarePlan('triangularSolve', l, 'L');
  sameBackend('triangularSolve', l, b);
  requireRank(b, 2, `triangularSolve: B ${shapeToString(b.shape)} (expected [..., n, k])`);
  requireDType(b, ['float32', 'float64'], 'triangularSolve: B');
  const bBatch = b.shape.slice(0, -2);
  const sameBatch = bBatch.length === p.batchShape.length && bBatch.every((d, i) => d === p.batchShape[i]);
  if (!sameBatch || b.shape[b.rank - 2] !== p.n) {
    throw new ShapeError(
      `triangularSolve: B ${shapeToString(b.shape)} does not fit L ${shapeToString(l.shape)}: expected [${[...p.batchShape, p.n].join(', ')}, k] (batch dims must equal L's)`,
    );
  }
  const k = b.shape[b.rank - 1];
  return { ...p, k, outShape: [...b.shape], dtype: resultFloatType(l, b) };
}

/** choleskyInverse: L [..., n, n] → [..., n, n]. */
export function choleskyInversePlan(l: Tensor): SquarePlan & { outShape: number[] } {
  return { ...squarePlan('choleskyInverse', l, 'L'), outShape: [...l.shape] };
}

export interface EighPlan extends SquarePlan {
  valuesShape: number[];
  vectorsShape: number[];
}

/** eigh: values [..., n] and vectors [..., n, n]. Only the lower triangle of A is read. */
export function eighPlan(a: Tensor): EighPlan {
  const p = squarePlan('eigh', a);
  return { ...p, valuesShape: [...p.batchShape, p.n], vectorsShape: [...a.shape] };
}

/** Batch index (as a multi-index into the batch dims) of flat matrix number `flat`. */
export function batchIndexOf(flat: number, batchShape: readonly number[]): number[] {
  const index = new Array<number>(batchShape.length).fill(0);
  for (let d = batchShape.length - 1; d >= 0; d--) {
    index[d] = flat % batchShape[d];
    flat = Math.floor(flat / batchShape[d]);
  }
  return index;
}

// ---- checked helpers (any backend) --------------------------------------------------------------

export interface CholeskyFailure {
  /** Flat index of the matrix in the batch. */
  flatIndex: number;
  /** The same as an index into the batch dims ([] for a single matrix). */
  batchIndex: number[];
  /** 1-based index of the first pivot that was not positive. */
  pivot: number;
}

/** Thrown by the checked helpers when cholesky reports a non-positive pivot. */
export class NotPositiveDefiniteError extends Error {
  /** The first failing matrix (lowest flat index). */
  readonly batchIndex: number[];
  readonly flatIndex: number;
  readonly pivot: number;
  constructor(
    readonly failures: CholeskyFailure[],
    readonly shape: readonly number[],
  ) {
    const first = failures[0];
    const where = first.batchIndex.length > 0 ? `matrix [${first.batchIndex.join(', ')}] of the batch` : 'the matrix';
    const others =
      failures.length > 1 ? ` (${failures.length - 1} more matri${failures.length === 2 ? 'x' : 'ces'} in the batch failed too)` : '';
    super(
      `cholesky: ${where} ${shapeToString(shape)} is not positive definite: pivot ${first.pivot} of ${shape[shape.length - 1]} ` +
        `was not positive${others}. Add damping (A + λI with a larger λ) or jitter to the diagonal.`,
    );
    this.name = 'NotPositiveDefiniteError';
    this.batchIndex = first.batchIndex;
    this.flatIndex = first.flatIndex;
    this.pivot = first.pivot;
  }
}

/** The failures recorded in a cholesky status array (empty when every matrix was positive definite). */
export function choleskyFailures(status: ArrayLike<number>, batchShape: readonly number[]): CholeskyFailure[] {
  const failures: CholeskyFailure[] = [];
  for (let i = 0; i < status.length; i++) {
    if (status[i] !== 0) failures.push({ flatIndex: i, batchIndex: batchIndexOf(i, batchShape), pivot: status[i] });
  }
  return failures;
}

/**
 * cholesky, then read the status back (on WebGPU a sync point) and throw NotPositiveDefiniteError
 * if any matrix failed. Returns the factor; the status tensor is disposed.
 */
export async function choleskyChecked(backend: Backend, a: Tensor): Promise<Tensor> {
  const { factor, status } = backend.cholesky(a);
  const codes = await readAndDispose(status);
  const failures = choleskyFailures(codes, a.shape.slice(0, -2));
  if (failures.length > 0) {
    factor.dispose();
    throw new NotPositiveDefiniteError(failures, a.shape);
  }
  return factor;
}

/** A⁻¹ of symmetric positive definite matrices [..., n, n] via Cholesky; throws NotPositiveDefiniteError. */
export async function spdInverse(backend: Backend, a: Tensor): Promise<Tensor> {
  const factor = await choleskyChecked(backend, a);
  try {
    return backend.choleskyInverse(factor);
  } finally {
    factor.dispose();
  }
}

/** X = A⁻¹ B for SPD A [..., n, n] and B [..., n, k] (L Y = B, then Lᵀ X = Y); throws NotPositiveDefiniteError. */
export async function spdSolve(backend: Backend, a: Tensor, b: Tensor): Promise<Tensor> {
  triangularSolvePlan(a, b); // shape errors before any work
  const factor = await choleskyChecked(backend, a);
  try {
    const y = backend.triangularSolve(factor, b);
    try {
      return backend.triangularSolve(factor, y, { transpose: true });
    } finally {
      y.dispose();
    }
  } finally {
    factor.dispose();
  }
}
