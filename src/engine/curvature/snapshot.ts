// A picture of one layer's curvature for the lab's curvature panel: the K-FAC running averages A
// and G (specs/KFAC.md §4 step 1) block-averaged down to heatmap size, their eigenvalues, and the
// spectrum of G ⊗ A, whose eigenvalues are all products λ_G λ_A (the Kronecker factor of the
// layer's Fisher/GGN block, §1).
//
// Every device operation (eigh and the reads) is issued before the first await, so a snapshot can
// be taken between two training steps without pausing: the optimizer may replace and dispose its
// factors at its next step, but the work reading them is already queued ahead of it.
import type { Backend } from '../backend/backend.ts';
import type { Tensor } from '../tensor.ts';
import type { KfacOptimizer } from './kfac-optimizer.ts';

/** The n×n factor block-averaged down to cells×cells (row-major), cells ≤ maxCells. */
export interface MatrixView {
  n: number;
  cells: number;
  data: Float64Array;
}

export interface CurvatureSnapshot {
  layer: string;
  approx: 'expand' | 'reduce';
  /** A (the bias folded in as the last row/column when folded). */
  inputFactor: MatrixView;
  /** G. */
  gradFactor: MatrixView;
  /** All eigenvalues, descending. */
  eigA: Float64Array;
  eigG: Float64Array;
  /** Eigenvalues of G ⊗ A = all products eigG[i]·eigA[j], descending; at most KRON_LIMIT (the largest). */
  kron: Float64Array;
  /** The optimizer's current damping λ. */
  damping: number;
}

export interface SnapshotOptions {
  /** Heatmap resolution (default 48). */
  maxCells?: number;
  /** Factors up to this size use the backend's eigh; larger ones a float64 solver on the host (default 64). */
  deviceEighMax?: number;
}

export const DEFAULT_MAX_CELLS = 48;
/**
 * The heatmap needs every factor on the host anyway, and there the float64 solver takes a few ms
 * (n = 129: ~20 ms, 256: ~150 ms), while the device eigh, one workgroup per matrix, took 0.1 s at
 * n = 65, 1.2–2 s at 129 and 9 s at 256 on SwiftShader, holding up the training steps queued behind
 * it. So only small factors go to the device.
 */
export const DEFAULT_DEVICE_EIGH_MAX = 64;
export const KRON_LIMIT = 2048;

/** The layer's snapshot, or null before its factors exist (the first K-FAC step computes them). */
export async function curvatureSnapshot(
  optimizer: KfacOptimizer,
  layer: string,
  options: SnapshotOptions = {},
): Promise<CurvatureSnapshot | null> {
  const factors = optimizer.factorsOf(layer);
  if (!factors) return null;
  const maxCells = Math.max(1, Math.floor(options.maxCells ?? DEFAULT_MAX_CELLS));
  const deviceMax = options.deviceEighMax ?? DEFAULT_DEVICE_EIGH_MAX;
  const damping = optimizer.damping;
  // Both factors' device work is queued here, synchronously (see the file comment).
  const pendingA = readFactor(factors.A, deviceMax);
  const pendingG = readFactor(factors.G, deviceMax);
  const [a, g] = await Promise.all([pendingA, pendingG]);
  const eigA = a.eigenvalues ?? symmetricEigenvalues(a.matrix, a.n);
  const eigG = g.eigenvalues ?? symmetricEigenvalues(g.matrix, g.n);
  return {
    layer,
    approx: optimizer.approx,
    inputFactor: blockAverage(a.matrix, a.n, maxCells),
    gradFactor: blockAverage(g.matrix, g.n, maxCells),
    eigA,
    eigG,
    kron: kronEigenvalues(eigG, eigA, KRON_LIMIT),
    damping,
  };
}

interface ReadFactor {
  n: number;
  matrix: Float64Array;
  /** Descending; null when they are to be computed on the host. */
  eigenvalues: Float64Array | null;
}

