import { describe, expect, it } from 'vitest';
import type { MatmulOptions } from '../../src/engine/backend/backend.ts';
import { ShapeError } from '../../src/engine/shape-rules/shape.ts';
import { collapseBatch, planMatmul } from '../../src/engine/shape-rules/matmul.ts';
import {
  fitWorkgroups,
  HARDWARE_TUNING,
  matmulWith,
  SOFTWARE_TUNING,
  vec4Eligible,
  type KernelTiling,
  type MatmulKernel,
} from '../../src/engine/backend/webgpu/matmul.ts';
import type { Shape } from '../../src/engine/tensor.ts';
import { Rng } from '../../src/engine/random.ts';
import { AWKWARD_SIZES, useBackends } from '../helpers/backends.ts';
import { expectClose } from '../helpers/compare.ts';

const be = useBackends();
const rng = new Rng(7);

const COMBOS: MatmulOptions[] = [
  { transA: false, transB: false },
  { transA: true, transB: false },
  { transA: false, transB: true },
  { transA: true, transB: true },
];

function comboName(o: MatmulOptions): string {
  return `${o.transA ? 'Aᵀ' : 'A'}·${o.transB ? 'Bᵀ' : 'B'}`;
}

/** Stored operand shapes for a logical [..., m, k] × [..., k, n]. */
function operandShapes(m: number, n: number, k: number, o: MatmulOptions, aBatch: Shape = [], bBatch: Shape = []): [Shape, Shape] {
  return [
    [...aBatch, ...(o.transA ? [k, m] : [m, k])],
    [...bBatch, ...(o.transB ? [n, k] : [k, n])],
  ];
}

function sizeOf(shape: Shape): number {
  return shape.reduce((p, d) => p * d, 1);
}

/** Float32 sums of k terms of N(0,1) products: allow error growing like √k. */
function tolerance(k: number) {
  return { rtol: 1e-4, atol: 2e-5 * Math.sqrt(Math.max(k, 1)) };
}

/**
 * Runs the same matmul on the CPU twin and on the GPU (with an explicit kernel and tiling, or the
 * automatic choice) and compares.
 */
async function compare(
  aShape: Shape,
  bShape: Shape,
  options: MatmulOptions,
  kernel: MatmulKernel | 'auto' = 'auto',
  tiling?: KernelTiling,
): Promise<void> {
  const aData = rng.normalArray(sizeOf(aShape));
  const bData = rng.normalArray(sizeOf(bShape));
  const expected = be.cpu.matmul(be.cpu.tensor(aData, aShape), be.cpu.tensor(bData, bShape), options);
  const a = be.gpu.tensor(aData, aShape);
  const b = be.gpu.tensor(bData, bShape);
  const actual = matmulWith(be.gpu, a, b, options, kernel, tiling);
  expect(actual.shape).toEqual(expected.shape);
  const plan = planMatmul(be.cpu.zeros(aShape), be.cpu.zeros(bShape), options);
  const label = `${comboName(options)} ${JSON.stringify(aShape)}×${JSON.stringify(bShape)} ${kernel}${tiling ? ` block ${tiling.block}` : ''}`;
  expectClose(await actual.read(), await expected.read(), tolerance(plan.k), label);
  a.dispose();
  b.dispose();
  actual.dispose();
}

describe('matmul shape rules', () => {
  it('computes output shapes with broadcast batch dims and transposes', () => {
    const t = (shape: Shape) => be.cpu.zeros(shape);
    expect(planMatmul(t([3, 5]), t([5, 7])).outShape).toEqual([3, 7]);
    expect(planMatmul(t([5, 3]), t([7, 5]), { transA: true, transB: true }).outShape).toEqual([3, 7]);
    expect(planMatmul(t([2, 1, 3, 5]), t([4, 5, 7])).outShape).toEqual([2, 4, 3, 7]);
    expect(planMatmul(t([3, 5]), t([4, 5, 7])).outShape).toEqual([4, 3, 7]); // rank 2 × rank 3
    const plan = planMatmul(t([2, 3, 4, 5]), t([2, 3, 5, 6]));
    expect(collapseBatch(plan)).toEqual({ sizes: [6], aStrides: [20], bStrides: [30] });
  });

  it('throws a ShapeError naming the op and shapes on mismatched inner dims', () => {
    const a = be.cpu.zeros([3, 4]);
    const b = be.cpu.zeros([5, 6]);
    expect(() => be.cpu.matmul(a, b)).toThrow(ShapeError);
    expect(() => be.cpu.matmul(a, b)).toThrow(/matmul: inner dimensions differ: a \[3, 4\] has k = 4, b \[5, 6\] has k = 5/);
    expect(() => be.gpu.matmul(be.gpu.zeros([3, 4]), be.gpu.zeros([5, 6]))).toThrow(ShapeError);
    // transposes decide which dim is k
    expect(() => be.cpu.matmul(a, be.cpu.zeros([6, 4]), { transB: false })).toThrow(/k = 4.*k = 6/);
    expect(be.cpu.matmul(a, be.cpu.zeros([6, 4]), { transB: true }).shape).toEqual([3, 6]);
  });

  it('rejects batch dims that do not broadcast, rank-1 operands and int32', () => {
    expect(() => be.cpu.matmul(be.cpu.zeros([2, 3, 4]), be.cpu.zeros([3, 4, 5]))).toThrow(/matmul: batch dims .* do not broadcast/);
    expect(() => be.cpu.matmul(be.cpu.zeros([4]), be.cpu.zeros([4, 5]))).toThrow(/matmul: a: expected rank at least 2/);
    expect(() => be.gpu.matmul(be.gpu.zeros([2, 2], 'int32'), be.gpu.zeros([2, 2]))).toThrow(/float32 or float64, got int32/);
  });
});

