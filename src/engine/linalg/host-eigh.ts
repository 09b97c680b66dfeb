// The one float64 symmetric eigensolver on the host (plain TypeScript, no backend). The CPU
// backend's eigh kernel (the oracle of shaders/eigh.wgsl), the curvature snapshot (factors too large
// for the device eigh) and the curvature toolkit all call it, so they agree to the last bit.
//
// Method (Golub & Van Loan, §8.3): Householder reduction to tridiagonal form T = Qᵀ A Q, then
// implicit symmetric QR steps with Wilkinson shifts on T, the rotations accumulated into Q when the
// vectors are wanted. Backward stable: the values are exact for some A + E with ‖E‖ ≈ ε‖A‖, so their
// error is ≈ ε‖A‖ (Weyl) and the vectors are orthonormal to ≈ nε.
//
// Conventions: only the lower triangle of the row-major matrix is read (j ≤ i; it is treated as its
// mirror image), values come out DESCENDING (NaN last), vectors as an n×n row-major array whose
// column k is the unit eigenvector of values[k], its largest-magnitude component (the first on ties)
// made positive so that signs are deterministic. A matrix with a non-finite entry in its lower
// triangle gives all-NaN values and vectors rather than an exception.

export interface HostEigh {
  /** Eigenvalues, descending (NaN last). */
  values: Float64Array;
  /** n×n row-major; column k is the unit eigenvector of values[k]. */
  vectors: Float64Array;
}

/** Eigenvalues and eigenvectors of the symmetric n×n matrix (row-major, lower triangle read). */
export function hostEigh(matrix: ArrayLike<number>, n: number): HostEigh {
  const w = lowerToSymmetric(matrix, n, 'hostEigh');
  if (w === null) return { values: new Float64Array(n).fill(Number.NaN), vectors: new Float64Array(n * n).fill(Number.NaN) };
  const { d, e, betas } = tridiagonalize(w, n);
  const z = householderRowsTransposed(w, betas, n);
  symmetricQr(d, e, z, n);
  const order = descendingOrder(d);
  const values = new Float64Array(n);
  const vectors = new Float64Array(n * n);
  const row = new Float64Array(n);
  order.forEach((from, k) => {
    values[k] = d[from];
    row.set(z.subarray(from * n, from * n + n));
    normalizeSign(row);
    for (let i = 0; i < n; i++) vectors[i * n + k] = row[i];
  });
  return { values, vectors };
}

/** Eigenvalues only (descending, NaN last): the same reduction and QR steps without the O(n³) vector work. */
export function hostEigenvalues(matrix: ArrayLike<number>, n: number): Float64Array {
  const w = lowerToSymmetric(matrix, n, 'hostEigenvalues');
  if (w === null) return new Float64Array(n).fill(Number.NaN);
  const { d, e } = tridiagonalize(w, n);
  symmetricQr(d, e, null, n);
  const order = descendingOrder(d);
  return Float64Array.from(order, (i) => d[i]);
}

/** A float64 copy with the lower triangle mirrored up, or null when that triangle holds a non-finite value. */
function lowerToSymmetric(matrix: ArrayLike<number>, n: number, op: string): Float64Array | null {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`${op}: n = ${n} is not a size (expected an integer ≥ 0)`);
  if (matrix.length !== n * n) throw new RangeError(`${op}: ${matrix.length} values do not form a ${n}×${n} matrix`);
  const w = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      const v = matrix[i * n + j];
      if (!Number.isFinite(v)) return null;
      w[i * n + j] = v;
      w[j * n + i] = v;
    }
  }
  return w;
}

/**
 * In place: Householder reflections Hₖ = I − βₖ vₖ vₖᵀ, k = 0 … n−3, that zero column k of `w`
 * below the subdiagonal. vₖ is left in w[k+1.., k] (for the vectors); returns the tridiagonal
 * (diagonal d, subdiagonal e) and the βₖ (0 where the column was already zero).
 */
