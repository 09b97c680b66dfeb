// Elementwise kernels on WebGPU: shaders/unary.wgsl, binary.wgsl, where.wgsl and cast.wgsl.
// The op is a pipeline-overridable constant (one specialised pipeline per op, cached by the
// runtime); launches are 1-D over the output through linearGrid, so arrays beyond 65535·256
// elements work. Broadcasts are first collapsed to the fewest dims (collapseBroadcast).
import type { BinaryOp, UnaryOp } from '../backend.ts';
import { sizeOf, type DType, type Tensor } from '../../tensor.ts';
import {
  checkBinary,
  checkBinaryScalar,
  checkUnary,
  checkWhere,
  collapseBroadcast,
  MAX_BROADCAST_RANK,
  type BroadcastPlan,
} from '../../shape-rules/elementwise.ts';
import { ShapeError } from '../../shape-rules/shape.ts';
import { BINARY_CODES, UNARY_CODES } from '../op-codes.ts';
import { linearGrid, ParamWriter } from './runtime.ts';
import type { WebGPUBackend } from './webgpu-backend.ts';
import unaryShader from '../../../../shaders/unary.wgsl?raw';
import binaryShader from '../../../../shaders/binary.wgsl?raw';
import whereShader from '../../../../shaders/where.wgsl?raw';
import castShader from '../../../../shaders/cast.wgsl?raw';

const WORKGROUP_SIZE = 256;

export function unary(backend: WebGPUBackend, op: UnaryOp, x: Tensor): Tensor {
  const { shape } = checkUnary(op, x);
  const out = backend.empty(shape, 'float32');
  if (out.size === 0) return out;
  const grid = linearGrid(out.size, WORKGROUP_SIZE);
  backend.runtime.dispatch({
    key: 'elementwise/unary',
    shader: unaryShader,
    constants: { OP: UNARY_CODES[op] },
    params: new ParamWriter().u32(out.size, grid.rowStride).bytes(),
    buffers: [backend.bufferOf(x), backend.bufferOf(out)],
    workgroups: grid.workgroups,
  });
  return out;
}

export function binary(backend: WebGPUBackend, op: BinaryOp, a: Tensor, b: Tensor): Tensor {
  const { shape } = checkBinary(op, a, b);
  const out = backend.empty(shape, 'float32');
  if (out.size === 0) return out;
  const plan = collapseBroadcast(shape, [a.shape, b.shape]);
  if (plan.shape.length <= 1) {
    // Each operand is the whole output (stride 1) or one element (stride 0).
    const [sa, sb] = plan.strides.map((s) => s[0] ?? 0);
    dispatchBinaryFlat(backend, op, a, b, out, 0, 0, sa, sb);
    return out;
  }
  checkRank('binary ' + op, plan, [a.shape, b.shape]);
  const grid = linearGrid(out.size, WORKGROUP_SIZE);
  const params = new ParamWriter().u32(out.size, grid.rowStride, plan.shape.length, 0).f32(0).u32(0, 0, 0);
  writePadded(params, plan.shape, 1);
  for (const s of plan.strides) writePadded(params, s, 0);
  backend.runtime.dispatch({
    key: 'elementwise/binary',
    shader: binaryShader,
    entryPoint: 'broadcast',
    constants: { OP: BINARY_CODES[op] },
    params: params.bytes(),
    buffers: [backend.bufferOf(a), backend.bufferOf(b), backend.bufferOf(out)],
    workgroups: grid.workgroups,
  });
  return out;
}

export function binaryScalar(backend: WebGPUBackend, op: BinaryOp, x: Tensor, s: number, scalarFirst: boolean): Tensor {
  const { shape } = checkBinaryScalar(op, x, s);
  const out = backend.empty(shape, 'float32');
  if (out.size === 0) return out;
  // The tensor is bound twice (read-only aliasing is allowed); the scalar operand comes from the uniform.
  dispatchBinaryFlat(backend, op, x, x, out, scalarFirst ? 1 : 2, s, 1, 1);
  return out;
}

