// Batched small dense linear algebra: float32 in and out, f64 inside (each matrix is worked on in
// an f64 scratch copy), the same algorithms and failure conventions as the reference
// (src/engine/backend/cpu/linalg.ts).

// @ts-ignore: decorator
@inline
function f(p: usize, i: i32): f64 {
  return <f64>load<f32>(p + (<usize>i << 2));
}

// @ts-ignore: decorator
@inline
function sd(p: usize, i: i32, v: f64): void {
  store<f64>(p + (<usize>i << 3), v);
}

// @ts-ignore: decorator
@inline
function ld(p: usize, i: i32): f64 {
  return load<f64>(p + (<usize>i << 3));
}

/**
 * Cholesky–Crout per matrix; a pivot that is not ≥ minPivot (or not finite) stops the matrix with
 * status = its 1-based index, leaving that column and later ones zero. scratch: 8·n² bytes.
 */
export function cholesky(a: usize, out: usize, status: usize, batch: i32, n: i32, minPivot: f64, scratch: usize): void {
  const nn = n * n;
  for (let m = 0; m < batch; m++) {
    const src = a + (<usize>(m * nn) << 2);
    memory.fill(scratch, 0, <usize>nn << 3);
    let code = 0;
    for (let j = 0; j < n; j++) {
      let d = f(src, j * n + j);
      for (let k = 0; k < j; k++) d -= ld(scratch, j * n + k) * ld(scratch, j * n + k);
      if (!(d >= minPivot) || d == Infinity) {
        code = j + 1;
        break;
      }
      const pivot = Math.sqrt(d);
      sd(scratch, j * n + j, pivot);
      for (let i = j + 1; i < n; i++) {
        let s = f(src, i * n + j);
        for (let k = 0; k < j; k++) s -= ld(scratch, i * n + k) * ld(scratch, j * n + k);
        sd(scratch, i * n + j, s / pivot);
      }
    }
    store<i32>(status + (<usize>m << 2), code);
    const dst = out + (<usize>(m * nn) << 2);
    for (let i = 0; i < nn; i++) store<f32>(dst + (<usize>i << 2), <f32>ld(scratch, i));
  }
}

/** L X = B (or Lᵀ X = B) per matrix, one right-hand column at a time. scratch: 8·n bytes. */
export function triangularSolve(l: usize, b: usize, out: usize, batch: i32, n: i32, k: i32, transpose: bool, scratch: usize): void {
  for (let m = 0; m < batch; m++) {
    const lm = l + (<usize>(m * n * n) << 2);
    const bm = b + (<usize>(m * n * k) << 2);
    const om = out + (<usize>(m * n * k) << 2);
    for (let c = 0; c < k; c++) {
      if (transpose) {
        for (let i = n - 1; i >= 0; i--) {
          let s = f(bm, i * k + c);
          for (let r = i + 1; r < n; r++) s -= f(lm, r * n + i) * ld(scratch, r);
          sd(scratch, i, s / f(lm, i * n + i));
        }
      } else {
        for (let i = 0; i < n; i++) {
          let s = f(bm, i * k + c);
          for (let r = 0; r < i; r++) s -= f(lm, i * n + r) * ld(scratch, r);
          sd(scratch, i, s / f(lm, i * n + i));
        }
      }
      for (let i = 0; i < n; i++) store<f32>(om + (<usize>(i * k + c) << 2), <f32>ld(scratch, i));
    }
  }
}

/** A⁻¹ = L⁻ᵀ L⁻¹ per matrix (U = L⁻ᵀ built row by row), written to both triangles. scratch: 8·n² bytes. */
export function choleskyInverse(l: usize, out: usize, batch: i32, n: i32, scratch: usize): void {
  const nn = n * n;
  for (let m = 0; m < batch; m++) {
    const lm = l + (<usize>(m * nn) << 2);
    const om = out + (<usize>(m * nn) << 2);
    memory.fill(scratch, 0, <usize>nn << 3);
    for (let c = 0; c < n; c++) {
      sd(scratch, c * n + c, 1 / f(lm, c * n + c));
      for (let i = c + 1; i < n; i++) {
        let s: f64 = 0;
        for (let r = c; r < i; r++) s += f(lm, i * n + r) * ld(scratch, c * n + r);
        sd(scratch, c * n + i, -s / f(lm, i * n + i));
      }
    }
    for (let i = 0; i < n; i++) {
      for (let j = 0; j <= i; j++) {
        let s: f64 = 0;
        for (let r = i; r < n; r++) s += ld(scratch, i * n + r) * ld(scratch, j * n + r);
        store<f32>(om + (<usize>(i * n + j) << 2), <f32>s);
        store<f32>(om + (<usize>(j * n + i) << 2), <f32>s);
      }
    }
  }
}