/** Queue the reads (and, for small factors, the device eigh) now; resolve when they arrive. */
function readFactor(factor: Tensor, deviceMax: number): Promise<ReadFactor> {
  const n = factor.shape[0];
  if (factor.rank !== 2 || factor.shape[1] !== n) throw new Error(`curvatureSnapshot: factor ${factor} is not square`);
  const matrix = factor.read();
  let values: Tensor | null = null;
  let eigenvalues: Promise<ArrayLike<number>> | null = null;
  if (n <= deviceMax) {
    const be: Backend = factor.backend;
    const result = be.eigh(factor);
    result.vectors.dispose();
    values = result.values;
    eigenvalues = values.read();
  }
  return (async () => {
    try {
      const [m, ev] = await Promise.all([matrix, eigenvalues]);
      return { n, matrix: Float64Array.from(m), eigenvalues: ev ? descending(ev) : null };
    } finally {
      values?.dispose();
    }
  })();
}

/** The backend's eigh gives ascending values. */
function descending(values: ArrayLike<number>): Float64Array {
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = values[values.length - 1 - i];
  return out;
}

/**
 * Average an n×n row-major matrix over a cells×cells grid of blocks (cells = min(n, maxCells)).
 * Block i covers rows ⌊i·n/cells⌋ … ⌊(i+1)·n/cells⌋ − 1, so block sizes differ by at most one.
 */
export function blockAverage(matrix: ArrayLike<number>, n: number, maxCells: number): MatrixView {
  if (matrix.length !== n * n) throw new Error(`blockAverage: ${matrix.length} values do not form a ${n}×${n} matrix`);
  const cells = Math.max(0, Math.min(n, Math.floor(maxCells)));
  const data = new Float64Array(cells * cells);
  const edge = (i: number) => Math.floor((i * n) / cells);
  for (let bi = 0; bi < cells; bi++) {
    const [r0, r1] = [edge(bi), edge(bi + 1)];
    for (let bj = 0; bj < cells; bj++) {
      const [c0, c1] = [edge(bj), edge(bj + 1)];
      let sum = 0;
      for (let r = r0; r < r1; r++) for (let c = c0; c < c1; c++) sum += matrix[r * n + c];
      data[bi * cells + bj] = sum / ((r1 - r0) * (c1 - c0));
    }
  }
  return { n, cells, data };
}

/** The `limit` largest products eigG[i]·eigA[j] (the eigenvalues of G ⊗ A), descending. */
export function kronEigenvalues(eigG: ArrayLike<number>, eigA: ArrayLike<number>, limit = KRON_LIMIT): Float64Array {
  const products = new Float64Array(eigG.length * eigA.length);
  let k = 0;
  for (let i = 0; i < eigG.length; i++) for (let j = 0; j < eigA.length; j++) products[k++] = eigG[i] * eigA[j];
  products.sort(); // ascending, NaN last
  const kept = Math.min(limit, products.length);
  const finite = products.length - countTrailingNaN(products);
  const out = new Float64Array(kept);
  // Largest first; NaN products (a non-finite factor) are kept at the end rather than hidden.
  for (let i = 0; i < kept; i++) out[i] = i < finite ? products[finite - 1 - i] : Number.NaN;
  return out;
}

function countTrailingNaN(sorted: Float64Array): number {
  let count = 0;
  while (count < sorted.length && Number.isNaN(sorted[sorted.length - 1 - count])) count++;
  return count;
}

/**
 * Eigenvalues of a symmetric n×n matrix (row-major, only the lower triangle read), descending, in
 * float64: Householder reduction to tridiagonal form, then bisection with Sturm counts. O(n³) for
 * the reduction; used for factors too large for the device eigh and as the tests' reference.
 */
export function symmetricEigenvalues(matrix: ArrayLike<number>, n: number): Float64Array {
  if (matrix.length !== n * n) throw new Error(`symmetricEigenvalues: ${matrix.length} values do not form a ${n}×${n} matrix`);
  const { diagonal, offDiagonal } = tridiagonalize(matrix, n);
  return tridiagonalEigenvalues(diagonal, offDiagonal);
}

