// Small dense float64 linear algebra on the host for the n×n systems of natural gradient on wide
// networks (docs/curvature-tools.md §7): n ≤ a few hundred, so exact O(n³) is cheap next to the
// width-m work on the backend.

/** Solve (K + ridge·I) x = b for SPD K (row-major n×n) by Cholesky; throws if it is not positive definite. */
export function choleskySolve(k: ArrayLike<number>, n: number, b: ArrayLike<number>, ridge = 0): Float64Array {
  const l = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    let d = k[j * n + j] + ridge;
    for (let p = 0; p < j; p++) d -= l[j * n + p] ** 2;
    if (!(d > 0)) throw new Error(`choleskySolve: the ${n}×${n} Gram matrix is not positive definite (pivot ${j} is ${d}); add a ridge ε`);
    const root = Math.sqrt(d);
    l[j * n + j] = root;
    for (let i = j + 1; i < n; i++) {
      let s = k[i * n + j];
      for (let p = 0; p < j; p++) s -= l[i * n + p] * l[j * n + p];
      l[i * n + j] = s / root;
    }
  }
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[i];
    for (let p = 0; p < i; p++) s -= l[i * n + p] * y[p];
    y[i] = s / l[i * n + i];
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i];
    for (let p = i + 1; p < n; p++) s -= l[p * n + i] * x[p];
    x[i] = s / l[i * n + i];
  }
  return x;
}

/** ‖v‖₂. */
export function norm(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  return Math.sqrt(s);
}

/** Xᵀ X / scale for X [n, d] row-major → [d, d]. */
export function gramOfColumns(x: ArrayLike<number>, n: number, d: number, scale = 1): Float64Array {
  const out = new Float64Array(d * d);
  for (let i = 0; i < n; i++) {
    for (let a = 0; a < d; a++) {
      const xa = x[i * d + a];
      if (xa === 0) continue;
      for (let c = 0; c <= a; c++) out[a * d + c] += xa * x[i * d + c];
    }
  }
  for (let a = 0; a < d; a++) {
    for (let c = 0; c <= a; c++) {
      out[a * d + c] /= scale;
      out[c * d + a] = out[a * d + c];
    }
  }
  return out;
}

/** X Xᵀ for X [n, d] row-major → [n, n]. */
export function gramOfRows(x: ArrayLike<number>, n: number, d: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let a = 0; a < d; a++) s += x[i * d + a] * x[j * d + a];
      out[i * n + j] = out[j * n + i] = s;
    }
  }
  return out;
}