/**
 * Symmetric eigendecomposition per matrix by cyclic Jacobi rotations in f64 (lower triangle of A
 * read, mirrored), until the off-diagonal mass is below 1e-30 of the total. Output as the
 * reference's eigh: values ascending, orthonormal vectors as columns in the same order, each with
 * its largest-magnitude component (the first on ties) positive; equal values keep index order. A
 * matrix with a non-finite entry gives NaN values and vectors. scratch: 8·(2n² + 2n) bytes.
 */
export function eigh(a: usize, values: usize, vectors: usize, batch: i32, n: i32, scratch: usize): void {
  const nn = n * n;
  const w = scratch; // the matrix being diagonalised
  const v = scratch + (<usize>nn << 3); // accumulated rotations (columns are eigenvectors)
  const d = v + (<usize>nn << 3); // eigenvalues
  const order = d + (<usize>n << 3); // i32 positions, ascending
  for (let m = 0; m < batch; m++) {
    const src = a + (<usize>(m * nn) << 2);
    const valOut = values + (<usize>(m * n) << 2);
    const vecOut = vectors + (<usize>(m * nn) << 2);
    let finite = true;
    let total: f64 = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j <= i; j++) {
        const x = f(src, i * n + j);
        if (!isFinite(x)) finite = false;
        sd(w, i * n + j, x);
        sd(w, j * n + i, x);
        total += i == j ? x * x : 2 * x * x;
      }
    }
    if (!finite) {
      for (let i = 0; i < n; i++) store<f32>(valOut + (<usize>i << 2), NaN);
      for (let i = 0; i < nn; i++) store<f32>(vecOut + (<usize>i << 2), NaN);
      continue;
    }
    for (let i = 0; i < nn; i++) sd(v, i, 0);
    for (let i = 0; i < n; i++) sd(v, i * n + i, 1);
    for (let sweep = 0; sweep < 100; sweep++) {
      let off: f64 = 0;
      for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) off += 2 * ld(w, i * n + j) * ld(w, i * n + j);
      if (off <= 1e-30 * total || off == 0) break;
      for (let p = 0; p < n; p++) {
        for (let q = p + 1; q < n; q++) {
          const apq = ld(w, p * n + q);
          if (apq == 0) continue;
          const theta = (ld(w, q * n + q) - ld(w, p * n + p)) / (2 * apq);
          const t = (theta >= 0 ? 1.0 : -1.0) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
          const c = 1 / Math.sqrt(t * t + 1);
          const s = t * c;
          for (let k = 0; k < n; k++) {
            const akp = ld(w, k * n + p);
            const akq = ld(w, k * n + q);
            sd(w, k * n + p, c * akp - s * akq);
            sd(w, k * n + q, s * akp + c * akq);
          }
          for (let k = 0; k < n; k++) {
            const apk = ld(w, p * n + k);
            const aqk = ld(w, q * n + k);
            sd(w, p * n + k, c * apk - s * aqk);
            sd(w, q * n + k, s * apk + c * aqk);
          }
          for (let k = 0; k < n; k++) {
            const vkp = ld(v, k * n + p);
            const vkq = ld(v, k * n + q);
            sd(v, k * n + p, c * vkp - s * vkq);
            sd(v, k * n + q, s * vkp + c * vkq);
          }
        }
      }
    }
    for (let i = 0; i < n; i++) {
      sd(d, i, ld(w, i * n + i));
      store<i32>(order + (<usize>i << 2), i);
    }
    // Stable insertion sort of the positions by ascending value.
    for (let i = 1; i < n; i++) {
      const pos = load<i32>(order + (<usize>i << 2));
      const val = ld(d, pos);
      let j = i - 1;
      while (j >= 0 && ld(d, load<i32>(order + (<usize>j << 2))) > val) {
        store<i32>(order + (<usize>(j + 1) << 2), load<i32>(order + (<usize>j << 2)));
        j--;
      }
      store<i32>(order + (<usize>(j + 1) << 2), pos);
    }
    for (let to = 0; to < n; to++) {
      const from = load<i32>(order + (<usize>to << 2));
      store<f32>(valOut + (<usize>to << 2), <f32>ld(d, from));
      let best = 0;
      let bestAbs: f64 = -1;
      for (let i = 0; i < n; i++) {
        const x = Math.abs(ld(v, i * n + from));
        if (x > bestAbs) {
          bestAbs = x;
          best = i;
        }
      }
      const sign: f64 = ld(v, best * n + from) < 0 ? -1 : 1;
      for (let i = 0; i < n; i++) store<f32>(vecOut + (<usize>(i * n + to) << 2), <f32>(sign * ld(v, i * n + from)));
    }
  }
}
