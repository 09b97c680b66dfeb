// Layout kernels on the CPU: the oracle for shaders/layout.wgsl, gather.wgsl and im2col.wgsl.
// Plain index arithmetic over typed arrays; any dtype for the copies, floats for the sums.
import type { Conv2dGeometry } from '../backend.ts';
import { sizeOf, type Shape, type Tensor } from '../../tensor.ts';
import { resultFloatType, ShapeError, stridesOf } from '../../shape-rules/shape.ts';
import {
  col2imShape,
  concatShape,
  gatherShape,
  im2colShape,
  permuteShape,
  scatterAddShape,
  sliceShape,
  type ResolvedConv2d,
} from '../../shape-rules/layout.ts';
import type { CpuBackend } from './cpu-backend.ts';

/** Calls fn(flatIndex, multiIndex) for every element of `shape` in row-major order. */
function forEachIndex(shape: Shape, fn: (flat: number, idx: number[]) => void): void {
  const total = sizeOf(shape);
  const idx = new Array<number>(shape.length).fill(0);
  for (let flat = 0; flat < total; flat++) {
    fn(flat, idx);
    for (let k = shape.length - 1; k >= 0; k--) {
      if (++idx[k] < shape[k]) break;
      idx[k] = 0;
    }
  }
}

export function permute(backend: CpuBackend, x: Tensor, perm: readonly number[]): Tensor {
  const { shape, perm: axes } = permuteShape(x.shape, perm);
  const src = backend.dataOf(x);
  const inStrides = stridesOf(x.shape);
  const { tensor, data } = backend.alloc(shape, x.dtype);
  forEachIndex(shape, (flat, idx) => {
    let off = 0;
    for (let k = 0; k < idx.length; k++) off += idx[k] * inStrides[axes[k]];
    data[flat] = src[off];
  });
  return tensor;
}

export function slice(backend: CpuBackend, x: Tensor, begin: readonly number[], size: readonly number[]): Tensor {
  const s = sliceShape(x.shape, begin, size);
  const src = backend.dataOf(x);
  const inStrides = stridesOf(x.shape);
  const { tensor, data } = backend.alloc(s.size, x.dtype);
  forEachIndex(s.size, (flat, idx) => {
    let off = 0;
    for (let k = 0; k < idx.length; k++) off += (s.begin[k] + idx[k]) * inStrides[k];
    data[flat] = src[off];
  });
  return tensor;
}

export function concat(backend: CpuBackend, xs: readonly Tensor[], axis: number): Tensor {
  const { shape, axis: a } = concatShape(xs, axis);
  const { tensor, data } = backend.alloc(shape, xs[0].dtype);
  const outStrides = stridesOf(shape);
  let offset = 0;
  for (const x of xs) {
    const src = backend.dataOf(x);
    forEachIndex(x.shape, (flat, idx) => {
      let off = 0;
      for (let k = 0; k < idx.length; k++) off += (k === a ? idx[k] + offset : idx[k]) * outStrides[k];
      data[off] = src[flat];
    });
    offset += x.shape[a];
  }
  return tensor;
}

export function gather(backend: CpuBackend, x: Tensor, indices: Tensor): Tensor {
  const shape = gatherShape(x, indices);
  const rows = x.shape[0];
  const cols = sizeOf(x.shape.slice(1));
  const src = backend.dataOf(x);
  const idx = backend.dataOf(indices);
  const { tensor, data } = backend.alloc(shape, x.dtype);
  for (let m = 0; m < idx.length; m++) {
    const r = idx[m];
    if (r < 0 || r >= rows) throw new ShapeError(`gather: index ${r} at position ${m} is out of range for ${rows} rows`);
    for (let j = 0; j < cols; j++) data[m * cols + j] = src[r * cols + j];
  }
  return tensor;
}

export function scatterAdd(backend: CpuBackend, src: Tensor, indices: Tensor, numRows: number): Tensor {
  const shape = scatterAddShape(src, indices, numRows);
  const cols = sizeOf(src.shape.slice(1));
  const s = backend.dataOf(src);
  const idx = backend.dataOf(indices);
  // Sum in float64 in ascending position order (the GPU sums each row in the same order).
  const acc = new Float64Array(numRows * cols);
  for (let m = 0; m < idx.length; m++) {
    const r = idx[m];
    if (r < 0 || r >= numRows) throw new ShapeError(`scatterAdd: index ${r} at position ${m} is out of range for ${numRows} rows`);
    for (let j = 0; j < cols; j++) acc[r * cols + j] += s[m * cols + j];
  }
  const { tensor, data } = backend.alloc(shape, resultFloatType(src));
  data.set(acc);
  return tensor;
}

/**
 * Visit every in-bounds entry of the im2col matrix: `col` is its flat index in [N, P, C·kH·kW],
 * `pixel` the flat index of the input pixel it copies (padding entries are skipped).
 */
function forEachPatchEntry(g: ResolvedConv2d, visit: (col: number, pixel: number) => void): void {
  let o = 0;
  for (let n = 0; n < g.n; n++) {
    for (let oh = 0; oh < g.outH; oh++) {
      for (let ow = 0; ow < g.outW; ow++) {
        for (let c = 0; c < g.c; c++) {
          for (let kh = 0; kh < g.kernelH; kh++) {
            for (let kw = 0; kw < g.kernelW; kw++, o++) {
              const ih = oh * g.strideH - g.padH + kh * g.dilationH;
              const iw = ow * g.strideW - g.padW + kw * g.dilationW;
              if (ih >= 0 && ih < g.h && iw >= 0 && iw < g.w) visit(o, ((n * g.c + c) * g.h + ih) * g.w + iw);
            }
          }
        }
      }
    }
  }
}

export function im2col(backend: CpuBackend, x: Tensor, geometry: Conv2dGeometry): Tensor {
  const { shape, conv } = im2colShape(x, geometry);
  const src = backend.dataOf(x);
  const { tensor, data } = backend.alloc(shape, x.dtype);
  forEachPatchEntry(conv, (col, pixel) => (data[col] = src[pixel]));
  return tensor;
}

/** The adjoint of im2col written as a scatter (the GPU gathers instead), so the two are independent. */
export function col2im(backend: CpuBackend, cols: Tensor, inputShape: Shape, geometry: Conv2dGeometry): Tensor {
  const conv = col2imShape(cols, inputShape, geometry);
  const src = backend.dataOf(cols);
  const acc = new Float64Array(sizeOf(inputShape));
  forEachPatchEntry(conv, (col, pixel) => (acc[pixel] += src[col]));
  const { tensor, data } = backend.alloc(inputShape, resultFloatType(cols));
  data.set(acc);
  return tensor;
}
