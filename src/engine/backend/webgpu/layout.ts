// Layout kernels on WebGPU: strided copies (shaders/layout.wgsl), gather and deterministic
// scatter-add (shaders/gather.wgsl), im2col and col2im (shaders/im2col.wgsl).
import type { Conv2dGeometry } from '../backend.ts';
import { sizeOf, type Shape, type Tensor } from '../../tensor.ts';
import { requireDType, ShapeError } from '../../shape-rules/shape.ts';
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
import { linearGrid, ParamWriter } from './runtime.ts';
import type { WebGPUBackend } from './webgpu-backend.ts';
import layoutSource from '../../../../shaders/layout.wgsl?raw';
import gatherSource from '../../../../shaders/gather.wgsl?raw';
import im2colSource from '../../../../shaders/im2col.wgsl?raw';

/** Axes the copy kernel handles after merging contiguous ones (see simplifyCopy): 8 outer + the innermost. */
const MAX_COPY_RANK = 9;
/** Innermost-axis elements per invocation; keep equal to RUN in shaders/layout.wgsl. */
const COPY_RUN = 8;
const WORKGROUP = 256;
/** Columns per gather invocation; keep equal to GATHER_RUN in shaders/gather.wgsl. */
const GATHER_RUN = 8;
/** Indices into u32 arrays must stay below 2³². */
const MAX_ELEMENTS = 2 ** 32 - 1;

function requireGpuDType(x: Tensor, op: string): void {
  requireDType(x, ['float32', 'int32'], `webgpu ${op}`);
}

function stridedCopy(backend: WebGPUBackend, src: Tensor, dst: Tensor, copy: StridedCopy, op: string): void {
  const c = simplifyCopy(copy);
  const count = sizeOf(c.shape);
  if (count === 0) return;
  if (count > MAX_ELEMENTS || src.size > MAX_ELEMENTS) throw new ShapeError(`${op}: too large for 32-bit indexing`);
  if (c.shape.length > MAX_COPY_RANK) {
    throw new ShapeError(
      `${op}: this copy needs ${c.shape.length} axes after merging contiguous ones; the GPU kernel handles ${MAX_COPY_RANK}`,
    );
  }
  // A single element simplifies to rank 0: copy it as a 1-element innermost axis.
  const rank = c.shape.length;
  const innerSize = rank > 0 ? c.shape[rank - 1] : 1;
  const innerIn = rank > 0 ? c.inStrides[rank - 1] : 0;
  const innerOut = rank > 0 ? c.outStrides[rank - 1] : 0;
  const outer = (v: number[]): number[] => {
    const rev = v.slice(0, Math.max(0, rank - 1)).reverse(); // the shader peels innermost first
    return [...rev, ...new Array<number>(MAX_COPY_RANK - 1 - rev.length).fill(0)];
  };
  const runs = Math.ceil(innerSize / COPY_RUN);
  const invocations = (count / innerSize) * runs;
  const grid = linearGrid(invocations, WORKGROUP);
  const params = new ParamWriter()
    .u32(invocations, Math.max(0, rank - 1), c.inBase, c.outBase, grid.rowStride, innerSize, innerIn, innerOut, runs, 0, 0, 0)
    .u32(...outer(c.shape), ...outer(c.inStrides), ...outer(c.outStrides));
  backend.runtime.dispatch({
    key: 'layout.wgsl',
    shader: layoutSource,
    params: params.bytes(),
    buffers: [backend.bufferOf(src), backend.bufferOf(dst)],
    workgroups: grid.workgroups,
  });
}

export function permute(backend: WebGPUBackend, x: Tensor, perm: readonly number[]): Tensor {
  const { shape, perm: axes } = permuteShape(x.shape, perm);
  requireGpuDType(x, 'permute');
  const out = backend.empty(shape, x.dtype);
  stridedCopy(backend, x, out, permuteCopy(x.shape, axes), `permute of ${x} by [${perm.join(', ')}]`);
  return out;
}

export function slice(backend: WebGPUBackend, x: Tensor, begin: readonly number[], size: readonly number[]): Tensor {
  const s = sliceShape(x.shape, begin, size);
  requireGpuDType(x, 'slice');
  const out = backend.empty(s.size, x.dtype);
  stridedCopy(backend, x, out, sliceCopy(x.shape, s.begin, s.size), `slice of ${x}`);
  return out;
}

