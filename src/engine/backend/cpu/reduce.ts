// Reductions and softmax on the CPU: the oracle for shaders/reduce.wgsl, argmax.wgsl, softmax.wgsl.
// Sums accumulate in JS numbers (float64), so they are exact enough to judge the GPU's float32 trees.
// Empty axes give the identity: sum 0, mean NaN (0/0), max −∞.
import type { ReduceOp } from '../backend.ts';
import type { Tensor } from '../../tensor.ts';
import { planArgmax, planReduce, planSoftmax } from '../../shape-rules/reduce.ts';
import type { CpuBackend } from './cpu-backend.ts';

export function reduce(backend: CpuBackend, op: ReduceOp, x: Tensor, axis: number | null, keepDims: boolean): Tensor {
  const { outShape, outer, axisLen, inner, dtype } = planReduce(op, x, axis, keepDims);
  const { tensor, data } = backend.alloc(outShape, dtype);
  const src = backend.dataOf(x);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      let p = o * axisLen * inner + i;
      let acc = op === 'max' ? -Infinity : 0;
      for (let k = 0; k < axisLen; k++, p += inner) {
        const v = src[p];
        if (op === 'max') acc = v > acc || Number.isNaN(v) ? v : acc;
        else acc += v;
      }
      data[o * inner + i] = op === 'mean' ? acc / axisLen : acc;
    }
  }
  return tensor;
}

export function argmax(backend: CpuBackend, x: Tensor, axis: number): Tensor {
  const { outShape, outer, axisLen, inner } = planArgmax(x, axis);
  const { tensor, data } = backend.alloc(outShape, 'int32');
  const src = backend.dataOf(x);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * axisLen * inner + i;
      let best = src[base];
      let at = 0;
      // Strictly greater: the first index wins ties.
      for (let k = 1; k < axisLen; k++) {
        const v = src[base + k * inner];
        if (v > best) {
          best = v;
          at = k;
        }
      }
      data[o * inner + i] = at;
    }
  }
  return tensor;
}

/** softmax(x) = exp(x − max) / Σ exp(x − max); logSoftmax(x) = x − max − log Σ exp(x − max). */
export function softmax(backend: CpuBackend, x: Tensor, log: boolean): Tensor {
  const { rows, rowLen, dtype } = planSoftmax(x, log);
  const { tensor, data } = backend.alloc(x.shape, dtype);
  const src = backend.dataOf(x);
  for (let r = 0; r < rows; r++) {
    const base = r * rowLen;
    let max = -Infinity;
    for (let k = 0; k < rowLen; k++) max = Math.max(max, src[base + k]);
    let sum = 0;
    for (let k = 0; k < rowLen; k++) sum += Math.exp(src[base + k] - max);
    if (log) {
      const logSum = Math.log(sum);
      for (let k = 0; k < rowLen; k++) data[base + k] = src[base + k] - max - logSum;
    } else {
      for (let k = 0; k < rowLen; k++) data[base + k] = Math.exp(src[base + k] - max) / sum;
    }
  }
  return tensor;
}
