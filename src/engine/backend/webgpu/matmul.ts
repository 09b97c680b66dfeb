// Matmul on WebGPU. Aligned shapes take the vec4 register-blocked kernel (shaders/matmul-vec4.wgsl),
// everything else the general kernel (shaders/matmul.wgsl); neither needs padding. Batch dims are
// collapsed (shape-rules/matmul.ts); the shaders index up to three of them, further outer dims become
// separate dispatches.
import type { MatmulOptions } from '../backend.ts';
import type { Tensor } from '../../tensor.ts';
import { batchOffsets, collapseBatch, planMatmul, type MatmulPlan } from '../../shape-rules/matmul.ts';
import { MAX_WORKGROUPS_PER_DIM, ParamWriter } from './runtime.ts';
import type { WebGPUBackend } from './webgpu-backend.ts';
import generalShader from '../../../../shaders/matmul.wgsl?raw';
import vec4Shader from '../../../../shaders/matmul-vec4.wgsl?raw';

export type MatmulKernel = 'vec4' | 'general';

/** Invocations per workgroup along n (x) and m (y), and the side of the square of C each computes. */
export interface KernelTiling {
  wgX: number;
  wgY: number;
  /** The shaders' entry point main<block>: 4 or 16 in matmul-vec4.wgsl, 4 or 8 in matmul.wgsl. */
  block: number;
}

export interface MatmulTuning {
  vec4: KernelTiling;
  general: KernelTiling;
}

/**
 * SwiftShader (and other CPU rasterisers) run invocations as SIMD lanes where every buffer load is
 * costly and registers are plentiful, so big per-invocation blocks win (measured: 16×16 about 2×
 * faster than 4×4; bench/matmul.ts). On hardware GPUs such blocks would spill registers, so those
 * get the classic 4×4 per invocation.
 */
export const SOFTWARE_TUNING: MatmulTuning = {
  vec4: { wgX: 4, wgY: 4, block: 16 },
  general: { wgX: 4, wgY: 4, block: 8 },
};
export const HARDWARE_TUNING: MatmulTuning = {
  vec4: { wgX: 8, wgY: 8, block: 4 },
  general: { wgX: 8, wgY: 8, block: 4 },
};

const SHADER_BATCH_DIMS = 3;
/** Small problems get smaller workgroups until there are this many, so that all cores share the work. */
const MIN_WORKGROUPS = 8;
/** SwiftShader runs 4 invocations as one SIMD group; fewer per workgroup would leave lanes idle. */
const MIN_INVOCATIONS = 4;
const tuningCache = new WeakMap<WebGPUBackend, MatmulTuning>();

export function isSoftwareAdapter(backend: WebGPUBackend): boolean {
  const adapter = backend.info.adapter;
  if (!adapter) return false;
  if (adapter.isFallbackAdapter) return true;
  return /swiftshader|llvmpipe|lavapipe|warp|software/i.test(`${adapter.vendor} ${adapter.architecture} ${adapter.description}`);
}

export function tuningFor(backend: WebGPUBackend): MatmulTuning {
  let tuning = tuningCache.get(backend);
  if (!tuning) {
    tuning = isSoftwareAdapter(backend) ? SOFTWARE_TUNING : HARDWARE_TUNING;
    tuningCache.set(backend, tuning);
  }
  return tuning;
}

function autoTiling(tuning: MatmulTuning, plan: MatmulPlan, useVec4: boolean): KernelTiling {
  const tiling = useVec4 ? tuning.vec4 : tuning.general;
  // A thin C (a classifier's 10 outputs, say) would waste most of a big block.
  return Math.min(plan.m, plan.n) < 16 ? { ...tiling, block: 4 } : tiling;
}

/** Halves the workgroup while the problem would fill fewer than MIN_WORKGROUPS of them. */
export function fitWorkgroups(tiling: KernelTiling, plan: MatmulPlan): KernelTiling {
  let { wgX, wgY } = tiling;
  const { block } = tiling;
  const count = (x: number, y: number) => Math.ceil(plan.n / (x * block)) * Math.ceil(plan.m / (y * block)) * plan.batchCount;
  while (count(wgX, wgY) < MIN_WORKGROUPS && (wgX * wgY) / 2 >= MIN_INVOCATIONS) {
    // y first: invocations side by side along n share their rows of A, so those loads are uniform
    if (wgY > 1) wgY /= 2;
    else wgX /= 2;
  }
  return { wgX, wgY, block };
}

