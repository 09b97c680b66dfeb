// Matmul dispatch on the WASM backend (kernel: assembly/matmul.ts, packed panels and a 4×8 SIMD
// micro-kernel). Transposes become operand strides; batch dims broadcast by offsets, one kernel
// call per output matrix.
import type { MatmulOptions } from '../backend.ts';
import type { Tensor } from '../../tensor.ts';
import { batchOffsets, collapseBatch, operandStrides, planMatmul } from '../../shape-rules/matmul.ts';
import type { WasmBackend } from './wasm-backend.ts';

export function matmul(backend: WasmBackend, a: Tensor, b: Tensor, options: MatmulOptions): Tensor {
  const plan = planMatmul(a, b, options);
  const { tensor, ptr } = backend.alloc(plan.outShape, 'float32');
  matmulInto(backend, backend.ptr(a), backend.ptr(b), ptr, plan);
  return tensor;
}

/** C = A·B for every batch entry into the row-major output at `out` (byte addresses). */
export function matmulInto(backend: WasmBackend, a: number, b: number, out: number, plan: ReturnType<typeof planMatmul>): void {
  const { m, n, k } = plan;
  const outSize = plan.batchCount * m * n;
  if (outSize === 0) return;
  if (k === 0) {
    backend.heap.f32At(out, outSize).fill(0);
    return;
  }
  const { aRow, aCol, bRow, bCol } = operandStrides(plan);
  const batch = collapseBatch(plan);
  const scratch = backend.scratch(backend.kernels.matmulScratchBytes());
  for (let bi = 0; bi < plan.batchCount; bi++) {
    const { aOffset, bOffset } = batchOffsets(batch, bi);
    backend.kernels.matmul(a + aOffset * 4, aRow, aCol, b + bOffset * 4, bRow, bCol, out + bi * m * n * 4, m, n, k, scratch);
  }
}
