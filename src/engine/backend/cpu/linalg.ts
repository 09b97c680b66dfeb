// Batched small dense linear algebra on the CPU: the oracle for shaders/cholesky.wgsl,
// shaders/trisolve.wgsl, shaders/cholesky-inverse.wgsl and shaders/eigh.wgsl. Every matrix is
// copied into a float64 work array, computed in float64 and rounded once on output.
import type { TriangularSolveOptions, CholeskyResult, EighResult } from '../backend.ts';
import type { Tensor } from '../../tensor.ts';
import { choleskyInversePlan, choleskyPlan, eighPlan, triangularSolvePlan } from '../../shape-rules/linalg.ts';
import type { CpuBackend } from './cpu-backend.ts';

/** Smallest normal float32: a float32 pivot below it could flush to zero on a GPU, so it counts as failed there and here. */
const FLOAT32_MIN_NORMAL = 1.1754943508222875e-38;

/** The lower triangle of matrix `m` of `src`, mirrored into a full symmetric float64 array. */
function symmetricFromLower(src: ArrayLike<number>, m: number, n: number): Float64Array {
  const out = new Float64Array(n * n);
  const base = m * n * n;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      const v = src[base + i * n + j];
      out[i * n + j] = v;
      out[j * n + i] = v;
    }
  }
  return out;
}

/**
 * Column-by-column (Cholesky–Crout) factorisation. A pivot d that is not > 0 (or not finite) stops
 * the factorisation: status = its 1-based index and that column and all later ones stay zero —
 * the same partial factor the WebGPU kernel leaves.
 */
export function cholesky(backend: CpuBackend, a: Tensor): CholeskyResult {
  const p = choleskyPlan(a);
  const { n } = p;
  const src = backend.dataOf(a);
  const { tensor: factor, data: out } = backend.alloc(p.factorShape, p.dtype);
  const { tensor: status, data: codes } = backend.alloc(p.statusShape, 'int32');
  const minPivot = p.dtype === 'float32' ? FLOAT32_MIN_NORMAL : Number.MIN_VALUE;
  const l = new Float64Array(n * n);
  for (let m = 0; m < p.batch; m++) {
    const base = m * n * n;
    l.fill(0);
    for (let j = 0; j < n; j++) {
      let d = src[base + j * n + j];
      for (let k = 0; k < j; k++) d -= l[j * n + k] * l[j * n + k];
      if (!(d >= minPivot) || d === Infinity) {
        codes[m] = j + 1;
        break;
      }
      const pivot = Math.sqrt(d);
      l[j * n + j] = pivot;
      for (let i = j + 1; i < n; i++) {
        let s = src[base + i * n + j];
        for (let k = 0; k < j; k++) s -= l[i * n + k] * l[j * n + k];
        l[i * n + j] = s / pivot;
      }
    }
    out.set(l, base);
  }
  return { factor, status };
}

/** Forward (L X = B) or backward (Lᵀ X = B) substitution, one right-hand side column at a time. */
export function triangularSolve(backend: CpuBackend, l: Tensor, b: Tensor, options: TriangularSolveOptions): Tensor {
  const p = triangularSolvePlan(l, b);
  const { n, k } = p;
  const lData = backend.dataOf(l);
  const bData = backend.dataOf(b);
  const { tensor, data: out } = backend.alloc(p.outShape, p.dtype);
  const x = new Float64Array(n);
  for (let m = 0; m < p.batch; m++) {
    const lBase = m * n * n;
    const bBase = m * n * k;
    for (let c = 0; c < k; c++) {
      if (options.transpose) {
        for (let i = n - 1; i >= 0; i--) {
          let s = bData[bBase + i * k + c];
          for (let r = i + 1; r < n; r++) s -= lData[lBase + r * n + i] * x[r];
          x[i] = s / lData[lBase + i * n + i];
        }
      } else {
        for (let i = 0; i < n; i++) {
          let s = bData[bBase + i * k + c];
          for (let r = 0; r < i; r++) s -= lData[lBase + i * n + r] * x[r];
          x[i] = s / lData[lBase + i * n + i];
        }
      }
      for (let i = 0; i < n; i++) out[bBase + i * k + c] = x[i];
    }
  }
  return tensor;
}

/**
 * A⁻¹ = L⁻ᵀ L⁻¹: invert L column by column (U = L⁻ᵀ, row c of U = column c of L⁻¹), then
 * (A⁻¹)ᵢⱼ = Σ_{r ≥ max(i,j)} Uᵢᵣ Uⱼᵣ for j ≤ i, written to both triangles so the result is exactly symmetric.
 */
