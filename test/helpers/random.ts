// Seeded uniform test tensors on the CPU backend (float64 by default, for finite differences).
import type { CpuBackend } from '../../src/engine/backend/cpu/cpu-backend.ts';
import type { Rng } from '../../src/engine/random.ts';
import { sizeOf, type Tensor } from '../../src/engine/tensor.ts';

export function uniformTensor(
  backend: CpuBackend,
  rng: Rng,
  shape: number[],
  { lo = -1, hi = 1, dtype = 'float64' }: { lo?: number; hi?: number; dtype?: 'float32' | 'float64' } = {},
): Tensor {
  return backend.tensor(rng.uniformArray(sizeOf(shape), lo, hi), shape, dtype);
}
