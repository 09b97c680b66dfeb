// Layout and indexing kernels on 4-byte elements (float32 or int32 alike): one strided copy serves
// permute, slice and concat; gather/scatter-add move whole rows; im2col/col2im walk the patch map
// of src/engine/shape-rules/layout.ts (columns ordered (c, kh, kw)).

/**
 * dst[Σ idx·dstStride] = src[Σ idx·srcStride] over every index of `shape`; dims holds the sizes,
 * then the source strides, then the destination strides (int32, elements). The last dim is copied
 * with memory.copy when both strides are 1.
 */
export function stridedCopy(rank: i32, dims: usize, src: usize, dst: usize): void {
  const sStr = dims + (<usize>rank << 2);
  const dStr = sStr + (<usize>rank << 2);
  const last = rank - 1;
  const rowLen = load<i32>(dims + (<usize>last << 2));
  const ss = load<i32>(sStr + (<usize>last << 2));
  const ds = load<i32>(dStr + (<usize>last << 2));
  let rows = 1;
  for (let d = 0; d < last; d++) rows *= load<i32>(dims + (<usize>d << 2));
  if (rowLen == 0 || rows == 0) return;
  const coord = memory.data(64);
  memory.fill(coord, 0, 64);
  let is = 0;
  let id = 0;
  for (let r = 0; r < rows; r++) {
    const s = src + (<usize>is << 2);
    const t = dst + (<usize>id << 2);
    if (ss == 1 && ds == 1) memory.copy(t, s, <usize>rowLen << 2);
    else for (let j = 0; j < rowLen; j++) store<i32>(t + (<usize>(j * ds) << 2), load<i32>(s + (<usize>(j * ss) << 2)));
    for (let d = last - 1; d >= 0; d--) {
      const cp = coord + (<usize>d << 2);
      const c = load<i32>(cp) + 1;
      const size = load<i32>(dims + (<usize>d << 2));
      const o = <usize>d << 2;
      if (c < size) {
        store<i32>(cp, c);
        is += load<i32>(sStr + o);
        id += load<i32>(dStr + o);
        break;
      }
      store<i32>(cp, 0);
      is -= load<i32>(sStr + o) * (size - 1);
      id -= load<i32>(dStr + o) * (size - 1);
    }
  }
}

/** out[m] = x[indices[m]] row by row (indices already checked by the caller). */
export function gatherRows(x: usize, indices: usize, out: usize, m: i32, cols: i32): void {
  const rowBytes = <usize>cols << 2;
  for (let i = 0; i < m; i++) {
    const r = load<i32>(indices + (<usize>i << 2));
    memory.copy(out + <usize>i * rowBytes, x + <usize>r * rowBytes, rowBytes);
  }
}

/** out = 0, then out[indices[m]] += src[m] in ascending m (indices already checked). */
export function scatterAddRows(src: usize, indices: usize, out: usize, m: i32, cols: i32, numRows: i32): void {
  const rowBytes = <usize>cols << 2;
  memory.fill(out, 0, <usize>numRows * rowBytes);
  for (let i = 0; i < m; i++) {
    const r = load<i32>(indices + (<usize>i << 2));
    const s = src + <usize>i * rowBytes;
    const t = out + <usize>r * rowBytes;
    let j = 0;
    for (; j + 4 <= cols; j += 4) {
      const o = <usize>j << 2;
      v128.store(t + o, f32x4.add(v128.load(t + o), v128.load(s + o)));
    }
    for (; j < cols; j++) {
      const o = <usize>j << 2;
      store<f32>(t + o, load<f32>(t + o) + load<f32>(s + o));
    }
  }
}

/** Geometry block (int32): n, c, h, w, kH, kW, strideH, strideW, padH, padW, dilH, dilW, outH, outW. */
// @ts-ignore: decorator
@inline
function geo(g: usize, i: i32): i32 {
  return load<i32>(g + (<usize>i << 2));
}

/**
 * im2col (toCols = true): cols[n, oh·outW+ow, (c·kH+kh)·kW+kw] = x[n, c, ih, iw] (0 in the padding);
 * col2im (toCols = false): x = 0, then x[n, c, ih, iw] += cols[...] — the adjoint.
 */
export function patches(g: usize, x: usize, cols: usize, toCols: bool): void {
  const n = geo(g, 0), c = geo(g, 1), h = geo(g, 2), w = geo(g, 3);
  const kH = geo(g, 4), kW = geo(g, 5), sH = geo(g, 6), sW = geo(g, 7);
  const pH = geo(g, 8), pW = geo(g, 9), dH = geo(g, 10), dW = geo(g, 11);
  const outH = geo(g, 12), outW = geo(g, 13);
  if (!toCols) memory.fill(x, 0, <usize>(n * c * h * w) << 2);
  let o: usize = cols;
  for (let ni = 0; ni < n; ni++) {
    for (let oh = 0; oh < outH; oh++) {
      for (let ow = 0; ow < outW; ow++) {
        for (let ci = 0; ci < c; ci++) {
          const plane = x + (<usize>((ni * c + ci) * h * w) << 2);
          for (let kh = 0; kh < kH; kh++) {
            const ih = oh * sH - pH + kh * dH;
            const rowOk = ih >= 0 && ih < h;
            for (let kw = 0; kw < kW; kw++, o += 4) {
              const iw = ow * sW - pW + kw * dW;
              if (rowOk && iw >= 0 && iw < w) {
                const p = plane + (<usize>(ih * w + iw) << 2);
                if (toCols) store<f32>(o, load<f32>(p));
                else store<f32>(p, load<f32>(p) + load<f32>(o));
              } else if (toCols) {
                store<f32>(o, 0);
              }
            }
          }
        }
      }
    }
  }
}