function tridiagonalize(w: Float64Array, n: number): { d: Float64Array; e: Float64Array; betas: Float64Array } {
  const d = new Float64Array(n);
  const e = new Float64Array(Math.max(0, n - 1));
  const betas = new Float64Array(n);
  const v = new Float64Array(n);
  const p = new Float64Array(n);
  for (let k = 0; k + 2 < n; k++) {
    // Scale by the largest entry so that the squared norm neither overflows nor underflows.
    let scale = 0;
    for (let i = k + 1; i < n; i++) scale = Math.max(scale, Math.abs(w[i * n + k]));
    if (scale === 0) continue;
    let norm2 = 0;
    for (let i = k + 1; i < n; i++) norm2 += (w[i * n + k] / scale) ** 2;
    const norm = scale * Math.sqrt(norm2);
    const x0 = w[(k + 1) * n + k];
    // v = x − α e₁ with α of the opposite sign to x₀ (no cancellation); then vᵀv = 2‖x‖(‖x‖ + |x₀|).
    const alpha = x0 >= 0 ? -norm : norm;
    w[(k + 1) * n + k] = x0 - alpha;
    const beta = 1 / (norm * (norm + Math.abs(x0)));
    betas[k] = beta;
    e[k] = alpha;
    for (let i = k + 1; i < n; i++) v[i] = w[i * n + k];
    // Trailing block S ← H S H: p = β S v, q = p − (β/2)(pᵀv) v, S ← S − v qᵀ − q vᵀ.
    let pv = 0;
    for (let i = k + 1; i < n; i++) {
      let s = 0;
      const rowI = i * n;
      for (let j = k + 1; j < n; j++) s += w[rowI + j] * v[j];
      p[i] = beta * s;
      pv += p[i] * v[i];
    }
    const half = (beta / 2) * pv;
    for (let i = k + 1; i < n; i++) p[i] -= half * v[i];
    for (let i = k + 1; i < n; i++) {
      const rowI = i * n;
      const vi = v[i];
      const pi = p[i];
      for (let j = k + 1; j < n; j++) w[rowI + j] -= vi * p[j] + pi * v[j];
    }
  }
  for (let i = 0; i < n; i++) d[i] = w[i * n + i];
  if (n >= 2) e[n - 2] = w[(n - 1) * n + (n - 2)];
  return { d, e, betas };
}

/**
 * Qᵀ where Q = H₀ H₁ ⋯ H_{n−3} (A = Q T Qᵀ), stored so that row r is column r of Q: the QR
 * rotations then update two contiguous rows. Qᵀ = H_{n−3} ⋯ H₀ as each Hₖ is symmetric.
 */
function householderRowsTransposed(w: Float64Array, betas: Float64Array, n: number): Float64Array {
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
  return z;
}

/** Smallest normal float64: a subdiagonal below it is zero for every practical purpose. */
const SMALLEST_NORMAL = 2 ** -1022;
const EPS = 2 ** -52;

/**
 * Implicit symmetric QR steps with Wilkinson shifts on the tridiagonal (d, e), in place, until every
 * subdiagonal is negligible; d then holds the eigenvalues (unsorted). When z is given, each rotation
 * is applied to its rows k, k+1 (row r of z ends as the eigenvector of d[r]).
 */
function symmetricQr(d: Float64Array, e: Float64Array, z: Float64Array | null, n: number): void {
  const negligible = (i: number): boolean => {
    const ei = Math.abs(e[i]);
    return ei <= EPS * (Math.abs(d[i]) + Math.abs(d[i + 1])) || ei < SMALLEST_NORMAL;
  };
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
    // Typically 2–3 steps per eigenvalue; far more means the input was not what it seemed.
    if (++steps > 50 * n) throw new Error(`hostEigh: the symmetric QR iteration did not converge (n = ${n})`);
    // Wilkinson shift: the eigenvalue of the trailing 2×2 block nearer d[hi], written to avoid squaring e.
    const dd = (d[hi - 1] - d[hi]) / 2;
    const eh = e[hi - 1];
    const denom = dd + (dd >= 0 ? 1 : -1) * Math.hypot(dd, eh);
    const mu = d[hi] - eh * (eh / denom);
    let x = d[lo] - mu;
    let bulge = e[lo];
    for (let k = lo; k < hi; k++) {
      // Rotation J on (k, k+1), Jₖₖ = c, Jₖ,ₖ₊₁ = s, Jₖ₊₁,ₖ = −s: the first one starts the bulge along
      // (d − μ, e), the later ones chase it down the band.
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
      if (z !== null) {
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
  }
}

/** Indices of d by descending value, NaN last, equal values in index order (a stable, total order). */
function descendingOrder(d: Float64Array): number[] {
  return Array.from({ length: d.length }, (_, i) => i).sort((i, j) => {
    const [nanI, nanJ] = [Number.isNaN(d[i]), Number.isNaN(d[j])];
    if (nanI || nanJ) return nanI === nanJ ? i - j : nanI ? 1 : -1;
    if (d[i] !== d[j]) return d[j] > d[i] ? 1 : -1;
    return i - j;
  });
}

/** Flip v so that its largest-magnitude component (the first on ties) is positive. */
function normalizeSign(v: Float64Array): void {
  let best = 0;
  let bestAbs = -1;
  for (let i = 0; i < v.length; i++) {
    const a = Math.abs(v[i]);
    if (a > bestAbs) {
      bestAbs = a;
      best = i;
    }
  }
  if (v[best] < 0) for (let i = 0; i < v.length; i++) v[i] = -v[i];
}
