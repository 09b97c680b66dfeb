// Layout and indexing dispatch on the WASM backend (kernels: assembly/layout.ts). permute, slice
// and concat are one strided copy each, after merging dims that both sides walk contiguously.
import type { Conv2dGeometry } from '../backend.ts';
import type { Shape, Tensor } from '../../tensor.ts';
import { ShapeError } from '../../shape-rules/shape.ts';
import {
  col2imShape,
  concatCopy,
  concatShape,
  gatherShape,
  im2colShape,
  permuteCopy,
  permuteShape,
  scatterAddShape,
  simplifyCopy,
  sliceCopy,
  sliceShape,
  type ResolvedConv2d,
  type StridedCopy,
} from '../../shape-rules/layout.ts';
import type { WasmBackend } from './wasm-backend.ts';

/** Run a strided copy (shape-rules/layout.ts) from x into the output at `out` (byte addresses). */
function runCopy(backend: WasmBackend, copy: StridedCopy, src: number, out: number): void {
  if (copy.shape.some((d) => d === 0)) return;
  let { shape, inStrides, outStrides } = simplifyCopy(copy);
  if (shape.length === 0) [shape, inStrides, outStrides] = [[1], [0], [0]];
  backend.kernels.stridedCopy(shape.length, backend.plan(shape, inStrides, outStrides), src + copy.inBase * 4, out + copy.outBase * 4);
}

export function permute(backend: WasmBackend, x: Tensor, perm: readonly number[]): Tensor {
  const { shape, perm: axes } = permuteShape(x.shape, perm);
  const { tensor, ptr } = backend.alloc(shape, x.dtype);
  runCopy(backend, permuteCopy(x.shape, axes), backend.ptr(x), ptr);
  return tensor;
}

export function slice(backend: WasmBackend, x: Tensor, begin: readonly number[], size: readonly number[]): Tensor {
  const s = sliceShape(x.shape, begin, size);
  const { tensor, ptr } = backend.alloc(s.size, x.dtype);
  runCopy(backend, sliceCopy(x.shape, s.begin, s.size), backend.ptr(x), ptr);
  return tensor;
}

export function concat(backend: WasmBackend, xs: readonly Tensor[], axis: number): Tensor {
  const { shape, axis: a } = concatShape(xs, axis);
  const { tensor, ptr } = backend.alloc(shape, xs[0].dtype);
  let offset = 0;
  for (const x of xs) {
    runCopy(backend, concatCopy(x.shape, shape, a, offset), backend.ptr(x), ptr);
    offset += x.shape[a];
  }
  return tensor;
}

function checkIndices(backend: WasmBackend, indices: Tensor, rows: number, op: string): void {
  const idx = backend.view(indices);
  for (let m = 0; m < idx.length; m++) {
    const r = idx[m];
    if (r < 0 || r >= rows) throw new ShapeError(`${op}: index ${r} at position ${m} is out of range for ${rows} rows`);
  }
}

export function gather(backend: WasmBackend, x: Tensor, indices: Tensor): Tensor {
  const shape = gatherShape(x, indices);
  checkIndices(backend, indices, x.shape[0], 'gather');
  const cols = x.shape[0] === 0 ? 0 : x.size / x.shape[0];
  const { tensor, ptr } = backend.alloc(shape, x.dtype);
  backend.kernels.gatherRows(backend.ptr(x), backend.ptr(indices), ptr, indices.size, cols);
  return tensor;
}

export function scatterAdd(backend: WasmBackend, src: Tensor, indices: Tensor, numRows: number): Tensor {
  const shape = scatterAddShape(src, indices, numRows);
  checkIndices(backend, indices, numRows, 'scatterAdd');
  const cols = src.shape.slice(1).reduce((p, d) => p * d, 1);
  const { tensor, ptr } = backend.alloc(shape, 'float32');
  backend.kernels.scatterAddRows(backend.ptr(src), backend.ptr(indices), ptr, indices.size, cols, numRows);
  return tensor;
}

function geometryPlan(backend: WasmBackend, g: ResolvedConv2d): number {
  return backend.plan([
    g.n,
    g.c,
    g.h,
    g.w,
    g.kernelH,
    g.kernelW,
    g.strideH,
    g.strideW,
    g.padH,
    g.padW,
    g.dilationH,
    g.dilationW,
    g.outH,
    g.outW,
  ]);
}

export function im2col(backend: WasmBackend, x: Tensor, geometry: Conv2dGeometry): Tensor {
  const { shape, conv } = im2colShape(x, geometry);
  const { tensor, ptr } = backend.alloc(shape, x.dtype);
  backend.kernels.patches(geometryPlan(backend, conv), backend.ptr(x), ptr, true);
  return tensor;
}

export function col2im(backend: WasmBackend, cols: Tensor, inputShape: Shape, geometry: Conv2dGeometry): Tensor {
  const conv = col2imShape(cols, inputShape, geometry);
  const { tensor, ptr } = backend.alloc(inputShape, 'float32');
  backend.kernels.patches(geometryPlan(backend, conv), ptr, backend.ptr(cols), false);
  return tensor;
}
