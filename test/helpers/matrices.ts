// Host-side float64 test matrices (row-major n×n) with known structure, for the eigensolver and
// linear-algebra tests, and the dense oracles (product, Gauss–Jordan inverse) that share no code
// with the engine's, for the K-FAC, thermodynamic and pruning tests.
import type { Rng } from '../../src/engine/random.ts';

/** A random symmetric (indefinite) matrix with N(0, 1) entries. */
export function randomSymmetric(rng: Rng, n: number): Float64Array {
  const m = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      const v = rng.normal();
      m[i * n + j] = v;
      m[j * n + i] = v;
    }
  }
  return m;
}

/** A random orthogonal matrix: modified Gram–Schmidt, twice (for float64 orthogonality), on Gaussian columns. */
export function randomOrthogonal(rng: Rng, n: number): Float64Array {
  const q = rng.normalArray(n * n);
  for (let j = 0; j < n; j++) {
    for (let pass = 0; pass < 2; pass++) {
      for (let k = 0; k < j; k++) {
        let dot = 0;
        for (let i = 0; i < n; i++) dot += q[i * n + k] * q[i * n + j];
        for (let i = 0; i < n; i++) q[i * n + j] -= dot * q[i * n + k];
      }
    }
    let norm = 0;
    for (let i = 0; i < n; i++) norm += q[i * n + j] ** 2;
    norm = Math.sqrt(norm);
    for (let i = 0; i < n; i++) q[i * n + j] /= norm;
  }
  return q;
}

/** Q diag(w) Qᵀ, exactly symmetric. */
export function fromSpectrum(q: Float64Array, w: ArrayLike<number>, n: number): Float64Array {
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += q[i * n + k] * w[k] * q[j * n + k];
      a[i * n + j] = s;
      a[j * n + i] = s;
    }
  }
  return a;
}

/** The m×n product of a (m×k) and b (k×n), each entry summed over k in order. */
export function hostMatmul(a: ArrayLike<number>, b: ArrayLike<number>, m: number, k: number, n: number): Float64Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let p = 0; p < k; p++) for (let j = 0; j < n; j++) out[i * n + j] += a[i * k + p] * b[p * n + j];
  return out;
}

/** Gauss–Jordan inverse with partial pivoting of a small non-singular matrix: an inverse that shares no code with the engine's. */
export function denseInverse(m: ArrayLike<number>, n: number): Float64Array {
  const a = Float64Array.from(m);
  const inv = new Float64Array(n * n);
  for (let i = 0; i < n; i++) inv[i * n + i] = 1;
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(a[r * n + c]) > Math.abs(a[p * n + c])) p = r;
    for (let j = 0; j < n; j++) {
      [a[c * n + j], a[p * n + j]] = [a[p * n + j], a[c * n + j]];
      [inv[c * n + j], inv[p * n + j]] = [inv[p * n + j], inv[c * n + j]];
    }
    const d = a[c * n + c];
    for (let j = 0; j < n; j++) {
      a[c * n + j] /= d;
      inv[c * n + j] /= d;
    }
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = a[r * n + c];
      if (f === 0) continue;
      for (let j = 0; j < n; j++) {
        a[r * n + j] -= f * a[c * n + j];
        inv[r * n + j] -= f * inv[c * n + j];
      }
    }
  }
  return inv;
}