function dispatchBinaryFlat(
  backend: WebGPUBackend,
  op: BinaryOp,
  a: Tensor,
  b: Tensor,
  out: Tensor,
  scalarMode: number,
  scalar: number,
  strideA: number,
  strideB: number,
): void {
  const grid = linearGrid(out.size, WORKGROUP_SIZE);
  const params = new ParamWriter().u32(out.size, grid.rowStride, 1, scalarMode).f32(scalar).u32(strideA, strideB, 0);
  // The uniform must cover the whole Params struct, broadcast arrays included.
  for (let k = 0; k < 3; k++) writePadded(params, [], 0);
  backend.runtime.dispatch({
    key: 'elementwise/binary',
    shader: binaryShader,
    entryPoint: 'flat',
    constants: { OP: BINARY_CODES[op] },
    params: params.bytes(),
    buffers: [backend.bufferOf(a), backend.bufferOf(b), backend.bufferOf(out)],
    workgroups: grid.workgroups,
  });
}

export function where(backend: WebGPUBackend, cond: Tensor, a: Tensor, b: Tensor): Tensor {
  const { shape } = checkWhere(cond, a, b);
  const out = backend.empty(shape, 'float32');
  if (out.size === 0) return out;
  const plan = collapseBroadcast(shape, [cond.shape, a.shape, b.shape]);
  const flat = plan.shape.length <= 1;
  if (!flat) checkRank('where', plan, [cond.shape, a.shape, b.shape]);
  const grid = linearGrid(out.size, WORKGROUP_SIZE);
  const condIsFloat = cond.dtype === 'int32' ? 0 : 1;
  const params = new ParamWriter().u32(out.size, grid.rowStride, plan.shape.length, condIsFloat);
  params.u32(...(flat ? plan.strides.map((s) => s[0] ?? 0) : [0, 0, 0]), 0);
  // Flat launches ignore the arrays, but the uniform must cover the whole Params struct.
  writePadded(params, flat ? [] : plan.shape, 1);
  for (const s of plan.strides) writePadded(params, flat ? [] : s, 0);
  backend.runtime.dispatch({
    key: 'elementwise/where',
    shader: whereShader,
    entryPoint: flat ? 'flat' : 'broadcast',
    params: params.bytes(),
    buffers: [backend.bufferOf(cond), backend.bufferOf(a), backend.bufferOf(b), backend.bufferOf(out)],
    workgroups: grid.workgroups,
  });
  return out;
}

/** float32 ↔ int32 on the GPU; the same dtype is a copy. float64 has no GPU storage. */
export function cast(backend: WebGPUBackend, x: Tensor, dtype: DType): Tensor {
  const out = backend.empty(x.shape, dtype);
  if (out.size === 0) return out;
  if (dtype === x.dtype) {
    backend.runtime.copy(backend.bufferOf(x), backend.bufferOf(out), sizeOf(x.shape) * 4);
    return out;
  }
  const grid = linearGrid(out.size, WORKGROUP_SIZE);
  backend.runtime.dispatch({
    key: 'elementwise/cast',
    shader: castShader,
    entryPoint: dtype === 'int32' ? 'float_to_int' : 'int_to_float',
    params: new ParamWriter().u32(out.size, grid.rowStride).bytes(),
    buffers: [backend.bufferOf(x), backend.bufferOf(out)],
    workgroups: grid.workgroups,
  });
  return out;
}

function checkRank(what: string, plan: BroadcastPlan, shapes: readonly (readonly number[])[]): void {
  if (plan.shape.length > MAX_BROADCAST_RANK) {
    const list = shapes.map((s) => `[${s.join(', ')}]`).join(' and ');
    throw new ShapeError(
      `${what}: broadcasting ${list} needs ${plan.shape.length} dims after merging, the WebGPU kernel takes at most ${MAX_BROADCAST_RANK}`,
    );
  }
}

/** Writes `values` as array<vec4<u32>, 2> (MAX_BROADCAST_RANK slots), filling the rest with `fill`. */
function writePadded(params: ParamWriter, values: readonly number[], fill: number): void {
  for (let d = 0; d < MAX_BROADCAST_RANK; d++) params.u32(d < values.length ? values[d] : fill);
}
