// K-FAC factor family (docs/kfac.md §2): factor = α Xᵀ diag(w) X + β C₀ and sharedReduce, WebGPU
// against the float64 CPU twin, the twin against a naive formula, exact symmetry, positive
// semidefiniteness, and the expand/reduce identity for identical shared positions.
import { describe, expect, it } from 'vitest';
import type { FactorOptions } from '../../src/engine/backend/backend.ts';
import { Rng } from '../../src/engine/random.ts';
import { sizeOf, type Shape, type Tensor } from '../../src/engine/tensor.ts';
import { ShapeError } from '../../src/engine/shape-rules/shape.ts';
import { factorLayout, MAX_SLICE_ROWS } from '../../src/engine/backend/webgpu/factor.ts';
import { AWKWARD_SIZES, useBackends } from '../helpers/backends.ts';
import { expectClose, relativeError } from '../helpers/compare.ts';

const b = useBackends();

/** Float32-representable data, as float64 on the CPU (the oracle) and float32 on the GPU. */
function pair(values: ArrayLike<number>, shape: Shape): { cpu: Tensor; gpu: Tensor } {
  const rounded = Float32Array.from(values);
  return { cpu: b.cpu.tensor(rounded, shape, 'float64'), gpu: b.gpu.tensor(rounded, shape) };
}

interface Case {
  x: number[];
  weights?: number[];
  accumulator?: number[];
  alpha?: number;
  beta?: number;
}

/** Runs factor on both backends and returns the GPU values, the oracle's and their relative error. */
async function compareFactor(rng: Rng, xShape: number[], c: Omit<Case, 'x'> & { weightShape?: number[] } = {}) {
  const x = pair(rng.normalArray(sizeOf(xShape)), xShape);
  const d = xShape[xShape.length - 1];
  const outShape = xShape.length === 3 ? [xShape[0], d, d] : [d, d];
  const options = (side: 'cpu' | 'gpu'): FactorOptions => {
    const o: FactorOptions = { alpha: c.alpha, beta: c.beta };
    if (c.weightShape) o.rowWeights = weights[side];
    if (c.accumulator) o.accumulator = accumulator[side];
    return o;
  };
  const weights = pair(c.weightShape ? Array.from({ length: sizeOf(c.weightShape) }, () => rng.uniform(0, 2)) : [], c.weightShape ?? [0]);
  const accumulator = pair(c.accumulator ?? [], c.accumulator ? outShape : [0]);
  const cpu = b.cpu.factor(x.cpu, options('cpu'));
  const gpu = b.gpu.factor(x.gpu, options('gpu'));
  expect(gpu.shape).toEqual(outShape);
  expect(cpu.shape).toEqual(outShape);
  expect(cpu.dtype).toBe('float64');
  const gv = await gpu.read();
  const cv = await cpu.read();
  return { gv, cv, err: relativeError(gv, cv), outShape };
}

/** A symmetric random [.., d, d] accumulator. */
function symmetric(rng: Rng, batch: number, d: number): number[] {
  const out = new Array<number>(batch * d * d);
  for (let k = 0; k < batch; k++) {
    for (let i = 0; i < d; i++) {
      for (let j = i; j < d; j++) out[k * d * d + i * d + j] = out[k * d * d + j * d + i] = rng.normal();
    }
  }
  return out;
}

