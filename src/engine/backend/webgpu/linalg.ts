// Batched small dense linear algebra on WebGPU: one dispatch (or two, for choleskyInverse) covers the
// whole batch, with one workgroup per matrix where the algorithm needs barriers (cholesky, eigh)
// and one invocation per right-hand-side column or output entry where it does not.
// Kernels: shaders/cholesky.wgsl, shaders/trisolve.wgsl, shaders/cholesky-inverse.wgsl, shaders/eigh.wgsl.
import type { TriangularSolveOptions, CholeskyResult, EighResult } from '../backend.ts';
import type { Tensor } from '../../tensor.ts';
import { requireDType, ShapeError } from '../../shape-rules/shape.ts';
import { choleskyInversePlan, choleskyPlan, eighPlan, triangularSolvePlan } from '../../shape-rules/linalg.ts';
import { linearGrid, MAX_WORKGROUPS_PER_DIM, ParamWriter } from './runtime.ts';
import type { WebGPUBackend } from './webgpu-backend.ts';
import choleskySource from '../../../../shaders/cholesky.wgsl?raw';
import trisolveSource from '../../../../shaders/trisolve.wgsl?raw';
import choleskyInverseSource from '../../../../shaders/cholesky-inverse.wgsl?raw';
import eighSource from '../../../../shaders/eigh.wgsl?raw';

/** Invocations per workgroup of the barrier-free kernels (trisolve, cholesky-inverse). */
const WORKGROUP = 64;

/**
 * Workgroup size for the one-workgroup-per-matrix kernels: enough invocations for `items` parallel
 * rows or pairs, as a power of two in [32, 256]. Larger is no faster on SwiftShader (a workgroup
 * runs on one CPU core, and each barrier costs about 0.06 µs per invocation there), but lets a
 * real GPU work on a single large matrix.
 */
export function matrixWorkgroupSize(items: number): number {
  let size = 32;
  while (size < items && size < 256) size *= 2;
  return size;
}

/** Jacobi sweeps before eigh gives up (float32 typically converges in 6–12). */
export const EIGH_MAX_SWEEPS = 20;
/** Rotations are skipped when |a_pq| ≤ EIGH_TOL · sqrt(|a_pp a_qq|) (float32 machine epsilon)… */
export const EIGH_TOL = 2 ** -23;
/** …or when |a_pq| ≤ EIGH_FLOOR · max|A| (rounding noise, far below float32 resolution of A). */
export const EIGH_FLOOR = 2 ** -40;

/** `groups` workgroups as an [x, y] grid within the per-dimension limit; the kernel recovers g = x + y · groupsX. */
function groupGrid(groups: number): { workgroups: [number, number]; groupsX: number } {
  const x = Math.max(1, Math.min(groups, MAX_WORKGROUPS_PER_DIM));
  return { workgroups: [x, Math.ceil(groups / x)], groupsX: x };
}

function requireIndexable(op: string, ...ts: Tensor[]): void {
  for (const t of ts) if (t.size >= 2 ** 32) throw new ShapeError(`${op}: ${t} is too large for 32-bit indexing`);
}

export function cholesky(backend: WebGPUBackend, a: Tensor): CholeskyResult {
  const p = choleskyPlan(a);
  requireDType(a, ['float32'], 'webgpu cholesky: A');
  requireIndexable('cholesky', a);
  const factor = backend.empty(p.factorShape, 'float32');
  if (p.batch === 0 || p.n === 0) return { factor, status: backend.zeros(p.statusShape, 'int32') };
  const status = backend.empty(p.statusShape, 'int32');
  const grid = groupGrid(p.batch);
  backend.runtime.dispatch({
    key: 'cholesky.wgsl',
    shader: choleskySource,
    constants: { WG: matrixWorkgroupSize(p.n) },
    params: new ParamWriter().u32(p.n, p.batch, grid.groupsX, 0).bytes(),
    buffers: [backend.bufferOf(a), backend.bufferOf(factor), backend.bufferOf(status)],
    workgroups: grid.workgroups,
  });
  return { factor, status };
}