/** Householder similarity transforms H A H that zero column k below the subdiagonal, k = 0 … n−3. */
function tridiagonalize(matrix: ArrayLike<number>, n: number): { diagonal: Float64Array; offDiagonal: Float64Array } {
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      a[i * n + j] = matrix[i * n + j];
      a[j * n + i] = matrix[i * n + j];
    }
  }
  const v = new Float64Array(n);
  const p = new Float64Array(n);
  for (let k = 0; k < n - 2; k++) {
    const first = k + 1;
    let norm2 = 0;
    for (let i = first; i < n; i++) norm2 += a[i * n + k] ** 2;
    const x0 = a[first * n + k];
    if (norm2 - x0 * x0 <= 0) continue; // already zero below the subdiagonal
    const alpha = x0 > 0 ? -Math.sqrt(norm2) : Math.sqrt(norm2);
    // v = x − α e₁ (the sign of α avoids cancellation), H = I − β v vᵀ with β = 2 / vᵀv.
    for (let i = first; i < n; i++) v[i] = a[i * n + k];
    v[first] -= alpha;
    let vv = 0;
    for (let i = first; i < n; i++) vv += v[i] * v[i];
    const beta = 2 / vv;
    // On the trailing block B: p = β B v, w = p − (β/2)(pᵀv) v, B ← B − v wᵀ − w vᵀ.
    let pv = 0;
    for (let i = first; i < n; i++) {
      let s = 0;
      for (let j = first; j < n; j++) s += a[i * n + j] * v[j];
      p[i] = beta * s;
      pv += p[i] * v[i];
    }
    const half = (beta / 2) * pv;
    for (let i = first; i < n; i++) p[i] -= half * v[i];
    for (let i = first; i < n; i++) {
      for (let j = first; j < n; j++) a[i * n + j] -= v[i] * p[j] + p[i] * v[j];
    }
    a[first * n + k] = alpha;
    a[k * n + first] = alpha;
    for (let i = first + 1; i < n; i++) {
      a[i * n + k] = 0;
      a[k * n + i] = 0;
    }
  }
  const diagonal = new Float64Array(n);
  const offDiagonal = new Float64Array(Math.max(0, n - 1));
  for (let i = 0; i < n; i++) diagonal[i] = a[i * n + i];
  for (let i = 0; i < n - 1; i++) offDiagonal[i] = a[(i + 1) * n + i];
  return { diagonal, offDiagonal };
}

/** How many eigenvalues of the tridiagonal matrix are < x (the negative pivots of T − xI = LDLᵀ). */
function countBelow(d: Float64Array, e2: Float64Array, x: number, tiny: number): number {
  let count = 0;
  let q = 1;
  for (let i = 0; i < d.length; i++) {
    q = d[i] - x - (i > 0 ? e2[i - 1] / q : 0);
    if (q === 0) q = -tiny; // a zero pivot: perturb it (counts x itself as above)
    if (q < 0) count++;
  }
  return count;
}

/** Bisection on Gershgorin bounds, each eigenvalue to full float64 precision; descending. */
function tridiagonalEigenvalues(d: Float64Array, e: Float64Array): Float64Array {
  const n = d.length;
  const out = new Float64Array(n);
  if (n === 0) return out;
  if (d.some((x) => !Number.isFinite(x)) || e.some((x) => !Number.isFinite(x))) return out.fill(Number.NaN);
  const e2 = e.map((x) => x * x);
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < n; i++) {
    const radius = (i > 0 ? Math.abs(e[i - 1]) : 0) + (i < n - 1 ? Math.abs(e[i]) : 0);
    lo = Math.min(lo, d[i] - radius);
    hi = Math.max(hi, d[i] + radius);
  }
  const scale = Math.max(Math.abs(lo), Math.abs(hi), Number.MIN_VALUE);
  const tiny = scale * Number.EPSILON ** 2;
  lo -= scale * Number.EPSILON;
  hi += scale * Number.EPSILON;
  // The reduction's backward error is about ε‖A‖: resolving eigenvalues much finer than that buys nothing.
  const absoluteTolerance = scale * Number.EPSILON * 1e-3;
  // The k-th smallest eigenvalue λ_k is the x where countBelow passes from ≤ k to > k.
  for (let k = 0; k < n; k++) {
    let [left, right] = [lo, hi];
    while (right - left > Number.EPSILON * (Math.abs(left) + Math.abs(right)) + absoluteTolerance) {
      const mid = left + (right - left) / 2;
      if (mid <= left || mid >= right) break;
      if (countBelow(d, e2, mid, tiny) > k) right = mid;
      else left = mid;
    }
    out[n - 1 - k] = left + (right - left) / 2;
  }
  return out;
}
