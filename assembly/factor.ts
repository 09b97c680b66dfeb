// Helpers of the K-FAC factor α Xᵀ diag(w) X + β C (docs/kfac.md §2); the product itself runs
// through the matmul kernel (Xᵀ X as a transposed-A matmul).

/** out[r, :] = w[r] · x[r, :] for r < rows. */
export function scaleRows(x: usize, w: usize, out: usize, rows: i32, cols: i32): void {
  for (let r = 0; r < rows; r++) {
    const s = f32x4.splat(load<f32>(w + (<usize>r << 2)));
    const sr = load<f32>(w + (<usize>r << 2));
    const src = x + (<usize>(r * cols) << 2);
    const dst = out + (<usize>(r * cols) << 2);
    let j = 0;
    for (; j + 4 <= cols; j += 4) v128.store(dst + (<usize>j << 2), f32x4.mul(s, v128.load(src + (<usize>j << 2))));
    for (; j < cols; j++) store<f32>(dst + (<usize>j << 2), sr * load<f32>(src + (<usize>j << 2)));
  }
}

/**
 * In place on a d×d product G: G[i, j] = G[j, i] = α G[i, j] + β C[i, j] for i ≤ j (the upper
 * triangle of G and C read, so the result is exactly symmetric). c = 0 when β = 0.
 */
export function symmetrize(g: usize, c: usize, d: i32, alpha: f32, beta: f32): void {
  for (let i = 0; i < d; i++) {
    for (let j = i; j < d; j++) {
      let v = alpha * load<f32>(g + (<usize>(i * d + j) << 2));
      if (c != 0) v += beta * load<f32>(c + (<usize>(i * d + j) << 2));
      store<f32>(g + (<usize>(i * d + j) << 2), v);
      store<f32>(g + (<usize>(j * d + i) << 2), v);
    }
  }
}
