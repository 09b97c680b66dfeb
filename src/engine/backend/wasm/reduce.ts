// Reductions, argmax and softmax on the WASM backend (kernels: assembly/reduce.ts).
import type { ReduceOp } from '../backend.ts';
import type { Tensor } from '../../tensor.ts';
import { planArgmax, planReduce, planSoftmax } from '../../shape-rules/reduce.ts';
import { REDUCE_CODES } from '../op-codes.ts';
import type { WasmBackend } from './wasm-backend.ts';

export function reduce(backend: WasmBackend, op: ReduceOp, x: Tensor, axis: number | null, keepDims: boolean): Tensor {
  const { outShape, outer, axisLen, inner, dtype } = planReduce(op, x, axis, keepDims);
  const { tensor, ptr } = backend.alloc(outShape, dtype);
  const scratch = backend.scratch(inner * 8);
  backend.kernels.reduce(REDUCE_CODES[op], backend.ptr(x), ptr, outer, axisLen, inner, scratch);
  return tensor;
}

export function argmax(backend: WasmBackend, x: Tensor, axis: number): Tensor {
  const { outShape, outer, axisLen, inner } = planArgmax(x, axis);
  const { tensor, ptr } = backend.alloc(outShape, 'int32');
  backend.kernels.argmax(backend.ptr(x), ptr, outer, axisLen, inner);
  return tensor;
}

export function softmax(backend: WasmBackend, x: Tensor, log: boolean): Tensor {
  const { rows, rowLen, dtype } = planSoftmax(x, log);
  const { tensor, ptr } = backend.alloc(x.shape, dtype);
  backend.kernels.softmax(backend.ptr(x), ptr, rows, rowLen, log);
  return tensor;
}