export function choleskyInverse(backend: CpuBackend, l: Tensor): Tensor {
  const p = choleskyInversePlan(l);
  const { n } = p;
  const lData = backend.dataOf(l);
  const { tensor, data: out } = backend.alloc(p.outShape, p.dtype);
  const u = new Float64Array(n * n);
  for (let m = 0; m < p.batch; m++) {
    const base = m * n * n;
    u.fill(0);
    for (let c = 0; c < n; c++) {
      u[c * n + c] = 1 / lData[base + c * n + c];
      for (let i = c + 1; i < n; i++) {
        let s = 0;
        for (let r = c; r < i; r++) s += lData[base + i * n + r] * u[c * n + r];
        u[c * n + i] = -s / lData[base + i * n + i];
      }
    }
    for (let i = 0; i < n; i++) {
      for (let j = 0; j <= i; j++) {
        let s = 0;
        for (let r = i; r < n; r++) s += u[i * n + r] * u[j * n + r];
        out[base + i * n + j] = s;
        out[base + j * n + i] = s;
      }
    }
  }
  return tensor;
}

/**
 * Householder tridiagonalisation, then implicit symmetric QR steps with Wilkinson shifts
 * (Golub & Van Loan, §8.3), all in float64. Returns ascending values and, as rows of `vectorRows`,
 * the matching eigenvectors (row r of vectorRows is the r-th eigenvector).
 */
export function symmetricEigen(sym: Float64Array, n: number): { values: Float64Array; vectorRows: Float64Array } {
  if (!sym.every(Number.isFinite)) return { values: new Float64Array(n).fill(NaN), vectorRows: new Float64Array(n * n).fill(NaN) };
  const w = sym.slice();
  const d = new Float64Array(n);
  const e = new Float64Array(Math.max(0, n - 1));
  const betas = new Float64Array(n);
  const p = new Float64Array(n);

  // Reflect column k below the subdiagonal to zero: H = I − β v vᵀ, v stored in w[k+1.., k].
  for (let k = 0; k + 2 < n; k++) {
    let scale = 0;
    for (let i = k + 1; i < n; i++) scale = Math.max(scale, Math.abs(w[i * n + k]));
    if (scale === 0) {
      e[k] = 0;
      continue;
    }
    let norm2 = 0;
    for (let i = k + 1; i < n; i++) norm2 += (w[i * n + k] / scale) ** 2;
    const norm = scale * Math.sqrt(norm2);
    const x0 = w[(k + 1) * n + k];
    const alpha = x0 >= 0 ? -norm : norm;
    w[(k + 1) * n + k] = x0 - alpha; // v = x − α e₁, the rest of v is x itself
    const beta = 1 / (norm * (norm + Math.abs(x0)));
    betas[k] = beta;
    e[k] = alpha;
    // S ← H S H on the trailing block: p = β S v, q = p − (β/2)(pᵀv) v, S ← S − v qᵀ − q vᵀ.
    let pv = 0;
    for (let i = k + 1; i < n; i++) {
      let s = 0;
      for (let j = k + 1; j < n; j++) s += w[i * n + j] * w[j * n + k];
      p[i] = beta * s;
      pv += p[i] * w[i * n + k];
    }
    const half = (beta / 2) * pv;
    for (let i = k + 1; i < n; i++) p[i] -= half * w[i * n + k];
    for (let i = k + 1; i < n; i++) {
      const vi = w[i * n + k];
      for (let j = k + 1; j < n; j++) w[i * n + j] -= vi * p[j] + p[i] * w[j * n + k];
    }
  }
  for (let i = 0; i < n; i++) d[i] = w[i * n + i];
  if (n >= 2) e[n - 2] = w[(n - 1) * n + (n - 2)];

  // z holds Zᵀ (row r = column r of Z) so that rotations update two contiguous rows. Z starts as
  // Q = H₀ H₁ ⋯ H_{n−3} (A = Q T Qᵀ), so z starts as Qᵀ = I · H_{n−3} ⋯ H₁ H₀ (each Hₖ is symmetric).
  const z = new Float64Array(n * n);
  for (let i = 0; i < n; i++) z[i * n + i] = 1;
  for (let k = n - 3; k >= 0; k--) {
    const beta = betas[k];
    if (beta === 0) continue;
    for (let r = 0; r < n; r++) {
      let s = 0;
      for (let i = k + 1; i < n; i++) s += z[r * n + i] * w[i * n + k];
      s *= beta;
      if (s === 0) continue;
      for (let i = k + 1; i < n; i++) z[r * n + i] -= s * w[i * n + k];
    }
  }

  const eps = 2 ** -52;
  const negligible = (i: number): boolean => Math.abs(e[i]) <= eps * (Math.abs(d[i]) + Math.abs(d[i + 1]));
  let hi = n - 1;
  let steps = 0;
  while (hi > 0) {
    if (negligible(hi - 1)) {
      e[hi - 1] = 0;
      hi--;
      continue;
    }
    let lo = hi - 1;
    while (lo > 0 && !negligible(lo - 1)) lo--;
    if (lo > 0) e[lo - 1] = 0;
    if (++steps > 50 * n) throw new Error(`eigh: the symmetric QR iteration did not converge (n = ${n})`);
    // Wilkinson shift from the trailing 2×2 block, written to avoid squaring e.
    const dd = (d[hi - 1] - d[hi]) / 2;
    const eh = e[hi - 1];
    const denom = dd + (dd >= 0 ? 1 : -1) * Math.hypot(dd, eh);
    const mu = d[hi] - eh * (eh / denom);
    let x = d[lo] - mu;
    let bulge = e[lo];
    for (let k = lo; k < hi; k++) {
      // Rotation J on (k, k+1) with Jₖₖ = c, Jₖ,ₖ₊₁ = s, Jₖ₊₁,ₖ = −s: the first one starts the bulge
      // along (d − μ, e), the later ones chase it down.
      const r = Math.hypot(x, bulge);
      const c = r === 0 ? 1 : x / r;
      const s = r === 0 ? 0 : -bulge / r;
      if (k > lo) e[k - 1] = r;
      const a = d[k];
      const b = d[k + 1];
      const ek = e[k];
      d[k] = c * c * a - 2 * c * s * ek + s * s * b;
      d[k + 1] = s * s * a + 2 * c * s * ek + c * c * b;
      e[k] = c * s * (a - b) + (c * c - s * s) * ek;
      if (k + 1 < hi) {
        bulge = -s * e[k + 1];
        e[k + 1] = c * e[k + 1];
        x = e[k];
      }
      const rowK = k * n;
      const rowK1 = (k + 1) * n;
      for (let i = 0; i < n; i++) {
        const zk = z[rowK + i];
        const zk1 = z[rowK1 + i];
        z[rowK + i] = c * zk - s * zk1;
        z[rowK1 + i] = s * zk + c * zk1;
      }
    }
  }

  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => sortKey(d[i]) - sortKey(d[j]) || i - j);
  const values = new Float64Array(n);
  const vectorRows = new Float64Array(n * n);
  order.forEach((from, to) => {
    values[to] = d[from];
    vectorRows.set(z.subarray(from * n, from * n + n), to * n);
    normalizeSign(vectorRows, to * n, n);
  });
  return { values, vectorRows };
}

