// STUB: matmul kernels (cpu).
import type { MatmulOptions } from '../backend.ts';
import type { Tensor } from '../../tensor.ts';
import type { CpuBackend } from './cpu-backend.ts';

export function matmul(backend: CpuBackend, a: Tensor, b: Tensor, options: MatmulOptions): Tensor {
  throw new Error('cpu matmul: not implemented yet');
}
