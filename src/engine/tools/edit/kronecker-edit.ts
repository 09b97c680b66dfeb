// The weight edit of docs/curvature-tools.md §4 on host arrays (float64): a layer's weight W
// [dOut, dIn] is written in K-FAC's eigenbasis, C = Q_Gᵀ W Q_A, where component (i, j) carries the
// curvature κ_i μ_j; the edit keeps a set of components and projects W onto them,
// W' = Q_G (C ⊙ M) Q_Aᵀ. Pairwise keeps the largest products reaching a share ρ of the total
// curvature (Σκ)(Σμ); rectangle keeps the top eigenvectors of G and of A that each reach ρ. The
// baseline at equal rank is the truncated SVD of W. Everything here is pure and synchronous: the
// layers the lab edits are at most a few hundred wide, so the host is exact and quick.
import { hostEigh } from '../../linalg/host-eigh.ts';

export type EditVariant = 'pairwise' | 'rectangle';
export const EDIT_VARIANTS: readonly EditVariant[] = ['pairwise', 'rectangle'];

/** One layer's eigenbasis: κ (G, [dOut]) and μ (A, [dIn]) descending and ≥ 0, vectors as columns (row-major). */
export interface LayerBasis {
  kappa: ArrayLike<number>;
  mu: ArrayLike<number>;
  /** [dOut, dOut] row-major, column i = eigenvector of κ_i. */
  vectorsG: ArrayLike<number>;
  /** [dIn, dIn] row-major, column j = eigenvector of μ_j. */
  vectorsA: ArrayLike<number>;
}

/** Which components (i, j) an edit keeps, as a 0/1 mask [dOut, dIn] (row i: κ_i). */
export interface Selection {
  mask: Uint8Array;
  keptPairs: number;
  totalPairs: number;
  /** Σ_kept κ_i μ_j / (Σκ)(Σμ) (1 when every pair is kept). */
  keptMass: number;
  /** Rectangle only: the kept eigenvectors of G and of A. */
  ranks?: { g: number; a: number };
}

/**
 * Pairwise selection: the components sorted by κ_i μ_j, largest first (ties by index i·dIn + j),
 * and the shortest prefix whose sum reaches ρ (Σκ)(Σμ). ρ = 1 keeps every pair (the identity
 * projection, even where products are 0); so does a layer with no curvature at all.
 */
export function selectPairwise(kappa: ArrayLike<number>, mu: ArrayLike<number>, rho: number): Selection {
  checkRho(rho);
  const dOut = kappa.length;
  const dIn = mu.length;
  const n = dOut * dIn;
  const products = new Float64Array(n);
  for (let i = 0; i < dOut; i++) for (let j = 0; j < dIn; j++) products[i * dIn + j] = kappa[i] * mu[j];
  const total = sum(kappa) * sum(mu);
  const mask = new Uint8Array(n);
  if (rho >= 1 || !(total > 0)) return { mask: mask.fill(1), keptPairs: n, totalPairs: n, keptMass: 1 };
  const order = Array.from({ length: n }, (_, q) => q).sort((p, q) => products[q] - products[p] || p - q);
  const target = rho * total;
  let kept = 0;
  let mass = 0;
  while (kept < n && mass < target) {
    mask[order[kept]] = 1;
    mass += products[order[kept]];
    kept++;
  }
  return { mask, keptPairs: kept, totalPairs: n, keptMass: mass / total };
}

/** The fewest leading values (descending) whose sum reaches ρ of the total (all of them at ρ = 1 or a zero total). */
export function massRank(values: ArrayLike<number>, rho: number): number {
  checkRho(rho);
  const total = sum(values);
  if (rho >= 1 || !(total > 0)) return values.length;
  let mass = 0;
  let r = 0;
  while (r < values.length && mass < rho * total) mass += values[r++];
  return r;
}

/** Rectangle selection: the top r_G eigenvectors of G and r_A of A, each reaching mass ρ; pairs i < r_G, j < r_A. */
export function selectRectangle(kappa: ArrayLike<number>, mu: ArrayLike<number>, rho: number): Selection {
  const dOut = kappa.length;
  const dIn = mu.length;
  const g = massRank(kappa, rho);
  const a = massRank(mu, rho);
  const mask = new Uint8Array(dOut * dIn);
  for (let i = 0; i < g; i++) mask.fill(1, i * dIn, i * dIn + a);
  const total = sum(kappa) * sum(mu);
  const keptMass = total > 0 ? (sum(Array.prototype.slice.call(kappa, 0, g)) * sum(Array.prototype.slice.call(mu, 0, a))) / total : 1;
  return { mask, keptPairs: g * a, totalPairs: dOut * dIn, keptMass: g === dOut && a === dIn ? 1 : keptMass, ranks: { g, a } };
}

