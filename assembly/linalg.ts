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
