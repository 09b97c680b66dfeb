// Matmul kernel: C[m, n] = A[m, k] · B[k, n] in float32, for any operand strides (so every
// transpose combination is the same code). Goto-style blocking: a KC×NC block of B and an MC×KC
// block of A are packed into contiguous, zero-padded panels, and a 4×8 register-blocked
// micro-kernel (eight f32x4 accumulators) walks them. Packing makes the inner loop independent of
// the transposes and keeps the panels in cache; zero padding lets every tile run the full
// micro-kernel, with edge tiles written through a small scratch tile.

const MR: i32 = 4; // rows of a micro-tile (one f32 splat each)
const NR: i32 = 8; // columns of a micro-tile (two f32x4 vectors)
const KC: i32 = 256; // depth of a packed block
const MC: i32 = 128; // rows of a packed A block
const NC: i32 = 1024; // columns of a packed B block

/** Bytes of scratch matmul needs for its packed panels (the caller allocates them). */
export function matmulScratchBytes(): i32 {
  return (KC * MC + KC * NC + MR * NR) * 4;
}

/** Pack rows [i0, i0+mc) × depth [p0, p0+kc) of A into MR-row panels: panel[p·MR + r] = A(i0+r, p0+p). */
function packA(a: usize, aRow: i32, aCol: i32, i0: i32, p0: i32, mc: i32, kc: i32, dst: usize): void {
  for (let ir = 0; ir < mc; ir += MR) {
    const rows = min(MR, mc - ir);
    const panel = dst + <usize>(ir * kc) * 4;
    if (rows == MR && aCol == 1) {
      // Row-major A: four contiguous rows, interleaved.
      const r0 = a + <usize>((i0 + ir) * aRow + p0) * 4;
      const r1 = r0 + <usize>aRow * 4;
      const r2 = r1 + <usize>aRow * 4;
      const r3 = r2 + <usize>aRow * 4;
      for (let p = 0; p < kc; p++) {
        const o = panel + <usize>(p * MR) * 4;
        const q = <usize>p * 4;
        store<f32>(o, load<f32>(r0 + q));
        store<f32>(o + 4, load<f32>(r1 + q));
        store<f32>(o + 8, load<f32>(r2 + q));
        store<f32>(o + 12, load<f32>(r3 + q));
      }
    } else if (rows == MR && aRow == 1) {
      // Transposed A: the MR values of one depth step are contiguous.
      for (let p = 0; p < kc; p++) {
        v128.store(panel + <usize>(p * MR) * 4, v128.load(a + <usize>((p0 + p) * aCol + i0 + ir) * 4));
      }
    } else {
      for (let p = 0; p < kc; p++) {
        for (let r = 0; r < MR; r++) {
          const v: f32 = r < rows ? load<f32>(a + <usize>((i0 + ir + r) * aRow + (p0 + p) * aCol) * 4) : 0;
          store<f32>(panel + <usize>(p * MR + r) * 4, v);
        }
      }
    }
  }
}

/** Pack depth [p0, p0+kc) × columns [j0, j0+nc) of B into NR-column panels: panel[p·NR + c] = B(p0+p, j0+c). */
function packB(b: usize, bRow: i32, bCol: i32, p0: i32, j0: i32, kc: i32, nc: i32, dst: usize): void {
  for (let jr = 0; jr < nc; jr += NR) {
    const cols = min(NR, nc - jr);
    const panel = dst + <usize>(jr * kc) * 4;
    if (cols == NR && bCol == 1) {
      for (let p = 0; p < kc; p++) {
        const src = b + <usize>((p0 + p) * bRow + j0 + jr) * 4;
        const o = panel + <usize>(p * NR) * 4;
        v128.store(o, v128.load(src));
        v128.store(o + 16, v128.load(src + 16));
      }
    } else {
      for (let p = 0; p < kc; p++) {
        for (let c = 0; c < NR; c++) {
          const v: f32 = c < cols ? load<f32>(b + <usize>((p0 + p) * bRow + (j0 + jr + c) * bCol) * 4) : 0;
          store<f32>(panel + <usize>(p * NR + c) * 4, v);
        }
      }
    }
  }
}

