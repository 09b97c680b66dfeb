// Matmul on the CPU: the oracle for the WebGPU kernels. Accumulates in float64 and rounds once
// into the output (float32, or float64 when an input is float64).
import type { MatmulOptions } from '../backend.ts';
import type { Tensor } from '../../tensor.ts';
import { resultFloatType } from '../../shape-rules/shape.ts';
import { batchOffsets, collapseBatch, operandStrides, planMatmul } from '../../shape-rules/matmul.ts';
import type { CpuBackend } from './cpu-backend.ts';

export function matmul(backend: CpuBackend, a: Tensor, b: Tensor, options: MatmulOptions): Tensor {
  const plan = planMatmul(a, b, options);
  const { m, n, k } = plan;
  const { tensor, data: out } = backend.alloc(plan.outShape, resultFloatType(a, b));
  const aData = backend.dataOf(a);
  const bData = backend.dataOf(b);
  const { aRow, aCol, bRow, bCol } = operandStrides(plan);
  const batch = collapseBatch(plan);
  // One output row at a time, i-p-j order, so the inner loop walks B's row (contiguous unless transB).
  const row = new Float64Array(n);
  for (let bi = 0; bi < plan.batchCount; bi++) {
    const { aOffset, bOffset } = batchOffsets(batch, bi);
    for (let i = 0; i < m; i++) {
      row.fill(0);
      for (let p = 0; p < k; p++) {
        const aValue = aData[aOffset + i * aRow + p * aCol];
        const bStart = bOffset + p * bRow;
        for (let j = 0; j < n; j++) row[j] += aValue * bData[bStart + j * bCol];
      }
      out.set(row, (bi * m + i) * n);
    }
  }
  return tensor;
}