export function concat(backend: WebGPUBackend, xs: readonly Tensor[], axis: number): Tensor {
  const { shape, axis: a } = concatShape(xs, axis);
  requireGpuDType(xs[0], 'concat');
  const out = backend.empty(shape, xs[0].dtype);
  let offset = 0;
  for (const x of xs) {
    stridedCopy(backend, x, out, concatCopy(x.shape, shape, a, offset), `concat along axis ${a}`);
    offset += x.shape[a];
  }
  return out;
}

export function gather(backend: WebGPUBackend, x: Tensor, indices: Tensor): Tensor {
  const shape = gatherShape(x, indices);
  requireGpuDType(x, 'gather');
  const out = backend.empty(shape, x.dtype);
  const cols = sizeOf(x.shape.slice(1));
  if (out.size === 0) return out;
  if (out.size > MAX_ELEMENTS || x.size > MAX_ELEMENTS) throw new ShapeError(`gather: ${x} is too large for 32-bit indexing`);
  // One invocation per run of GATHER_RUN columns of an output row (shaders/gather.wgsl).
  const count = indices.size * Math.ceil(cols / GATHER_RUN);
  const grid = linearGrid(count, WORKGROUP);
  backend.runtime.dispatch({
    shader: gatherSource,
    key: 'gather.wgsl',
    entryPoint: 'gather',
    params: new ParamWriter().u32(count, x.shape[0], cols, grid.rowStride, indices.size).bytes(),
    buffers: [backend.bufferOf(x), backend.bufferOf(indices), backend.bufferOf(out)],
    workgroups: grid.workgroups,
  });
  return out;
}

// ---- scatter-add plans ----

/** Source rows grouped by target row (CSR): rowStart [numRows + 1] and perm [M], sorted per row. */
interface ScatterPlan {
  indices: Tensor;
  rowStart: GPUBuffer;
  perm: GPUBuffer;
}

/** Plans kept per backend; a plan is dropped when its index tensor is disposed, or by LRU beyond this many. */
const MAX_PLANS = 16;
const planCaches = new WeakMap<WebGPUBackend, Map<string, ScatterPlan>>();

function dropPlan(backend: WebGPUBackend, plan: ScatterPlan): void {
  // Safe while queued work still reads them: GPU work runs in submission order (as for tensors).
  backend.runtime.pool.release(plan.rowStart);
  backend.runtime.pool.release(plan.perm);
}

/** The grouping of `indices` by target row, built on the GPU on first use and reused while `indices` lives. */
export function scatterPlan(backend: WebGPUBackend, indices: Tensor, numRows: number): ScatterPlan {
  let cache = planCaches.get(backend);
  if (!cache) planCaches.set(backend, (cache = new Map()));
  for (const [key, plan] of cache) {
    if (plan.indices.isDisposed) {
      cache.delete(key);
      dropPlan(backend, plan);
    }
  }
  const key = `${indices.id}:${numRows}`;
  const hit = cache.get(key);
  if (hit) {
    cache.delete(key); // re-insert: Map order is the LRU order
    cache.set(key, hit);
    return hit;
  }
  const plan = buildPlan(backend, indices, numRows);
  cache.set(key, plan);
  if (cache.size > MAX_PLANS) {
    const [oldestKey, oldest] = cache.entries().next().value as [string, ScatterPlan];
    cache.delete(oldestKey);
    dropPlan(backend, oldest);
  }
  return plan;
}

function buildPlan(backend: WebGPUBackend, indices: Tensor, numRows: number): ScatterPlan {
  const { runtime } = backend;
  const m = indices.size;
  const cursor = runtime.pool.acquire(Math.max(4, numRows * 4));
  const rowStart = runtime.pool.acquire((numRows + 1) * 4);
  const perm = runtime.pool.acquire(Math.max(4, m * 4));
  const idx = backend.bufferOf(indices);
  runtime.clear(cursor, numRows * 4);
  const run = (entryPoint: string, count: number, buffers: GPUBuffer[], workgroup = WORKGROUP): void => {
    const grid = linearGrid(count, workgroup);
    runtime.dispatch({
      shader: gatherSource,
      key: 'gather.wgsl',
      entryPoint,
      params: new ParamWriter().u32(count, numRows, 0, grid.rowStride, m).bytes(),
      buffers,
      workgroups: grid.workgroups,
    });
  };
  run('scatter_count', m, [idx, cursor]);
  // A single workgroup scans all rows (also writes rowStart[numRows] when numRows = 0).
  runtime.dispatch({
    shader: gatherSource,
    key: 'gather.wgsl',
    entryPoint: 'scatter_scan',
    params: new ParamWriter().u32(1, numRows, 0, 0, m).bytes(),
    buffers: [cursor, rowStart],
    workgroups: [1],
  });
  run('scatter_fill', m, [idx, cursor, perm]);
  run('scatter_sort', numRows, [rowStart, perm], 64);
  runtime.pool.release(cursor);
  return { indices, rowStart, perm };
}

