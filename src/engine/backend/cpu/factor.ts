// K-FAC factor kernels on the CPU (docs/kfac.md §2): the oracle for shaders/factor.wgsl.
// Sums run in float64; only the upper triangle is computed and then mirrored, like the GPU.
import type { FactorOptions } from '../backend.ts';
import type { Tensor } from '../../tensor.ts';
import { resultFloatType } from '../../shape-rules/shape.ts';
import { factorPlan, sharedReduceShape } from '../../shape-rules/factor.ts';
import type { CpuBackend } from './cpu-backend.ts';

export function factor(backend: CpuBackend, x: Tensor, options: FactorOptions): Tensor {
  const p = factorPlan(x, options);
  const { batch, rows: m, dim: d } = p;
  const xs = backend.dataOf(x);
  const w = p.rowWeights ? backend.dataOf(p.rowWeights) : null;
  const c0 = p.accumulator ? backend.dataOf(p.accumulator) : null;
  const inputs = [x, ...(p.rowWeights ? [p.rowWeights] : []), ...(p.accumulator ? [p.accumulator] : [])];
  const { tensor, data } = backend.alloc(p.outShape, resultFloatType(...inputs));
  for (let b = 0; b < batch; b++) {
    const xb = b * m * d;
    const wb = p.sharedWeights ? 0 : b * m;
    const cb = b * d * d;
    // Row-outer order keeps memory access contiguous; each entry still sums its rows in order.
    const acc = new Float64Array(d * d);
    for (let r = 0; r < m; r++) {
      const row = xb + r * d;
      const wr = w ? w[wb + r] : 1;
      for (let i = 0; i < d; i++) {
        const a = wr * xs[row + i];
        for (let j = i; j < d; j++) acc[i * d + j] += a * xs[row + j];
      }
    }
    for (let i = 0; i < d; i++) {
      for (let j = i; j < d; j++) {
        let v = p.alpha * acc[i * d + j];
        if (c0) v += p.beta * c0[cb + i * d + j];
        data[cb + i * d + j] = v;
        data[cb + j * d + i] = v;
      }
    }
  }
  return tensor;
}

export function sharedReduce(backend: CpuBackend, x: Tensor, op: 'mean' | 'sum'): Tensor {
  const shape = sharedReduceShape(x, op);
  const [n, r, d] = x.shape;
  const xs = backend.dataOf(x);
  const { tensor, data } = backend.alloc(shape, resultFloatType(x));
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      let s = 0;
      for (let k = 0; k < r; k++) s += xs[(i * r + k) * d + j];
      data[i * d + j] = op === 'mean' ? s / r : s;
    }
  }
  return tensor;
}
