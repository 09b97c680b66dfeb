// K-FAC factor kernels on WebGPU (shaders/factor.wgsl, docs/kfac.md §2).
// factor runs two passes: factor_partial (one invocation per 8×8 upper-triangle tile and M-slice)
// and factor_finish (adds the slices in order, applies α and β·C₀, writes both triangles).
import type { FactorOptions } from '../backend.ts';
import type { Tensor } from '../../tensor.ts';
import { requireDType, ShapeError } from '../../shape-rules/shape.ts';
import { factorPlan, sharedReduceShape } from '../../shape-rules/factor.ts';
import { linearGrid, ParamWriter } from './runtime.ts';
import type { WebGPUBackend } from './webgpu-backend.ts';
import factorSource from '../../../../shaders/factor.wgsl?raw';

/** Output tile edge per invocation (8×8 beat 4×4 and 8×4 by 1.5-2× on SwiftShader). */
const TILE = 8;
const WORKGROUP = 64;
/** Longest float32 running sum per invocation; longer M is split into slices (accuracy). */
export const MAX_SLICE_ROWS = 256;
/** Split M further until about this many invocations run, so small factors still fill a GPU. */
const TARGET_INVOCATIONS = 8192;
/** Shortest slice worth its partial write. */
const MIN_SLICE_ROWS = 32;

/** How factor splits its work; exported for benchmarks and tests. */
export function factorLayout(
  batch: number,
  rows: number,
  dim: number,
): { tilesPerRow: number; numTiles: number; slices: number; sliceRows: number } {
  const tilesPerRow = Math.ceil(dim / TILE);
  const numTiles = (tilesPerRow * (tilesPerRow + 1)) / 2;
  const forAccuracy = Math.ceil(rows / MAX_SLICE_ROWS);
  const forParallelism = Math.min(Math.ceil(TARGET_INVOCATIONS / Math.max(1, numTiles * batch)), Math.ceil(rows / MIN_SLICE_ROWS));
  const wanted = Math.max(1, forAccuracy, forParallelism);
  const sliceRows = Math.max(1, Math.ceil(rows / wanted));
  const slices = Math.max(1, Math.ceil(rows / sliceRows));
  return { tilesPerRow, numTiles, slices, sliceRows };
}

export function factor(backend: WebGPUBackend, x: Tensor, options: FactorOptions): Tensor {
  const p = factorPlan(x, options);
  requireDType(x, ['float32'], 'webgpu factor: X');
  if (p.rowWeights) requireDType(p.rowWeights, ['float32'], 'webgpu factor: rowWeights');
  if (p.accumulator) requireDType(p.accumulator, ['float32'], 'webgpu factor: accumulator');
  const out = backend.empty(p.outShape, 'float32');
  const { batch, rows, dim } = p;
  if (out.size === 0) return out;
  if (x.size >= 2 ** 32 || out.size >= 2 ** 32) throw new ShapeError(`factor: ${x} is too large for 32-bit indexing`);
  const { runtime } = backend;
  const layout = factorLayout(batch, rows, dim);
  const partialCount = batch * layout.slices * layout.numTiles;
  const partials = runtime.pool.acquire(partialCount * TILE * TILE * 4);
  const vec4 = dim % 4 === 0;
  const xBuffer = backend.bufferOf(x);

  const params = (count: number, rowStride: number): ArrayBuffer =>
    new ParamWriter()
      .u32(batch, rows, dim, layout.tilesPerRow, layout.numTiles, layout.slices, layout.sliceRows, rowStride, count)
      .u32(p.rowWeights && !p.sharedWeights ? rows : 0, p.accumulator ? 1 : 0, 0)
      .f32(p.alpha, p.beta, 1)
      .bytes();

  const partialGrid = linearGrid(partialCount, WORKGROUP);
  runtime.dispatch({
    key: 'factor.wgsl',
    shader: factorSource,
    entryPoint: vec4 ? 'factor_partial_vec4' : 'factor_partial',
    constants: { HAS_WEIGHTS: p.rowWeights ? 1 : 0 },
    params: params(partialCount, partialGrid.rowStride),
    // Without row weights x stands in for them (bound, never read).
    buffers: [xBuffer, p.rowWeights ? backend.bufferOf(p.rowWeights) : xBuffer, partials],
    workgroups: partialGrid.workgroups,
  });
  const finishCount = batch * layout.numTiles;
  const finishGrid = linearGrid(finishCount, WORKGROUP);
  runtime.dispatch({
    key: 'factor.wgsl',
    shader: factorSource,
    entryPoint: 'factor_finish',
    params: params(finishCount, finishGrid.rowStride),
    buffers: [partials, p.accumulator ? backend.bufferOf(p.accumulator) : partials, backend.bufferOf(out)],
    workgroups: finishGrid.workgroups,
  });
  // Back to the pool now: later work that reuses it is queued after these dispatches.
  runtime.pool.release(partials);
  return out;
}

export function sharedReduce(backend: WebGPUBackend, x: Tensor, op: 'mean' | 'sum'): Tensor {
  const shape = sharedReduceShape(x, op);
  requireDType(x, ['float32'], 'webgpu sharedReduce');
  const [n, r, d] = x.shape;
  const out = backend.empty(shape, 'float32');
  if (out.size === 0) return out;
  const grid = linearGrid(out.size, WORKGROUP);
  backend.runtime.dispatch({
    key: 'factor.wgsl',
    shader: factorSource,
    entryPoint: 'shared_reduce',
    params: new ParamWriter()
      .u32(n, r, d, 0, 0, 0, 0, grid.rowStride, out.size)
      .u32(0, 0, 0)
      .f32(1, 0, op === 'mean' ? r : 1)
      .bytes(),
    buffers: [backend.bufferOf(x), backend.bufferOf(out)],
    workgroups: grid.workgroups,
  });
  return out;
}