/** One MR×NR tile: C (+)= Apanel · Bpanel over kc. `first` overwrites C, later depth blocks add. */
// @ts-ignore: decorator
@inline
function microKernel(kc: i32, pa: usize, pb: usize, c: usize, ldc: i32, rows: i32, cols: i32, first: bool, tile: usize): void {
  let c00 = f32x4.splat(0);
  let c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0);
  let c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0);
  let c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0);
  let c31 = f32x4.splat(0);
  for (let p = 0; p < kc; p++) {
    const b0 = v128.load(pb);
    const b1 = v128.load(pb, 16);
    let a = f32x4.splat(load<f32>(pa));
    c00 = f32x4.add(c00, f32x4.mul(a, b0));
    c01 = f32x4.add(c01, f32x4.mul(a, b1));
    a = f32x4.splat(load<f32>(pa, 4));
    c10 = f32x4.add(c10, f32x4.mul(a, b0));
    c11 = f32x4.add(c11, f32x4.mul(a, b1));
    a = f32x4.splat(load<f32>(pa, 8));
    c20 = f32x4.add(c20, f32x4.mul(a, b0));
    c21 = f32x4.add(c21, f32x4.mul(a, b1));
    a = f32x4.splat(load<f32>(pa, 12));
    c30 = f32x4.add(c30, f32x4.mul(a, b0));
    c31 = f32x4.add(c31, f32x4.mul(a, b1));
    pa += 16;
    pb += 32;
  }
  if (rows == MR && cols == NR) {
    const ld = <usize>ldc * 4;
    if (first) {
      v128.store(c, c00);
      v128.store(c, c01, 16);
      v128.store(c + ld, c10);
      v128.store(c + ld, c11, 16);
      v128.store(c + 2 * ld, c20);
      v128.store(c + 2 * ld, c21, 16);
      v128.store(c + 3 * ld, c30);
      v128.store(c + 3 * ld, c31, 16);
    } else {
      v128.store(c, f32x4.add(v128.load(c), c00));
      v128.store(c, f32x4.add(v128.load(c, 16), c01), 16);
      v128.store(c + ld, f32x4.add(v128.load(c + ld), c10));
      v128.store(c + ld, f32x4.add(v128.load(c + ld, 16), c11), 16);
      v128.store(c + 2 * ld, f32x4.add(v128.load(c + 2 * ld), c20));
      v128.store(c + 2 * ld, f32x4.add(v128.load(c + 2 * ld, 16), c21), 16);
      v128.store(c + 3 * ld, f32x4.add(v128.load(c + 3 * ld), c30));
      v128.store(c + 3 * ld, f32x4.add(v128.load(c + 3 * ld, 16), c31), 16);
    }
    return;
  }
  // Edge tile: spill to scratch, then copy the valid part.
  v128.store(tile, c00);
  v128.store(tile, c01, 16);
  v128.store(tile, c10, 32);
  v128.store(tile, c11, 48);
  v128.store(tile, c20, 64);
  v128.store(tile, c21, 80);
  v128.store(tile, c30, 96);
  v128.store(tile, c31, 112);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < cols; j++) {
      const o = c + <usize>(r * ldc + j) * 4;
      const v = load<f32>(tile + <usize>(r * NR + j) * 4);
      store<f32>(o, first ? v : load<f32>(o) + v);
    }
  }
}

/**
 * C = A·B with A(i, p) = a[i·aRow + p·aCol] and B(p, j) = b[p·bRow + j·bCol] (element strides),
 * C row-major [m, n]. `scratch` holds matmulScratchBytes() bytes. k = 0 leaves C untouched.
 */
export function matmul(
  a: usize,
  aRow: i32,
  aCol: i32,
  b: usize,
  bRow: i32,
  bCol: i32,
  c: usize,
  m: i32,
  n: i32,
  k: i32,
  scratch: usize,
): void {
  const packedA = scratch;
  const packedB = scratch + <usize>(KC * MC) * 4;
  const tile = packedB + <usize>(KC * NC) * 4;
  for (let jc = 0; jc < n; jc += NC) {
    const nc = min(NC, n - jc);
    for (let pc = 0; pc < k; pc += KC) {
      const kc = min(KC, k - pc);
      packB(b, bRow, bCol, pc, jc, kc, nc, packedB);
      for (let ic = 0; ic < m; ic += MC) {
        const mc = min(MC, m - ic);
        packA(a, aRow, aCol, ic, pc, mc, kc, packedA);
        for (let jr = 0; jr < nc; jr += NR) {
          const pb = packedB + <usize>(jr * kc) * 4;
          const cols = min(NR, nc - jr);
          for (let ir = 0; ir < mc; ir += MR) {
            const pa = packedA + <usize>(ir * kc) * 4;
            const cp = c + <usize>((ic + ir) * n + jc + jr) * 4;
            microKernel(kc, pa, pb, cp, n, min(MR, mc - ir), cols, pc == 0, tile);
          }
        }
      }
    }
  }
}