describe('factor', () => {
  it('GPU matches the float64 CPU twin for awkward d and M', async () => {
    const rng = new Rng(1);
    const errors: string[] = [];
    for (const d of AWKWARD_SIZES) {
      for (const m of [1, 7, 300]) {
        const { err } = await compareFactor(rng, [m, d], { alpha: 1 / m });
        errors.push(`d=${d} M=${m}: ${err.toExponential(1)}`);
        expect(err, `d=${d} M=${m}`).toBeLessThan(2e-6);
      }
    }
    console.log(`[factor] relative error vs float64: ${errors.join(', ')}`);
  });

  it('long sums (M = 4096) stay accurate: sliced float32 partial sums', async () => {
    const rng = new Rng(2);
    for (const d of [3, 65, 130]) {
      const { err } = await compareFactor(rng, [4096, d], { alpha: 1 / 4096 });
      console.log(`[factor] M=4096 d=${d}: relative error ${err.toExponential(2)} (${factorLayout(1, 4096, d).slices} slices)`);
      expect(err).toBeLessThan(2e-6);
    }
    expect(factorLayout(1, 4096, 512).sliceRows).toBeLessThanOrEqual(MAX_SLICE_ROWS);
  });

  it('batched, with row weights ([M] and [B, M]), alpha, beta and an accumulator', async () => {
    const rng = new Rng(3);
    for (const [bsz, m, d] of [
      [3, 65, 17],
      [2, 130, 63],
      [5, 1, 1],
      [4, 17, 64],
      [2, 40, 12],
    ]) {
      const cases: (Omit<Case, 'x'> & { weightShape?: number[]; label: string })[] = [
        { label: 'plain' },
        { label: 'shared weights', weightShape: [m], alpha: 0.5 },
        { label: 'own weights', weightShape: [bsz, m], alpha: 1 / m },
        { label: 'accumulate', accumulator: symmetric(rng, bsz, d), alpha: 0.05, beta: 0.95 },
        { label: 'everything', weightShape: [bsz, m], accumulator: symmetric(rng, bsz, d), alpha: -2, beta: 0.5 },
      ];
      for (const c of cases) {
        const { err } = await compareFactor(rng, [bsz, m, d], c);
        expect(err, `B=${bsz} M=${m} d=${d} ${c.label}`).toBeLessThan(2e-6);
      }
    }
    // Unbatched with weights and an accumulator too (d = 65: scalar loads; d = 4, 20: vec4 loads).
    for (const d of [65, 4, 20]) {
      const { err } = await compareFactor(rng, [130, d], { weightShape: [130], accumulator: symmetric(rng, 1, d), alpha: 0.1, beta: 0.9 });
      expect(err, `d=${d}`).toBeLessThan(2e-6);
    }
  });

  it('exactly symmetric on the GPU (bitwise), even for an asymmetric accumulator', async () => {
    const rng = new Rng(4);
    for (const [bsz, m, d] of [
      [1, 300, 65],
      [3, 33, 130],
      [2, 9, 12],
    ]) {
      const x = b.gpu.tensor(rng.normalArray(bsz * m * d), [bsz, m, d]);
      const w = b.gpu.tensor(rng.uniformArray(bsz * m, 0, 1), [bsz, m]);
      const c0 = b.gpu.tensor(rng.normalArray(bsz * d * d), [bsz, d, d]); // not symmetric
      for (const options of [{}, { rowWeights: w, accumulator: c0, alpha: 0.3, beta: 0.7 }]) {
        const v = await b.gpu.factor(x, options).read();
        let asymmetric = 0;
        for (let k = 0; k < bsz; k++) {
          for (let i = 0; i < d; i++) for (let j = 0; j < i; j++) if (v[k * d * d + i * d + j] !== v[k * d * d + j * d + i]) asymmetric++;
        }
        expect(asymmetric, `B=${bsz} M=${m} d=${d}`).toBe(0);
      }
    }
  });

  it('the accumulator is read from its upper triangle on both backends', async () => {
    for (const be of [b.cpu, b.gpu]) {
      const x = be.tensor([1, 2], [1, 2]);
      const c0 = be.tensor([10, 20, 99, 40], [2, 2]);
      const v = await be.factor(x, { accumulator: c0, beta: 1 }).read();
      expect(Array.from(v)).toEqual([11, 22, 22, 44]);
    }
  });

  it('XᵀX is positive semidefinite: vᵀCv ≥ −tiny for random v', async () => {
    const rng = new Rng(5);
    // Rank-deficient (M < d) makes the test sharp: many eigenvalues are exactly zero.
    for (const [m, d] of [
      [17, 65],
      [300, 63],
    ]) {
      const c = await b.gpu.factor(b.gpu.tensor(rng.normalArray(m * d), [m, d]), { alpha: 1 / m }).read();
      let scale = 0;
      for (let i = 0; i < d; i++) scale = Math.max(scale, c[i * d + i]);
      for (let trial = 0; trial < 50; trial++) {
        const v = rng.normalArray(d);
        let q = 0;
        let norm = 0;
        for (let i = 0; i < d; i++) {
          norm += v[i] * v[i];
          for (let j = 0; j < d; j++) q += v[i] * c[i * d + j] * v[j];
        }
        expect(q, `M=${m} d=${d}`).toBeGreaterThan(-1e-5 * scale * norm);
      }
    }
  });

  it('the CPU twin matches the naive formula α Σ_m w_m x_mi x_mj + β C_ij in float64', async () => {
    const rng = new Rng(6);
    const [bsz, m, d] = [2, 13, 7];
    const xs = rng.normalArray(bsz * m * d);
    const ws = rng.uniformArray(bsz * m, 0, 1);
    const cs = symmetric(rng, bsz, d);
    const [alpha, beta] = [0.7, -0.3];
    const got = await b.cpu
      .factor(b.cpu.tensor(xs, [bsz, m, d], 'float64'), {
        alpha,
        beta,
        rowWeights: b.cpu.tensor(ws, [bsz, m], 'float64'),
        accumulator: b.cpu.tensor(cs, [bsz, d, d], 'float64'),
      })
      .read();
    const naive: number[] = [];
    for (let k = 0; k < bsz; k++) {
      for (let i = 0; i < d; i++) {
        for (let j = 0; j < d; j++) {
          let s = 0;
          for (let r = 0; r < m; r++) s += ws[k * m + r] * xs[(k * m + r) * d + i] * xs[(k * m + r) * d + j];
          naive.push(alpha * s + beta * cs[k * d * d + i * d + j]);
        }
      }
    }
    expectClose(got, naive, { rtol: 1e-12, atol: 1e-12 }, 'cpu factor');
    // float32 in, float32 out on the CPU too.
    expect(b.cpu.factor(b.cpu.tensor([1, 2], [1, 2])).dtype).toBe('float32');
  });

  it('empty M gives β·C₀ (or zeros); d = 1 is a sum of squares', async () => {
    for (const be of [b.cpu, b.gpu]) {
      expect(Array.from(await be.factor(be.zeros([0, 3])).read())).toEqual(new Array(9).fill(0));
      const c0 = be.tensor([1, 2, 2, 4], [2, 2]);
      expect(Array.from(await be.factor(be.zeros([0, 2]), { accumulator: c0, beta: 0.5 }).read())).toEqual([0.5, 1, 1, 2]);
      expect(Array.from(await be.factor(be.tensor([1, 2, 3], [3, 1]), { alpha: 2 }).read())).toEqual([28]);
      expect(be.factor(be.zeros([2, 3, 0])).shape).toEqual([2, 0, 0]);
    }
  });

  it('rejects bad shapes and options', () => {
    for (const be of [b.cpu, b.gpu]) {
      const x = be.zeros([4, 3]);
      expect(() => be.factor(be.zeros([4]))).toThrow(ShapeError);
      expect(() => be.factor(be.zeros([1, 2, 4, 3]))).toThrow(/rank 2 to 3/);
      expect(() => be.factor(x, { beta: 0.5 })).toThrow(/needs an accumulator/);
      expect(() => be.factor(x, { beta: 0.5, accumulator: be.zeros([4, 4]) })).toThrow(/does not match/);
      expect(() => be.factor(x, { rowWeights: be.zeros([3]) })).toThrow(/rowWeights/);
      expect(() => be.factor(x, { rowWeights: be.zeros([1, 4]) })).toThrow(/rowWeights/);
      expect(() => be.factor(x, { alpha: NaN })).toThrow(/finite/);
      expect(() => be.factor(be.zeros([4, 3], 'int32'))).toThrow(/float/);
    }
  });
});