describe('cpu matmul', () => {
  it('matches a naive float64 triple loop (transposes and broadcast batch)', async () => {
    const [B0, B1, m, n, k] = [2, 3, 5, 4, 6];
    const aData = rng.normalArray(B0 * 1 * k * m); // a: [B0, 1, k, m], transposed
    const bData = rng.normalArray(B1 * n * k); // b: [B1, n, k], transposed
    const a = be.cpu.tensor(aData, [B0, 1, k, m], 'float64');
    const b = be.cpu.tensor(bData, [B1, n, k], 'float64');
    const c = be.cpu.matmul(a, b, { transA: true, transB: true });
    expect(c.shape).toEqual([B0, B1, m, n]);
    expect(c.dtype).toBe('float64');
    const got = await c.read();
    expect(got).toBeInstanceOf(Float64Array);
    const want = new Float64Array(B0 * B1 * m * n);
    for (let i0 = 0; i0 < B0; i0++)
      for (let i1 = 0; i1 < B1; i1++)
        for (let i = 0; i < m; i++)
          for (let j = 0; j < n; j++) {
            let s = 0;
            for (let p = 0; p < k; p++) s += aData[(i0 * k + p) * m + i] * bData[(i1 * n + j) * k + p];
            want[((i0 * B1 + i1) * m + i) * n + j] = s;
          }
    expectClose(got, want, { rtol: 1e-13, atol: 1e-13 });
  });

  it('gives float32 for float32 inputs', () => {
    expect(be.cpu.matmul(be.cpu.zeros([2, 2]), be.cpu.zeros([2, 2])).dtype).toBe('float32');
  });
});