/** Ascending order with NaN last (as the WebGPU kernel sorts). */
function sortKey(v: number): number {
  return Number.isNaN(v) ? Infinity : v;
}

/** Flip a vector so that its largest-magnitude component (the first on ties) is positive: deterministic signs. */
export function normalizeSign(v: Float64Array, offset: number, n: number): void {
  let best = 0;
  let bestAbs = -1;
  for (let i = 0; i < n; i++) {
    const a = Math.abs(v[offset + i]);
    if (a > bestAbs) {
      bestAbs = a;
      best = i;
    }
  }
  if (v[offset + best] < 0) for (let i = 0; i < n; i++) v[offset + i] = -v[offset + i];
}

/** Symmetric eigendecomposition (lower triangle of A read), ascending values, orthonormal vectors as columns. */
export function eigh(backend: CpuBackend, a: Tensor): EighResult {
  const p = eighPlan(a);
  const { n } = p;
  const src = backend.dataOf(a);
  const { tensor: values, data: valuesOut } = backend.alloc(p.valuesShape, p.dtype);
  const { tensor: vectors, data: vectorsOut } = backend.alloc(p.vectorsShape, p.dtype);
  for (let m = 0; m < p.batch; m++) {
    const result = symmetricEigen(symmetricFromLower(src, m, n), n);
    valuesOut.set(result.values, m * n);
    const base = m * n * n;
    for (let r = 0; r < n; r++) for (let i = 0; i < n; i++) vectorsOut[base + i * n + r] = result.vectorRows[r * n + i];
  }
  return { values, vectors };
}
