// K-FAC factor dispatch on the WASM backend (docs/kfac.md §2): α Xᵀ diag(w) X + β C runs as a
// transposed-A matmul on the SIMD kernel (assembly/matmul.ts), then one pass that scales, adds the
// accumulator and mirrors the upper triangle (assembly/factor.ts), so the result is exactly symmetric.
import type { FactorOptions } from '../backend.ts';
import type { Tensor } from '../../tensor.ts';
import { factorPlan, sharedReduceShape } from '../../shape-rules/factor.ts';
import { REDUCE_CODES } from '../op-codes.ts';
import type { WasmBackend } from './wasm-backend.ts';

export function factor(backend: WasmBackend, x: Tensor, options: FactorOptions): Tensor {
  const p = factorPlan(x, options);
  const { batch, rows: m, dim: d } = p;
  const { tensor, ptr } = backend.alloc(p.outShape, 'float32');
  if (tensor.size === 0) return tensor;
  const k = backend.kernels;
  // diag(w) X as a temporary, so that the product is (diag(w) X)ᵀ X.
  const weighted = p.rowWeights ? backend.alloc(x.shape, 'float32').tensor : null;
  try {
    const xs = backend.ptr(x);
    let left = xs;
    if (weighted && p.rowWeights) {
      left = backend.ptr(weighted);
      const w = backend.ptr(p.rowWeights);
      for (let b = 0; b < batch; b++) {
        k.scaleRows(xs + b * m * d * 4, w + (p.sharedWeights ? 0 : b * m * 4), left + b * m * d * 4, m, d);
      }
    }
    const scratch = backend.scratch(k.matmulScratchBytes());
    const c0 = p.accumulator ? backend.ptr(p.accumulator) : 0;
    if (m === 0) backend.heap.f32At(ptr, tensor.size).fill(0);
    for (let b = 0; b < batch; b++) {
      const g = ptr + b * d * d * 4;
      // A(i, r) = left[r, i] (transposed), B(r, j) = x[r, j].
      if (m > 0) k.matmul(left + b * m * d * 4, 1, d, xs + b * m * d * 4, d, 1, g, d, d, m, scratch);
      k.symmetrize(g, c0 === 0 ? 0 : c0 + b * d * d * 4, d, p.alpha, p.beta);
    }
  } finally {
    weighted?.dispose();
  }
  return tensor;
}

export function sharedReduce(backend: WasmBackend, x: Tensor, op: 'mean' | 'sum'): Tensor {
  const shape = sharedReduceShape(x, op);
  const [n, r, d] = x.shape;
  const { tensor, ptr } = backend.alloc(shape, 'float32');
  const scratch = backend.scratch(d * 8);
  backend.kernels.reduce(REDUCE_CODES[op], backend.ptr(x), ptr, n, r, d, scratch);
  return tensor;
}
