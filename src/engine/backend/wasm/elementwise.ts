// Elementwise dispatch on the WASM backend (kernels: assembly/elementwise.ts). Broadcasts are
// collapsed to the fewest dims first (shape-rules/elementwise.ts), so most calls are one flat row.
import type { BinaryOp, UnaryOp } from '../backend.ts';
import type { Tensor } from '../../tensor.ts';
import { checkBinary, checkBinaryScalar, checkUnary, checkWhere, collapseBroadcast } from '../../shape-rules/elementwise.ts';
import { BINARY_CODES, UNARY_CODES } from '../op-codes.ts';
import type { WasmBackend } from './wasm-backend.ts';

export function unary(backend: WasmBackend, op: UnaryOp, x: Tensor): Tensor {
  const { shape, dtype } = checkUnary(op, x);
  const { tensor, ptr } = backend.alloc(shape, dtype);
  backend.kernels.unary(UNARY_CODES[op], backend.ptr(x), ptr, x.size);
  return tensor;
}

export function binary(backend: WasmBackend, op: BinaryOp, a: Tensor, b: Tensor): Tensor {
  const { shape, dtype } = checkBinary(op, a, b);
  const { tensor, ptr } = backend.alloc(shape, dtype);
  if (tensor.size === 0) return tensor;
  const plan = collapseBroadcast(shape, [a.shape, b.shape]);
  const code = BINARY_CODES[op];
  const pa = backend.ptr(a);
  const pb = backend.ptr(b);
  if (plan.shape.length <= 1) {
    const [sa, sb] = plan.strides.map((st) => st[0] ?? 0);
    backend.kernels.binaryRow(code, pa, sa, pb, sb, ptr, tensor.size);
  } else {
    backend.kernels.binaryStrided(code, plan.shape.length, backend.plan(plan.shape, ...plan.strides), pa, pb, ptr);
  }
  return tensor;
}

export function binaryScalar(backend: WasmBackend, op: BinaryOp, x: Tensor, s: number, scalarFirst: boolean): Tensor {
  const { shape, dtype } = checkBinaryScalar(op, x, s);
  const { tensor, ptr } = backend.alloc(shape, dtype);
  // The scalar takes the tensor's precision (float32), as on the other backends.
  backend.kernels.binaryScalar(BINARY_CODES[op], backend.ptr(x), Math.fround(s), scalarFirst, ptr, x.size);
  return tensor;
}

export function where(backend: WasmBackend, cond: Tensor, a: Tensor, b: Tensor): Tensor {
  const { shape, dtype } = checkWhere(cond, a, b);
  const { tensor, ptr } = backend.alloc(shape, dtype);
  if (tensor.size === 0) return tensor;
  let plan = collapseBroadcast(shape, [cond.shape, a.shape, b.shape]);
  if (plan.shape.length === 0) plan = { shape: [1], strides: [[0], [0], [0]] };
  backend.kernels.whereStrided(
    plan.shape.length,
    backend.plan(plan.shape, ...plan.strides),
    backend.ptr(cond),
    cond.dtype === 'int32',
    backend.ptr(a),
    backend.ptr(b),
    ptr,
  );
  return tensor;
}