/** Whether the vec4 kernel can run this shape: every vec4 load and store must be 16-byte aligned. */
export function vec4Eligible(plan: MatmulPlan): boolean {
  const { m, n, k, transA, transB } = plan;
  const aVectorDim = transA ? m : k;
  const bVectorDim = transB ? k : n;
  return n % 4 === 0 && aVectorDim % 4 === 0 && bVectorDim % 4 === 0;
}

export function matmul(backend: WebGPUBackend, a: Tensor, b: Tensor, options: MatmulOptions): Tensor {
  return matmulWith(backend, a, b, options);
}

/** matmul with the kernel choice and tiling exposed, for tests and benchmarks. */
export function matmulWith(
  backend: WebGPUBackend,
  a: Tensor,
  b: Tensor,
  options: MatmulOptions,
  kernel: MatmulKernel | 'auto' = 'auto',
  tiling?: KernelTiling,
): Tensor {
  const plan = planMatmul(a, b, options);
  const { m, n, k } = plan;
  if (plan.batchCount * m * n === 0) return backend.empty(plan.outShape);
  if (k === 0) return backend.zeros(plan.outShape); // empty sums
  const useVec4 = kernel === 'vec4' || (kernel === 'auto' && vec4Eligible(plan));
  if (useVec4 && !vec4Eligible(plan)) throw new Error(`webgpu matmul: shape m=${m} n=${n} k=${k} does not fit the vec4 kernel`);
  const { wgX, wgY, block } = tiling ?? fitWorkgroups(autoTiling(tuningFor(backend), plan, useVec4), plan);

  const out = backend.empty(plan.outShape);
  const buffers = [backend.bufferOf(a), backend.bufferOf(b), backend.bufferOf(out)];
  const tilesN = Math.ceil(n / (wgX * block));
  const tilesM = Math.ceil(m / (wgY * block));
  const batch = collapseBatch(plan);
  // The shaders walk the innermost (up to) three batch dims; outer ones are looped over here.
  const outerDims = Math.max(0, batch.sizes.length - SHADER_BATCH_DIMS);
  const innerSizes = batch.sizes.slice(outerDims);
  const innerA = batch.aStrides.slice(outerDims);
  const innerB = batch.bStrides.slice(outerDims);
  while (innerSizes.length < SHADER_BATCH_DIMS) {
    innerSizes.unshift(1);
    innerA.unshift(0);
    innerB.unshift(0);
  }
  const innerCount = innerSizes[0] * innerSizes[1] * innerSizes[2];
  const outerCount = plan.batchCount / innerCount;
  // Workgroups are numbered linearly and spread over x, y, z so that no dim exceeds the limit.
  const tileCount = tilesN * tilesM * innerCount;
  const gridX = Math.min(tileCount, MAX_WORKGROUPS_PER_DIM);
  const gridY = Math.min(Math.ceil(tileCount / gridX), MAX_WORKGROUPS_PER_DIM);
  const gridZ = Math.ceil(tileCount / (gridX * gridY));

  const shader = useVec4 ? vec4Shader : generalShader;
  const constants = { TRANS_A: plan.transA ? 1 : 0, TRANS_B: plan.transB ? 1 : 0, WG_X: wgX, WG_Y: wgY };
  const outerBatch = {
    sizes: batch.sizes.slice(0, outerDims),
    aStrides: batch.aStrides.slice(0, outerDims),
    bStrides: batch.bStrides.slice(0, outerDims),
  };
  for (let outer = 0; outer < outerCount; outer++) {
    const { aOffset: aBase, bOffset: bBase } = batchOffsets(outerBatch, outer);
    const params = new ParamWriter()
      .u32(m, n, k, tilesN, tilesM, tileCount, gridX, gridX * gridY)
      .u32(innerSizes[1], innerSizes[2], outer * innerCount * m * n, 0)
      .u32(innerA[0], innerA[1], innerA[2], aBase)
      .u32(innerB[0], innerB[1], innerB[2], bBase);
    backend.runtime.dispatch({
      key: useVec4 ? 'matmul-vec4' : 'matmul',
      shader,
      entryPoint: `main${block}`,
      constants,
      params: params.bytes(),
      buffers,
      workgroups: [gridX, gridY, gridZ],
    });
  }
  return out;
}