describe('webgpu matmul against the cpu twin', () => {
  // Each awkward size appears as m, as n and as k.
  const awkward: [number, number, number][] = [
    [1, 1, 1],
    [3, 17, 1],
    [17, 3, 63],
    [63, 65, 17],
    [65, 130, 3],
    [130, 63, 65],
    [1, 130, 130],
  ];

  it('the shape list covers every awkward size', () => {
    expect(new Set(awkward.flat())).toEqual(new Set(AWKWARD_SIZES));
  });

  for (const combo of COMBOS) {
    it(`${comboName(combo)}: awkward shapes, automatic kernel choice`, async () => {
      for (const [m, n, k] of awkward) await compare(...operandShapes(m, n, k, combo), combo);
    });

    it(`${comboName(combo)}: the general kernel at both block sizes and the vec4 kernel at both`, async () => {
      for (const tiling of [SOFTWARE_TUNING.general, HARDWARE_TUNING.general]) {
        await compare(...operandShapes(65, 17, 63, combo), combo, 'general', tiling);
        await compare(...operandShapes(64, 128, 256, combo), combo, 'general', tiling); // aligned shapes too
      }
      for (const tiling of [SOFTWARE_TUNING.vec4, HARDWARE_TUNING.vec4, { wgX: 2, wgY: 1, block: 16 }]) {
        await compare(...operandShapes(64, 128, 256, combo), combo, 'vec4', tiling);
        await compare(...operandShapes(20, 36, 44, combo), combo, 'vec4', tiling); // partial tiles
      }
    });
  }

  it('takes the vec4 kernel exactly when the shape is aligned for it', () => {
    const plan = (m: number, n: number, k: number, o: MatmulOptions) => {
      const [aShape, bShape] = operandShapes(m, n, k, o);
      return planMatmul(be.cpu.zeros(aShape), be.cpu.zeros(bShape), o);
    };
    for (const combo of COMBOS) expect(vec4Eligible(plan(64, 128, 256, combo))).toBe(true);
    expect(vec4Eligible(plan(64, 64, 4097, COMBOS[1]))).toBe(true); // Aᵀ B: k is free
    expect(vec4Eligible(plan(63, 64, 64, COMBOS[0]))).toBe(true); // A B: m is free
    expect(vec4Eligible(plan(63, 64, 64, COMBOS[1]))).toBe(false);
    expect(vec4Eligible(plan(64, 64, 63, COMBOS[0]))).toBe(false);
    expect(vec4Eligible(plan(64, 62, 64, COMBOS[0]))).toBe(false);
  });

  it('shrinks workgroups of small problems so that several run in parallel', () => {
    const plan = (m: number, n: number, k: number) => planMatmul(be.cpu.zeros([k, m]), be.cpu.zeros([k, n]), { transA: true });
    // 64×64 in 16×16 blocks is 16 invocations: four workgroups of four rather than one of sixteen
    expect(fitWorkgroups(SOFTWARE_TUNING.vec4, plan(64, 64, 4096))).toEqual({ wgX: 4, wgY: 1, block: 16 });
    expect(fitWorkgroups(SOFTWARE_TUNING.vec4, plan(512, 512, 64))).toEqual(SOFTWARE_TUNING.vec4);
    expect(fitWorkgroups(HARDWARE_TUNING.vec4, plan(64, 64, 64))).toEqual({ wgX: 8, wgY: 4, block: 4 });
  });

  it('Aᵀ B with k not a multiple of 4 on the vec4 kernel (K-FAC XᵀX shapes)', async () => {
    for (const k of [1, 3, 22, 129]) {
      for (const tiling of [SOFTWARE_TUNING.vec4, HARDWARE_TUNING.vec4]) {
        await compare([k, 16], [k, 32], { transA: true }, 'vec4', tiling);
      }
    }
  });

  it('batched with broadcasting, on both kernels', async () => {
    const cases: [Shape, Shape][] = [
      [[2, 3], [3]], // a [2,3,m,k] × b [3,k,n]
      [[], [4]], // rank 2 × rank 3
      [[5], []],
      [
        [2, 1],
        [1, 3],
      ],
      [
        [2, 1, 2, 1],
        [1, 2, 1, 2],
      ], // four batch dims that cannot be merged: one is looped on the host
      [
        [1, 3],
        [2, 1],
      ],
    ];
    for (const [aBatch, bBatch] of cases) {
      for (const combo of [COMBOS[0], COMBOS[3]]) {
        await compare(...operandShapes(17, 3, 5, combo, aBatch, bBatch), combo); // general
        await compare(...operandShapes(12, 8, 16, combo, aBatch, bBatch), combo); // vec4
      }
    }
  });

  it('folds more than 65535 workgroups into the grid', async () => {
    // 65 600 batched products of single-invocation workgroups: past the per-dimension limit.
    const tiny = { wgX: 1, wgY: 1, block: 4 };
    await compare([65_600, 4, 4], [65_600, 4, 4], {}, 'vec4', tiny);
    await compare([65_600, 3, 2], [1, 2], { transB: true }, 'general', tiny);
  });

  it('satisfies (A B)ᵀ = Bᵀ Aᵀ on the GPU', async () => {
    const [m, n, k] = [33, 20, 40];
    const a = be.gpu.tensor(rng.normalArray(m * k), [m, k]);
    const b = be.gpu.tensor(rng.normalArray(k * n), [k, n]);
    const ab = await be.gpu.matmul(a, b).read();
    const btat = await be.gpu.matmul(b, a, { transA: true, transB: true }).read();
    const abT = new Float32Array(n * m);
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) abT[j * m + i] = ab[i * n + j];
    expectClose(btat, abT, tolerance(k));
  });

  it('k = 0 gives zeros and empty outputs are empty, on both backends', async () => {
    for (const backend of [be.cpu, be.gpu]) {
      const z = backend.matmul(backend.zeros([2, 3, 0]), backend.zeros([0, 4]));
      expect(z.shape).toEqual([2, 3, 4]);
      expect(Array.from(await z.read())).toEqual(new Array(24).fill(0));
      const z2 = backend.matmul(backend.fill([0, 3], 1), backend.fill([4, 0], 1), { transA: true, transB: true });
      expect(Array.from(await z2.read())).toEqual(new Array(12).fill(0));
      const e = backend.matmul(backend.zeros([0, 5]), backend.zeros([5, 3]));
      expect(e.shape).toEqual([0, 3]);
      expect((await e.read()).length).toBe(0);
    }
  });

  it('reuses compiled pipelines', async () => {
    const a = be.gpu.tensor(rng.normalArray(64 * 64), [64, 64]);
    be.gpu.matmul(a, a).dispose();
    be.gpu.matmul(a, a, { transB: true }).dispose();
    const compiled = be.gpu.runtime.counters.pipelinesCompiled;
    be.gpu.matmul(a, a).dispose();
    be.gpu.matmul(a, a, { transB: true }).dispose();
    await be.gpu.sync();
    expect(be.gpu.runtime.counters.pipelinesCompiled).toBe(compiled);
  });
});