export function selectComponents(variant: EditVariant, kappa: ArrayLike<number>, mu: ArrayLike<number>, rho: number): Selection {
  return variant === 'pairwise' ? selectPairwise(kappa, mu, rho) : selectRectangle(kappa, mu, rho);
}

/** C = Q_Gᵀ W Q_A: W's coordinates in the Kronecker eigenbasis, [dOut, dIn]. */
export function eigenCoefficients(weight: ArrayLike<number>, basis: LayerBasis): Float64Array {
  const dOut = basis.kappa.length;
  const dIn = basis.mu.length;
  checkSize(weight.length, dOut * dIn, 'weight');
  const left = matmul(basis.vectorsG, weight, dOut, dOut, dIn, true); // Q_Gᵀ W
  return matmul(left, basis.vectorsA, dOut, dIn, dIn, false); // (Q_Gᵀ W) Q_A
}

/** Q_G (C ⊙ M) Q_Aᵀ for a 0/1 mask M (or C itself when mask is null). */
export function fromCoefficients(coefficients: ArrayLike<number>, basis: LayerBasis, mask: Uint8Array | null): Float64Array {
  const dOut = basis.kappa.length;
  const dIn = basis.mu.length;
  const masked = Float64Array.from(coefficients);
  if (mask) for (let q = 0; q < masked.length; q++) if (!mask[q]) masked[q] = 0;
  const left = matmul(basis.vectorsG, masked, dOut, dOut, dIn, false); // Q_G (C ⊙ M)
  return matmulTransB(left, basis.vectorsA, dOut, dIn, dIn); // · Q_Aᵀ
}

export interface LayerEdit {
  /** W' [dOut, dIn]: W itself (a copy) when every pair is kept. */
  weight: Float64Array;
  selection: Selection;
  /** C = Q_Gᵀ W Q_A. */
  coefficients: Float64Array;
  /** ‖W‖², ‖W'‖², ‖W − W'‖² (= Σ_kept C², Σ_removed C²: the projection is orthogonal). */
  energy: { total: number; kept: number; removed: number };
}

/** Edit one layer's weight: select (pairwise or rectangle) and project. */
export function editWeight(weight: ArrayLike<number>, basis: LayerBasis, variant: EditVariant, rho: number): LayerEdit {
  const selection = selectComponents(variant, basis.kappa, basis.mu, rho);
  const coefficients = eigenCoefficients(weight, basis);
  let kept = 0;
  let removed = 0;
  for (let q = 0; q < coefficients.length; q++) {
    const c2 = coefficients[q] * coefficients[q];
    if (selection.mask[q]) kept += c2;
    else removed += c2;
  }
  // Keeping every pair is the identity projection: return W unchanged rather than W up to rounding.
  const all = selection.keptPairs === selection.totalPairs;
  return {
    weight: all ? Float64Array.from(weight) : fromCoefficients(coefficients, basis, selection.mask),
    selection,
    coefficients,
    energy: { total: sumOfSquares(weight), kept, removed },
  };
}

// ---- the SVD baseline ----------------------------------------------------------------------------

/** Singular values of W [rows, cols], descending (from the eigenvalues of the smaller Gram matrix). */
export function singularValues(weight: ArrayLike<number>, rows: number, cols: number): Float64Array {
  checkSize(weight.length, rows * cols, 'weight');
  const small = Math.min(rows, cols);
  const gram = rows <= cols ? matmulTransB(weight, weight, rows, cols, rows) : matmul(weight, weight, cols, rows, cols, true);
  const { values } = hostEigh(gram, small);
  return values.map((v) => Math.sqrt(Math.max(0, v)));
}

/**
 * Numerical rank: singular values above tolerance · σ_max. The singular values come from the Gram
 * matrix's eigenvalues, accurate to about √ε σ_max ≈ 1e-8 σ_max in float64, hence the default 1e-6.
 */
export function numericalRank(weight: ArrayLike<number>, rows: number, cols: number, tolerance = 1e-6): number {
  const s = singularValues(weight, rows, cols);
  const cut = tolerance * (s[0] ?? 0);
  let r = 0;
  for (const v of s) if (v > cut) r++;
  return r;
}

/**
 * The best rank-r approximation of W [rows, cols] in the Frobenius norm (Eckart–Young): the
 * projection onto the top r right singular vectors, W V_r V_rᵀ (or U_r U_rᵀ W when rows < cols).
 */
