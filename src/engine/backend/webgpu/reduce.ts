// Reductions and softmax on WebGPU: shaders/reduce.wgsl, argmax.wgsl and softmax.wgsl.
//
// reduce views x as [outer, axisLen, inner] and runs passes that each shrink the axis by a chunk
// factor until one entry is left (a tree of short partial sums: a 1e6-element sum is 977 partial
// sums of 1024, then one of 977):
//   - inner = 1 and axisLen > 256: reduce.wgsl `rows`, a 64-thread workgroup per (row, 1024-chunk);
//   - otherwise `strided`, a thread per output over a chunk of ≤ 256 (final) or 128 (intermediate).
// mean divides by the original axis length in the last pass.
import type { ReduceOp } from '../backend.ts';
import type { Tensor } from '../../tensor.ts';
import { planArgmax, planReduce, planSoftmax } from '../../shape-rules/reduce.ts';
import { linearGrid, ParamWriter } from './runtime.ts';
import type { WebGPUBackend } from './webgpu-backend.ts';
import reduceShader from '../../../../shaders/reduce.wgsl?raw';
import argmaxShader from '../../../../shaders/argmax.wgsl?raw';
import softmaxShader from '../../../../shaders/softmax.wgsl?raw';

const THREADS = 256; // workgroup size of the thread-per-output entry points
/** Rows longer than this get a workgroup each (reduce rows, argmax rows, softmax per_workgroup). */
const LONG_ROW = 256;
/** Axis entries per workgroup in one `rows` pass (16 per thread, then the tree). */
const ROWS_CHUNK = 1024;
/** Axis entries per thread in an intermediate `strided` pass. */
const STRIDED_CHUNK = 128;

export function reduce(backend: WebGPUBackend, op: ReduceOp, x: Tensor, axis: number | null, keepDims: boolean): Tensor {
  const { outShape, outer, axisLen, inner } = planReduce(op, x, axis, keepDims);
  const out = backend.empty(outShape, 'float32');
  if (out.size === 0) return out;
  const constants = { OP: op === 'max' ? 1 : 0 };
  let src = x;
  let len = axisLen;
  for (;;) {
    const useRows = inner === 1 && len > LONG_ROW;
    const chunkLen = useRows ? ROWS_CHUNK : len <= LONG_ROW ? len : STRIDED_CHUNK;
    const nChunks = Math.max(1, Math.ceil(len / Math.max(1, chunkLen)));
    const last = nChunks === 1;
    const dst = last ? out : backend.empty([outer * nChunks * inner], 'float32');
    const count = outer * nChunks * inner;
    const grid = useRows ? linearGrid(count, 1) : linearGrid(count, THREADS);
    const divisor = last && op === 'mean' ? axisLen : 1;
    backend.runtime.dispatch({
      key: 'reduce/reduce',
      shader: reduceShader,
      entryPoint: useRows ? 'rows' : 'strided',
      constants,
      params: new ParamWriter().u32(count, grid.rowStride, len, chunkLen, nChunks, inner).f32(divisor).u32(0).bytes(),
      buffers: [backend.bufferOf(src), backend.bufferOf(dst)],
      workgroups: grid.workgroups,
    });
    // Queued work runs in order, so an intermediate may go back to the pool once its reader is queued.
    if (src !== x) src.dispose();
    if (last) return out;
    src = dst;
    len = nChunks;
  }
}

export function argmax(backend: WebGPUBackend, x: Tensor, axis: number): Tensor {
  const { outShape, outer, axisLen, inner } = planArgmax(x, axis);
  const out = backend.empty(outShape, 'int32');
  if (out.size === 0) return out;
  const useRows = inner === 1 && axisLen > LONG_ROW;
  const count = outer * inner;
  const grid = useRows ? linearGrid(count, 1) : linearGrid(count, THREADS);
  backend.runtime.dispatch({
    key: 'reduce/argmax',
    shader: argmaxShader,
    entryPoint: useRows ? 'rows' : 'strided',
    params: new ParamWriter().u32(count, grid.rowStride, axisLen, inner).bytes(),
    buffers: [backend.bufferOf(x), backend.bufferOf(out)],
    workgroups: grid.workgroups,
  });
  return out;
}

export function softmax(backend: WebGPUBackend, x: Tensor, log: boolean): Tensor {
  const { rows, rowLen } = planSoftmax(x, log);
  const out = backend.empty(x.shape, 'float32');
  if (out.size === 0) return out;
  const perWorkgroup = rowLen > LONG_ROW;
  const grid = perWorkgroup ? linearGrid(rows, 1) : linearGrid(rows, THREADS);
  backend.runtime.dispatch({
    key: 'reduce/softmax',
    shader: softmaxShader,
    entryPoint: perWorkgroup ? 'per_workgroup' : 'per_thread',
    constants: { LOG: log ? 1 : 0 },
    params: new ParamWriter().u32(rows, rowLen, grid.rowStride, 0).bytes(),
    buffers: [backend.bufferOf(x), backend.bufferOf(out)],
    workgroups: grid.workgroups,
  });
  return out;
}
