// Host-side float64 test matrices (row-major n×n) with known structure, for the eigensolver and
// linear-algebra tests.
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