export function scatterAdd(backend: WebGPUBackend, src: Tensor, indices: Tensor, numRows: number): Tensor {
  const shape = scatterAddShape(src, indices, numRows);
  requireDType(src, ['float32'], 'webgpu scatterAdd: src');
  const out = backend.empty(shape, 'float32');
  const cols = sizeOf(src.shape.slice(1));
  if (out.size === 0) return out;
  if (out.size > MAX_ELEMENTS || src.size > MAX_ELEMENTS) throw new ShapeError(`scatterAdd: ${src} is too large for 32-bit indexing`);
  const plan = scatterPlan(backend, indices, numRows);
  const vec4 = cols % 4 === 0;
  const perRow = vec4 ? cols / 4 : cols;
  const count = numRows * perRow;
  const grid = linearGrid(count, WORKGROUP);
  backend.runtime.dispatch({
    shader: gatherSource,
    key: 'gather.wgsl',
    entryPoint: vec4 ? 'scatter_apply4' : 'scatter_apply',
    params: new ParamWriter().u32(count, numRows, perRow, grid.rowStride, indices.size).bytes(),
    buffers: [plan.rowStart, plan.perm, backend.bufferOf(src), backend.bufferOf(out)],
    workgroups: grid.workgroups,
  });
  return out;
}

// ---- im2col / col2im ----

function convParams(g: ResolvedConv2d, count: number, rowStride: number): ArrayBuffer {
  return new ParamWriter()
    .u32(count, rowStride, g.n, g.c, g.h, g.w, g.kernelH, g.kernelW)
    .u32(g.strideH, g.strideW, g.padH, g.padW, g.dilationH, g.dilationW, g.outH, g.outW)
    .bytes();
}

export function im2col(backend: WebGPUBackend, x: Tensor, geometry: Conv2dGeometry): Tensor {
  const { shape, conv } = im2colShape(x, geometry);
  requireGpuDType(x, 'im2col');
  const out = backend.empty(shape, x.dtype);
  if (out.size === 0) return out;
  if (out.size > MAX_ELEMENTS) throw new ShapeError(`im2col of ${x}: ${out.size} column entries exceed 32-bit indexing`);
  // One invocation per (output position, channel), each writing kH·kW entries.
  const count = conv.n * conv.outH * conv.outW * conv.c;
  const grid = linearGrid(count, WORKGROUP);
  backend.runtime.dispatch({
    shader: im2colSource,
    key: 'im2col.wgsl',
    entryPoint: 'im2col',
    params: convParams(conv, count, grid.rowStride),
    buffers: [backend.bufferOf(x), backend.bufferOf(out)],
    workgroups: grid.workgroups,
  });
  return out;
}

export function col2im(backend: WebGPUBackend, cols: Tensor, inputShape: Shape, geometry: Conv2dGeometry): Tensor {
  const conv = col2imShape(cols, inputShape, geometry);
  requireDType(cols, ['float32'], 'webgpu col2im');
  const out = backend.empty(inputShape, 'float32');
  const count = out.size;
  if (count === 0) return out;
  if (cols.size > MAX_ELEMENTS) throw new ShapeError(`col2im of ${cols}: too large for 32-bit indexing`);
  const grid = linearGrid(count, WORKGROUP);
  backend.runtime.dispatch({
    shader: im2colSource,
    key: 'im2col.wgsl',
    entryPoint: 'col2im',
    params: convParams(conv, count, grid.rowStride),
    buffers: [backend.bufferOf(cols), backend.bufferOf(out)],
    workgroups: grid.workgroups,
  });
  return out;
}