describe('sharedReduce', () => {
  it('GPU matches the CPU for mean and sum on awkward shapes', async () => {
    const rng = new Rng(7);
    for (const shape of [
      [3, 17, 65],
      [1, 130, 3],
      [5, 1, 1],
      [2, 1000, 63],
      [65, 3, 130],
    ]) {
      const x = pair(rng.normalArray(sizeOf(shape)), shape);
      for (const op of ['mean', 'sum'] as const) {
        const c = b.cpu.sharedReduce(x.cpu, op);
        const g = b.gpu.sharedReduce(x.gpu, op);
        expect(g.shape).toEqual([shape[0], shape[2]]);
        expectClose(await g.read(), await c.read(), { rtol: 1e-5, atol: 1e-6 * Math.sqrt(shape[1]) }, `${op} of [${shape}]`);
      }
    }
  });

  it('a hand-computed case and shape errors', async () => {
    for (const be of [b.cpu, b.gpu]) {
      const x = be.tensor([1, 2, 3, 4, 5, 6, 10, 20, 30, 40, 50, 60], [2, 3, 2]);
      expect(Array.from(await be.sharedReduce(x, 'sum').read())).toEqual([9, 12, 90, 120]);
      expect(Array.from(await be.sharedReduce(x, 'mean').read())).toEqual([3, 4, 30, 40]);
      expect(() => be.sharedReduce(be.zeros([2, 3]), 'mean')).toThrow(/\[N, R, d\]/);
      expect(() => be.sharedReduce(x, 'max' as 'mean')).toThrow(/'mean' or 'sum'/);
    }
  });
});

describe('K-FAC expand vs reduce (docs/kfac.md §2)', () => {
  it('A_expand = A_reduce when all R shared positions are identical', async () => {
    const rng = new Rng(8);
    const [n, r, d] = [5, 7, 17];
    const rows = rng.normalArray(n * d);
    const a = new Float64Array(n * r * d);
    for (let i = 0; i < n; i++) for (let k = 0; k < r; k++) a.set(rows.subarray(i * d, (i + 1) * d), (i * r + k) * d);
    const t = pair(a, [n, r, d]);
    for (const [side, be, tol] of [
      ['cpu', b.cpu, 1e-13],
      ['gpu', b.gpu, 2e-6],
    ] as const) {
      const expand = be.factor(be.reshape(t[side], [n * r, d]), { alpha: 1 / (n * r) });
      const reduce = be.factor(be.sharedReduce(t[side], 'mean'), { alpha: 1 / n });
      const ev = await expand.read();
      const rv = await reduce.read();
      expect(relativeError(rv, ev), side).toBeLessThan(tol);
      // And they differ once the positions differ (the test can fail).
      if (side === 'cpu') {
        const noisy = b.cpu.tensor(rng.normalArray(n * r * d), [n, r, d], 'float64');
        const e2 = await b.cpu.factor(b.cpu.reshape(noisy, [n * r, d]), { alpha: 1 / (n * r) }).read();
        const r2 = await b.cpu.factor(b.cpu.sharedReduce(noisy, 'mean'), { alpha: 1 / n }).read();
        expect(relativeError(r2, e2)).toBeGreaterThan(0.1);
      }
    }
  });
});
