// A picture of one layer's curvature for the lab's curvature panel: the K-FAC running averages A
// and G (docs/kfac.md §4 step 1) block-averaged down to heatmap size, their eigenvalues, and the
// spectrum of G ⊗ A, whose eigenvalues are all products λ_G λ_A (the Kronecker factor of the
// layer's Fisher/GGN block, §1).
//
// Every device operation (eigh and the reads) is issued before the first await, so a snapshot can
// be taken between two training steps without pausing: the optimizer may replace and dispose its
// factors at its next step, but the work reading them is already queued ahead of it.
import type { Backend } from '../backend/backend.ts';
import { readAndDispose, type Tensor } from '../tensor.ts';
import { hostEigenvalues } from '../linalg/host-eigh.ts';

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
 * The heatmap needs every factor on the host anyway, and there the float64 solver (values only)
 * takes a few ms (n = 129: ~5 ms, 256: ~25 ms on a 2-core VM), while the device eigh, one workgroup per matrix, took 0.1 s at
 * n = 65, 1.2–2 s at 129 and 9 s at 256 on SwiftShader, holding up the training steps queued behind
 * it. So only small factors go to the device.
 */
export const DEFAULT_DEVICE_EIGH_MAX = 64;
export const KRON_LIMIT = 2048;

/**
 * What a snapshot reads from the K-FAC optimizer (src/engine/optim/): its running factors per layer,
 * its approximation and damping. A structural interface, so curvature/ does not import optim/.
 */
export interface FactorSource {
  readonly approx: 'expand' | 'reduce';
  readonly damping: number;
  factorsOf(layer: string): { A: Tensor; G: Tensor } | null | undefined;
}

/** The layer's snapshot, or null before its factors exist (the first K-FAC step computes them). */
export async function curvatureSnapshot(
  optimizer: FactorSource,
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
  const eigA = a.eigenvalues ?? hostEigenvalues(a.matrix, a.n);
  const eigG = g.eigenvalues ?? hostEigenvalues(g.matrix, g.n);
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
  let eigenvalues: Promise<ArrayLike<number>> | null = null;
  if (n <= deviceMax) {
    const be: Backend = factor.backend;
    const result = be.eigh(factor);
    result.vectors.dispose();
    // readAndDispose issues the read at once (before its first await), so it is queued here too.
    eigenvalues = readAndDispose(result.values);
  }
  return (async () => {
    const [m, ev] = await Promise.all([matrix, eigenvalues]);
    return { n, matrix: Float64Array.from(m), eigenvalues: ev ? descending(ev) : null };
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