export function truncatedSvd(weight: ArrayLike<number>, rows: number, cols: number, rank: number): Float64Array {
  checkSize(weight.length, rows * cols, 'weight');
  if (!(Number.isInteger(rank) && rank >= 0)) throw new Error(`truncatedSvd: rank must be a whole number ≥ 0, got ${rank}`);
  if (rank >= Math.min(rows, cols)) return Float64Array.from(weight);
  if (rows <= cols) {
    // U_r from W Wᵀ [rows, rows]; W' = U_r U_rᵀ W.
    const { vectors } = hostEigh(matmulTransB(weight, weight, rows, cols, rows), rows);
    const projector = leadingProjector(vectors, rows, rank);
    return matmul(projector, weight, rows, rows, cols, false);
  }
  // V_r from Wᵀ W [cols, cols]; W' = W V_r V_rᵀ.
  const { vectors } = hostEigh(matmul(weight, weight, cols, rows, cols, true), cols);
  const projector = leadingProjector(vectors, cols, rank);
  return matmul(weight, projector, rows, cols, cols, false);
}

/** P = Q_r Q_rᵀ from the first r columns of an n×n row-major Q. */
function leadingProjector(vectors: ArrayLike<number>, n: number, r: number): Float64Array {
  const p = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < r; k++) s += vectors[i * n + k] * vectors[j * n + k];
      p[i * n + j] = s;
    }
  return p;
}

// ---- per-band diagnostics ------------------------------------------------------------------------

/**
 * Curvature bands: the components sorted by κ_i μ_j (largest first) cut where the cumulative mass
 * crosses each level of `levels` (ascending, in (0, 1)). Band b holds the pairs that the pairwise
 * edit at ρ = levels[b] keeps but the one at levels[b − 1] does not; the last band holds the pairs
 * that even the largest level removes. Returns the band of every component, [dOut, dIn].
 */
export function curvatureBands(kappa: ArrayLike<number>, mu: ArrayLike<number>, levels: readonly number[]): Uint8Array {
  const dIn = mu.length;
  const band = new Uint8Array(kappa.length * dIn).fill(levels.length);
  for (let b = levels.length - 1; b >= 0; b--) {
    const { mask } = selectPairwise(kappa, mu, levels[b]);
    for (let q = 0; q < mask.length; q++) if (mask[q]) band[q] = b;
  }
  return band;
}

/** Σ C_ij² per band, divided by ‖C‖² = ‖W‖² (the bands' shares of the weight's energy). */
export function bandEnergyShares(coefficients: ArrayLike<number>, bands: Uint8Array, count: number): number[] {
  const out = new Array<number>(count).fill(0);
  let total = 0;
  for (let q = 0; q < coefficients.length; q++) {
    const c2 = coefficients[q] * coefficients[q];
    out[bands[q]] += c2;
    total += c2;
  }
  return out.map((v) => (total > 0 ? v / total : 0));
}

/**
 * Activation strength per band: for input rows a [rows, dIn], the mean over rows of
 * ‖(C ⊙ M_band) Q_Aᵀ a‖², the squared size of the band's share of the layer's output Wa.
 */
export function bandActivations(
  coefficients: ArrayLike<number>,
  basis: LayerBasis,
  bands: Uint8Array,
  count: number,
  inputs: ArrayLike<number>,
  rows: number,
): number[] {
  const dOut = basis.kappa.length;
  const dIn = basis.mu.length;
  checkSize(inputs.length, rows * dIn, 'inputs');
  const out = new Array<number>(count).fill(0);
  if (rows === 0) return out;
  const rotated = matmul(inputs, basis.vectorsA, rows, dIn, dIn, false); // rows of (Q_Aᵀ a)ᵀ
  const perBand = new Float64Array(count);
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < dOut; i++) {
      perBand.fill(0);
      for (let j = 0; j < dIn; j++) perBand[bands[i * dIn + j]] += coefficients[i * dIn + j] * rotated[r * dIn + j];
      for (let b = 0; b < count; b++) out[b] += perBand[b] * perBand[b];
    }
  }
  return out.map((v) => v / rows);
}

// ---- small dense helpers (row-major float64) -------------------------------------------------------

/** A [m, k] · B [k, n] (transA: A given as [k, m]). */
function matmul(a: ArrayLike<number>, b: ArrayLike<number>, m: number, k: number, n: number, transA: boolean): Float64Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let p = 0; p < k; p++) {
      const x = transA ? a[p * m + i] : a[i * k + p];
      if (x === 0) continue;
      for (let j = 0; j < n; j++) out[i * n + j] += x * b[p * n + j];
    }
  return out;
}

/** A [m, k] · Bᵀ with B [n, k]. */
function matmulTransB(a: ArrayLike<number>, b: ArrayLike<number>, m: number, k: number, n: number): Float64Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += a[i * k + p] * b[j * k + p];
      out[i * n + j] = s;
    }
  return out;
}

function sum(values: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i];
  return s;
}

export function sumOfSquares(values: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i] * values[i];
  return s;
}

function checkRho(rho: number): void {
  if (!(rho > 0 && rho <= 1)) throw new Error(`keepMass ρ must be in (0, 1], got ${rho}`);
}

function checkSize(actual: number, expected: number, what: string): void {
  if (actual !== expected) throw new Error(`edit: ${what} has ${actual} values, expected ${expected}`);
}
