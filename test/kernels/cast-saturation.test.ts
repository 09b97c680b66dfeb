// float → int32 casts saturate on every backend: out-of-range values clamp to the int32 limits and
// NaN becomes 0 (WGSL i32(f32) and WebAssembly's i32.trunc_sat_f32_s both saturate; the reference CPU
// backend does the same, see CpuBackend.cast). In-range values truncate toward zero.
import { describe, expect, it } from 'vitest';
import { useBackends } from '../helpers/backends.ts';
import type { Backend } from '../../src/engine/backend/backend.ts';

const b = useBackends();
const MAX = 2147483647;
const MIN = -2147483648;

const CASES: [number, number][] = [
  [1e10, MAX],
  [-1e10, MIN],
  [Infinity, MAX],
  [-Infinity, MIN],
  [Number.NaN, 0],
  [2147483648, MAX],
  [-2147483648, MIN],
  [2.5, 2],
  [-2.5, -2],
  [-0.5, 0],
];

async function castAll(backend: Backend, dtype: 'float32' | 'float64'): Promise<number[]> {
  const x = backend.tensor(
    CASES.map(([v]) => v),
    [CASES.length],
    dtype,
  );
  const y = backend.cast(x, 'int32');
  try {
    expect(y.dtype).toBe('int32');
    return Array.from(await backend.read(y));
  } finally {
    backend.release(x);
    backend.release(y);
  }
}

describe('cast float → int32 saturates (NaN → 0)', () => {
  const expected = CASES.map(([, v]) => v);
  it('reference CPU, float64 and float32', async () => {
    expect(await castAll(b.cpu, 'float64')).toEqual(expected);
    expect(await castAll(b.cpu, 'float32')).toEqual(expected);
  });
  it('WASM', async () => {
    expect(await castAll(b.wasm, 'float32')).toEqual(expected);
  });
  it('WebGPU', async () => {
    expect(await castAll(b.gpu, 'float32')).toEqual(expected);
  });
  it('CPU float64 values just inside the int32 range truncate, not saturate', async () => {
    const x = b.cpu.tensor([2147483646.9, -2147483647.9], [2], 'float64');
    const y = b.cpu.cast(x, 'int32');
    expect(Array.from(await b.cpu.read(y))).toEqual([2147483646, -2147483647]);
    b.cpu.release(x);
    b.cpu.release(y);
  });
});
