// The WASM backend's memory past 2 GiB of linear memory (src/engine/backend/wasm/wasm-heap.ts).
// Large fits (the ViT at R = 256 tokens in the Laplace fit-scaling benchmark) leave the arena's top
// near 2 GiB; every later block of a new size class then sits above 2^31 bytes. A byte address that
// high is negative as an int32, so the JavaScript side must index its views with `>>> 2`: with
// `>> 2`, subarray() counted the negative index from the end of the memory, so tensor uploads and
// reads hit other blocks while the kernels used the true address — later training silently
// diverged from a fresh process's. Here the growth is forced cheaply: one 2 GiB block, never
// written (the pages stay virtual), freed into the pool, so that everything after it lives above
// 2 GiB. Freed blocks are first filled with NaN so that a kernel reading memory it did not write
// would show. Everything is checked against the reference CPU backend, and a short lab run
// (mlp-spirals, the preset's optimizers, K-FAC included) must match a fresh backend bit for bit.
import { afterAll, describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/engine/backend/cpu/cpu-backend.ts';
import { WasmBackend } from '../../src/engine/backend/wasm/wasm-backend.ts';
import { sizeOf, type Shape, type Tensor } from '../../src/engine/tensor.ts';
import { Rng } from '../../src/engine/random.ts';
import { parseLabArgs, type LabRunArgs } from '../../src/cli/lab-args.ts';
import { runLab } from '../../src/cli/lab-report.ts';
import type { ExperimentResult } from '../../src/engine/lab/results.ts';
import { AWKWARD_SIZES } from '../helpers/backends.ts';
import { expectClose } from '../helpers/compare.ts';

const TWO_GIB = 2 ** 31;
// float32 sums of up to 130 terms in another order than the reference's (the bug's errors are O(1)).
const F32 = { rtol: 1e-5, atol: 3e-5 };

const cpu = new CpuBackend();
afterAll(() => cpu.destroy());

/** Blocks of assorted sizes filled with NaN, then freed: later tensors of those classes reuse dirty memory. */
function poisonPool(backend: WasmBackend): void {
  for (const n of [...AWKWARD_SIZES, 64, 256, 1000, 4096, 17 * 65, 130 * 130, 100_000]) backend.fill([n], Number.NaN).dispose();
}

/** Push the arena's top past 2 GiB with one untouched block, freed at once (it stays pooled). */
function growPastTwoGiB(backend: WasmBackend): void {
  backend.alloc([TWO_GIB / 4], 'float32').tensor.dispose();
  expect(backend.heap.reservedBytes, 'the arena reaches past 2 GiB').toBeGreaterThan(TWO_GIB);
}

/**
 * Make the next block of `shape`'s class a NaN-filled one above 2 GiB: take blocks of the class until
 * one lies that high, then free them all, that one last (the pool hands out the last freed first).
 */
function dirtyHighBlock(backend: WasmBackend, shape: Shape): void {
  const held: Tensor[] = [];
  do held.push(backend.fill(shape, Number.NaN));
  while (backend.ptr(held[held.length - 1]) < TWO_GIB);
  for (const t of held) t.dispose();
}

describe('wasm memory above 2 GiB', () => {
  const wasm = new WasmBackend();
  afterAll(() => wasm.destroy());
  const rng = new Rng(5);
  const pair = (shape: Shape, lo = -2, hi = 2): [Tensor, Tensor] => {
    const values = Float32Array.from(rng.uniformArray(sizeOf(shape), lo, hi));
    return [wasm.tensor(values, shape), cpu.tensor(values, shape)];
  };
  const same = (w: Tensor, c: Tensor, label: string, exact = false) => {
    expect(w.shape, `${label}: shape`).toEqual(c.shape);
    const got = Array.from(wasm.readSync(w));
    const want = Array.from(cpu.readSync(c));
    expectClose(got, want, exact ? { rtol: 0, atol: 0 } : F32, label);
  };

  it('keeps earlier tensors, and uploads, kernels and reads agree with the reference after the growth, with frees and reuse', () => {
    // Before the growth: a tensor low in memory and a dirty pool.
    const [aW, aC] = pair([17, 65]);
    const aValues = Array.from(cpu.readSync(aC));
    poisonPool(wasm);
    growPastTwoGiB(wasm);

    // After it: new size classes are allocated above 2 GiB.
    const [bW, bC] = pair([65, 130]);
    expect(wasm.ptr(bW), 'a new block lies above 2 GiB').toBeGreaterThanOrEqual(TWO_GIB);
    same(aW, aC, 'the tensor made before the growth', true);
    // An upload above 2 GiB must be what the kernels see: b · 1 through the SIMD kernel.
    same(wasm.binaryScalar('mul', bW, 1), cpu.binaryScalar('mul', bC, 1), 'b uploaded above 2 GiB, read by a kernel', true);
    same(wasm.matmul(aW, bW), cpu.matmul(aC, bC), 'matmul of a low and a high tensor');
    same(
      wasm.binary('add', aW, wasm.slice(wasm.permute(bW, [1, 0]), [0, 0], [17, 65])),
      cpu.binary('add', aC, cpu.slice(cpu.permute(bC, [1, 0]), [0, 0], [17, 65])),
      'add after permute + slice (strided plans)',
    );
    same(wasm.reduce('sum', bW, 0), cpu.reduce('sum', bC, 0), 'sum over rows (scratch above 2 GiB)');
    same(wasm.logSoftmax(bW), cpu.logSoftmax(bC), 'log-softmax');
    same(wasm.unary('exp', bW), cpu.unary('exp', bC), 'exp');
    // The JavaScript-side writes (a same-dtype cast copies, k = 0 and m = 0 fill zeros), each into a
    // dirty block above 2 GiB so that a write that lands elsewhere shows.
    const highOut = (make: () => Tensor): Tensor => {
      const out = make();
      expect(wasm.ptr(out), 'the output lies above 2 GiB').toBeGreaterThanOrEqual(TWO_GIB);
      return out;
    };
    dirtyHighBlock(wasm, bW.shape);
    same(
      highOut(() => wasm.cast(bW, 'float32')),
      cpu.cast(bC, 'float32'),
      'same-dtype cast (a copy by the views)',
      true,
    );
    const [k0a, k0b, noRows] = [wasm.zeros([3, 0]), wasm.zeros([0, 5]), wasm.zeros([0, 7])];
    dirtyHighBlock(wasm, [3, 5]);
    same(
      highOut(() => wasm.matmul(k0a, k0b)),
      cpu.zeros([3, 5]),
      'matmul with k = 0 (zeros by the views)',
      true,
    );
    dirtyHighBlock(wasm, [7, 7]);
    same(
      highOut(() => wasm.factor(noRows)),
      cpu.zeros([7, 7]),
      'factor of zero rows (zeros by the views)',
      true,
    );
    same(wasm.factor(bW, { alpha: 0.5 }), cpu.factor(bC, { alpha: 0.5 }), 'K-FAC factor ½ bᵀb');
    // Indices uploaded above 2 GiB are range-checked through a view, then gathered by the kernel.
    const idx = [64, 0, 3, 64, 17];
    same(wasm.gather(bW, wasm.tensor(idx, [5], 'int32')), cpu.gather(bC, cpu.tensor(idx, [5], 'int32')), 'gather of rows', true);
    expect(() => wasm.gather(bW, wasm.tensor([65], [1], 'int32')), 'an out-of-range index read above 2 GiB').toThrow(/out of range/);
    same(wasm.cast(wasm.tensor([3, -2, 7], [3], 'int32'), 'float32'), cpu.tensor([3, -2, 7], [3]), 'int32 → float32 cast', true);

    // Free and reuse above 2 GiB: a freed block of b's class comes back to the next tensor of that class.
    const bPtr = wasm.ptr(bW);
    bW.dispose();
    const [cW, cC] = pair([65, 130]);
    expect(wasm.ptr(cW), 'the freed block is reused').toBe(bPtr);
    same(wasm.matmul(aW, cW), cpu.matmul(aC, cC), 'matmul with a reused block');
    const spd = cpu.binary('add', cpu.matmul(cC, cC, { transB: true }), cpu.binaryScalar('mul', cpu.fill([65], 1), 10));
    const spdW = wasm.tensor(cpu.readSync(spd), spd.shape);
    const cholW = wasm.cholesky(spdW);
    const cholC = cpu.cholesky(spd);
    same(cholW.status, cholC.status, 'Cholesky status', true);
    expectClose(
      Array.from(wasm.readSync(cholW.factor)),
      Array.from(cpu.readSync(cholC.factor)),
      { rtol: 1e-4, atol: 1e-4 },
      'Cholesky factor',
    );
    expectClose(Array.from(wasm.readSync(aW)), aValues, { rtol: 0, atol: 0 }, 'the first tensor, untouched at the end');
  });
});

/** Everything of a run that must repeat bit for bit (not the timings). */
function numbers(result: ExperimentResult) {
  return result.runs.map((r) => ({
    label: r.label,
    error: r.error ?? null,
    trainLoss: r.history.trainLoss,
    valMetric: r.history.valMetric,
  }));
}

describe('training on wasm after memory growth', () => {
  const lab = (...extra: string[]) =>
    (parseLabArgs(['--task', 'mlp-spirals', '--steps', '6', '--eval-interval', '3', '--backend', 'wasm', ...extra]) as LabRunArgs).config;
  // Config B's batches are a size no earlier run allocated, so after the burst they take new blocks.
  const configA = lab();
  const configB = lab('--batch-size', '48');

  it('mlp-spirals gives the same numbers, bit for bit, before and after a 2 GiB burst as on a fresh backend', async () => {
    const fresh = new WasmBackend();
    const refA = numbers(await runLab(fresh, configA));
    fresh.destroy();
    const freshB = new WasmBackend();
    const refB = numbers(await runLab(freshB, configB));
    freshB.destroy();
    for (const r of [...refA, ...refB]) expect(r.error === null && r.trainLoss.every(Number.isFinite), r.label).toBe(true);

    // Trained before the burst (the task data and the pool stay low), then new shapes above 2 GiB.
    const used = new WasmBackend();
    try {
      expect(numbers(await runLab(used, configA)), 'before the burst').toEqual(refA);
      poisonPool(used);
      growPastTwoGiB(used);
      const top = used.heap.reservedBytes;
      expect(numbers(await runLab(used, configB)), 'after the burst, new batch shapes').toEqual(refB);
      expect(used.heap.reservedBytes, 'the run took new blocks above 2 GiB').toBeGreaterThan(top);
      expect(numbers(await runLab(used, configA)), 'after the burst, the first shapes again').toEqual(refA);
    } finally {
      used.destroy();
    }

    // The burst first (as after the Laplace fit-scaling benchmark): task data, model and batches all above 2 GiB.
    const late = new WasmBackend();
    try {
      growPastTwoGiB(late);
      expect(numbers(await runLab(late, configA)), 'everything above 2 GiB').toEqual(refA);
    } finally {
      late.destroy();
    }
  }, 60_000);
});