export function triangularSolve(backend: WebGPUBackend, l: Tensor, b: Tensor, options: TriangularSolveOptions): Tensor {
  const p = triangularSolvePlan(l, b);
  requireDType(l, ['float32'], 'webgpu triangularSolve: L');
  requireDType(b, ['float32'], 'webgpu triangularSolve: B');
  requireIndexable('triangularSolve', l, b);
  const out = backend.empty(p.outShape, 'float32');
  if (out.size === 0) return out;
  const colGroups = Math.ceil(p.k / WORKGROUP);
  const grid = groupGrid(p.batch * colGroups);
  const transpose = options.transpose ? 1 : 0;
  backend.runtime.dispatch({
    key: 'trisolve.wgsl',
    shader: trisolveSource,
    constants: { WG: WORKGROUP, TRANSPOSE: transpose },
    params: new ParamWriter().u32(p.n, p.k, p.batch, colGroups, grid.groupsX, 0, 0, 0).bytes(),
    buffers: [backend.bufferOf(l), backend.bufferOf(b), backend.bufferOf(out)],
    workgroups: grid.workgroups,
  });
  return out;
}

export function choleskyInverse(backend: WebGPUBackend, l: Tensor): Tensor {
  const p = choleskyInversePlan(l);
  requireDType(l, ['float32'], 'webgpu choleskyInverse: L');
  requireIndexable('choleskyInverse', l);
  const out = backend.empty(p.outShape, 'float32');
  if (out.size === 0) return out;
  const { runtime } = backend;
  const { n, batch } = p;
  const upper = runtime.pool.acquire(l.size * 4);
  const colGroups = Math.ceil(n / WORKGROUP);
  const invertGrid = groupGrid(batch * colGroups);
  const count = (batch * n * (n + 1)) / 2;
  const gramGrid = linearGrid(count, WORKGROUP);
  const params = new ParamWriter().u32(n, batch, colGroups, invertGrid.groupsX, count, gramGrid.rowStride, 0, 0).bytes();
  runtime.dispatch({
    key: 'cholesky-inverse.wgsl',
    shader: choleskyInverseSource,
    entryPoint: 'invert_factor',
    constants: { WG: WORKGROUP },
    params,
    buffers: [backend.bufferOf(l), upper],
    workgroups: invertGrid.workgroups,
  });
  runtime.dispatch({
    key: 'cholesky-inverse.wgsl',
    shader: choleskyInverseSource,
    entryPoint: 'gram',
    constants: { WG: WORKGROUP },
    params,
    buffers: [upper, backend.bufferOf(out)],
    workgroups: gramGrid.workgroups,
  });
  // Back to the pool now: later work that reuses it is queued after these dispatches.
  runtime.pool.release(upper);
  return out;
}

export function eigh(backend: WebGPUBackend, a: Tensor): EighResult {
  const p = eighPlan(a);
  requireDType(a, ['float32'], 'webgpu eigh: A');
  requireIndexable('eigh', a);
  const values = backend.empty(p.valuesShape, 'float32');
  const vectors = backend.empty(p.vectorsShape, 'float32');
  if (p.batch === 0 || p.n === 0) return { values, vectors };
  const { runtime } = backend;
  const { n, batch } = p;
  const pairs = Math.ceil(n / 2);
  const workFloats = batch * (2 * n * n + 8 * pairs);
  if (workFloats >= 2 ** 32) throw new ShapeError(`eigh: ${a} is too large for 32-bit indexing`);
  const work = runtime.pool.acquire(workFloats * 4);
  const grid = groupGrid(batch);
  runtime.dispatch({
    key: 'eigh.wgsl',
    shader: eighSource,
    constants: { WG: matrixWorkgroupSize(pairs) },
    params: new ParamWriter().u32(n, batch, grid.groupsX, EIGH_MAX_SWEEPS).f32(EIGH_TOL, EIGH_FLOOR).u32(0, 0).bytes(),
    buffers: [backend.bufferOf(a), backend.bufferOf(values), backend.bufferOf(vectors), work],
    workgroups: grid.workgroups,
  });
  runtime.pool.release(work);
  return { values, vectors };
}
