// STUB: matmul kernels (webgpu).
import type { MatmulOptions } from '../backend.ts';
import type { Tensor } from '../../tensor.ts';
import type { WebGPUBackend } from './webgpu-backend.ts';

export function matmul(backend: WebGPUBackend, a: Tensor, b: Tensor, options: MatmulOptions): Tensor {
  throw new Error('webgpu matmul: not implemented yet');
}
