// Layout family: permute, slice, concat, gather, scatterAdd, im2col, col2im — WebGPU against the CPU
// twin on awkward shapes, int32 through the copies, and properties (adjoint identity, determinism).
import { describe, expect, it } from 'vitest';
import type { Backend, Conv2dGeometry } from '../../src/engine/backend/backend.ts';
import { Rng } from '../../src/engine/random.ts';
import { sizeOf, type DType, type Shape, type Tensor } from '../../src/engine/tensor.ts';
import { ShapeError } from '../../src/engine/shape-rules/shape.ts';
import { useBackends } from '../helpers/backends.ts';
import { expectClose } from '../helpers/compare.ts';

const b = useBackends();

function randomValues(rng: Rng, n: number, dtype: DType): number[] {
  return Array.from({ length: n }, () => (dtype === 'int32' ? rng.int(2001) - 1000 : rng.normal()));
}

/** The same data on both backends (float32 data is rounded first so both start from identical values). */
function pair(rng: Rng, shape: Shape, dtype: DType = 'float32'): { cpu: Tensor; gpu: Tensor; values: number[] } {
  const values = randomValues(rng, sizeOf(shape), dtype);
  const rounded = dtype === 'float32' ? Array.from(Float32Array.from(values)) : values;
  return { cpu: b.cpu.tensor(rounded, shape, dtype), gpu: b.gpu.tensor(rounded, shape, dtype), values: rounded };
}

/** Runs op on both backends and expects identical shapes, dtypes and (bitwise) values: these ops only copy. */
async function expectSameCopy(op: (be: Backend, side: 'cpu' | 'gpu') => Tensor, label: string): Promise<void> {
  const c = op(b.cpu, 'cpu');
  const g = op(b.gpu, 'gpu');
  expect(g.shape, `${label}: shape`).toEqual(c.shape);
  expect(g.dtype, `${label}: dtype`).toBe(c.dtype);
  const gv = await g.read();
  const cv = await c.read();
  expect(gv.constructor, `${label}: array type`).toBe(cv.constructor);
  expect(Array.from(gv), label).toEqual(Array.from(cv));
  c.dispose();
  g.dispose();
}

function permutations(n: number): number[][] {
  if (n === 1) return [[0]];
  const out: number[][] = [];
  for (const p of permutations(n - 1)) for (let k = 0; k < n; k++) out.push([...p.slice(0, k), n - 1, ...p.slice(k)]);
  return out;
}

describe('permute', () => {
  it('all 24 permutations of a rank-4 tensor, float32 and int32', async () => {
    const rng = new Rng(1);
    for (const dtype of ['float32', 'int32'] as const) {
      const x = pair(rng, [3, 1, 5, 4], dtype);
      for (const perm of permutations(4)) {
        await expectSameCopy((be, side) => be.permute(x[side], perm), `${dtype} permute [${perm}]`);
      }
    }
  });

  it('matches a hand-computed transpose and accepts negative axes', async () => {
    for (const be of [b.cpu, b.gpu]) {
      const x = be.tensor([1, 2, 3, 4, 5, 6], [2, 3]);
      const t = be.permute(x, [-1, 0]);
      expect(t.shape).toEqual([3, 2]);
      expect(Array.from(await t.read())).toEqual([1, 4, 2, 5, 3, 6]);
    }
  });

  it('awkward shapes up to rank 8', async () => {
    const rng = new Rng(2);
    const cases: [number[], number[]][] = [
      [
        [17, 63],
        [1, 0],
      ],
      [
        [65, 3, 130],
        [2, 0, 1],
      ],
      [
        [2, 3, 5, 7, 1, 2],
        [5, 3, 1, 0, 2, 4],
      ],
      [
        [2, 3, 2, 3, 2, 3, 2, 2],
        [7, 0, 6, 1, 5, 2, 4, 3],
      ],
      [
        [1, 1, 1],
        [2, 1, 0],
      ],
      [
        [0, 3],
        [1, 0],
      ],
    ];
    for (const [shape, perm] of cases) {
      const x = pair(rng, shape);
      await expectSameCopy((be, side) => be.permute(x[side], perm), `permute [${shape}] by [${perm}]`);
    }
  });

  it('GPU copies need at most 9 axes after merging contiguous ones; the CPU has no limit', async () => {
    const shape = new Array<number>(10).fill(2);
    const perm = [9, 8, 7, 6, 5, 4, 3, 2, 1, 0];
    expect(() => b.gpu.permute(b.gpu.zeros(shape), perm)).toThrow(/needs 10 axes/);
    expect(b.cpu.permute(b.cpu.zeros(shape), perm).shape).toEqual(shape);
    // Rank 10 that merges down is fine: swapping two blocks of axes is a 2-D transpose.
    const rng = new Rng(12);
    const x = pair(rng, shape);
    await expectSameCopy((be, side) => be.permute(x[side], [5, 6, 7, 8, 9, 0, 1, 2, 3, 4]), 'rank-10 block swap');
  });

  it('keeps float64 on the CPU', async () => {
    const x = b.cpu.tensor([1 / 3, 2 / 3, 1, 4 / 3], [2, 2], 'float64');
    const t = b.cpu.permute(x, [1, 0]);
    expect(t.dtype).toBe('float64');
    expect(Array.from(await t.read())).toEqual([1 / 3, 1, 2 / 3, 4 / 3]);
  });

  it('rejects bad permutations on both backends', () => {
    for (const be of [b.cpu, b.gpu]) {
      const x = be.zeros([2, 3, 4]);
      expect(() => be.permute(x, [0, 1])).toThrow(ShapeError);
      expect(() => be.permute(x, [0, 1, 1])).toThrow(/repeats axis 1/);
      expect(() => be.permute(x, [0, 1, 3])).toThrow(/out of range/);
      expect(() => be.permute(x, [0, 1, 1.5])).toThrow(ShapeError);
    }
  });
});

describe('slice', () => {
  it('slices at the edges, in the middle, empty and to the end (-1), float32 and int32', async () => {
    const rng = new Rng(3);
    const shape = [17, 63, 5];
    const cases: [number[], number[]][] = [
      [
        [0, 0, 0],
        [17, 63, 5],
      ],
      [
        [16, 62, 4],
        [1, 1, 1],
      ],
      [
        [0, 60, 0],
        [17, 3, 5],
      ],
      [
        [3, 5, 1],
        [11, 57, 3],
      ],
      [
        [5, 0, 2],
        [-1, -1, -1],
      ],
      [
        [17, 0, 0],
        [0, 63, 5],
      ],
      [
        [4, 63, 0],
        [3, 0, 2],
      ],
    ];
    for (const dtype of ['float32', 'int32'] as const) {
      const x = pair(rng, shape, dtype);
      for (const [begin, size] of cases) {
        await expectSameCopy((be, side) => be.slice(x[side], begin, size), `${dtype} slice begin [${begin}] size [${size}]`);
      }
    }
  });

  it('matches a hand-computed slice', async () => {
    for (const be of [b.cpu, b.gpu]) {
      const x = be.tensor([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], [3, 4]);
      const s = be.slice(x, [1, 1], [2, 2]);
      expect(s.shape).toEqual([2, 2]);
      expect(Array.from(await s.read())).toEqual([5, 6, 9, 10]);
    }
  });

  it('rejects out-of-range slices', () => {
    for (const be of [b.cpu, b.gpu]) {
      const x = be.zeros([4, 5]);
      expect(() => be.slice(x, [0, 0], [5, 5])).toThrow(/would end at 5 > 4/);
      expect(() => be.slice(x, [2, 3], [2, 3])).toThrow(/axis 1 would end at 6 > 5/);
      expect(() => be.slice(x, [-1, 0], [1, 1])).toThrow(/begin -1 is outside axis 0/);
      expect(() => be.slice(x, [0], [1])).toThrow(/one entry per axis/);
      expect(() => be.slice(x, [0, 0], [1, -2])).toThrow(ShapeError);
    }
  });
});

describe('concat', () => {
  it('along every axis of rank 3, with three inputs of different lengths, float32 and int32', async () => {
    const rng = new Rng(4);
    const base = [3, 17, 5];
    for (const dtype of ['float32', 'int32'] as const) {
      for (let axis = 0; axis < 3; axis++) {
        const parts = [1, 4, 2].map((n) => {
          const shape = [...base];
          shape[axis] = n;
          return pair(rng, shape, dtype);
        });
        await expectSameCopy(
          (be, side) =>
            be.concat(
              parts.map((p) => p[side]),
              axis,
            ),
          `${dtype} concat on axis ${axis}`,
        );
        await expectSameCopy(
          (be, side) =>
            be.concat(
              parts.map((p) => p[side]),
              axis - 3,
            ),
          `${dtype} concat on axis ${axis - 3}`,
        );
      }
    }
  });

  it('many inputs, empty inputs, one input, and a hand-computed case', async () => {
    const rng = new Rng(5);
    const many = Array.from({ length: 9 }, (_, k) => pair(rng, [2, k % 3, 65]));
    await expectSameCopy(
      (be, side) =>
        be.concat(
          many.map((p) => p[side]),
          1,
        ),
      'concat of 9 inputs',
    );
    const one = pair(rng, [63]);
    await expectSameCopy((be, side) => be.concat([one[side]], 0), 'concat of one input');
    for (const be of [b.cpu, b.gpu]) {
      const c = be.concat([be.tensor([1, 2, 3, 4], [2, 2]), be.tensor([5, 6], [2, 1])], 1);
      expect(c.shape).toEqual([2, 3]);
      expect(Array.from(await c.read())).toEqual([1, 2, 5, 3, 4, 6]);
    }
  });

  it('rejects mismatched inputs', () => {
    for (const be of [b.cpu, b.gpu]) {
      expect(() => be.concat([], 0)).toThrow(/at least one/);
      expect(() => be.concat([be.zeros([2, 3]), be.zeros([3, 3])], 1)).toThrow(/differ on axis 0/);
      expect(() => be.concat([be.zeros([2, 3]), be.zeros([2, 3, 1])], 0)).toThrow(/ranks differ/);
      expect(() => be.concat([be.zeros([2]), be.zeros([2], 'int32')], 0)).toThrow(/mixed dtypes/);
      expect(() => be.concat([be.zeros([2])], 1)).toThrow(/out of range/);
    }
  });
});

describe('gather', () => {
  it('embedding rows with repeated indices, float32 and int32, awkward widths', async () => {
    const rng = new Rng(6);
    for (const [shape, m] of [
      [[130, 3], 257],
      [[65, 2, 3], 17],
      [[1, 63], 5],
      [[17], 40],
      [[3, 4], 0],
    ] as [number[], number][]) {
      for (const dtype of ['float32', 'int32'] as const) {
        const x = pair(rng, shape, dtype);
        const idx = Array.from({ length: m }, () => rng.int(shape[0]));
        if (m > 3) idx[1] = idx[2] = idx[3] = shape[0] - 1;
        const ic = b.cpu.tensor(idx, [m], 'int32');
        const ig = b.gpu.tensor(idx, [m], 'int32');
        await expectSameCopy((be, side) => be.gather(x[side], side === 'cpu' ? ic : ig), `${dtype} gather from [${shape}] of ${m}`);
      }
    }
  });

  it('out-of-range indices: an error on the CPU, zeros on the GPU', async () => {
    expect(() => b.cpu.gather(b.cpu.zeros([3, 2]), b.cpu.tensor([0, 3], [2], 'int32'))).toThrow(/out of range/);
    const g = b.gpu.gather(b.gpu.tensor([1, 2, 3, 4, 5, 6], [3, 2]), b.gpu.tensor([2, 3, -1, 0], [4], 'int32'));
    expect(Array.from(await g.read())).toEqual([5, 6, 0, 0, 0, 0, 1, 2]);
  });

  it('rejects bad index tensors', () => {
    for (const be of [b.cpu, b.gpu]) {
      expect(() => be.gather(be.zeros([3, 2]), be.zeros([2]))).toThrow(/int32/);
      expect(() => be.gather(be.zeros([3, 2]), be.zeros([2, 1], 'int32'))).toThrow(ShapeError);
    }
  });
});

describe('scatterAdd', () => {
  async function compare(rng: Rng, m: number, rest: number[], numRows: number, target: (k: number) => number, label: string) {
    const src = pair(rng, [m, ...rest]);
    const idx = Array.from({ length: m }, (_, k) => target(k));
    const c = b.cpu.scatterAdd(src.cpu, b.cpu.tensor(idx, [m], 'int32'), numRows);
    const ig = b.gpu.tensor(idx, [m], 'int32');
    const g = b.gpu.scatterAdd(src.gpu, ig, numRows);
    expect(g.shape, label).toEqual([numRows, ...rest]);
    const gv = await g.read();
    // float32 sums of up to a few thousand O(1) terms against float64.
    expectClose(gv, await c.read(), { rtol: 1e-5, atol: 2e-5 * Math.sqrt(m) }, label);
    // Deterministic: the cached plan and a fresh plan for an equal index tensor give the same bits.
    const again = await b.gpu.scatterAdd(src.gpu, ig, numRows).read();
    const fresh = await b.gpu.scatterAdd(src.gpu, b.gpu.tensor(idx, [m], 'int32'), numRows).read();
    expect(Array.from(again), `${label}: repeat`).toEqual(Array.from(gv));
    expect(Array.from(fresh), `${label}: fresh plan`).toEqual(Array.from(gv));
  }

  it('many duplicates and empty rows, scalar and vec4 row widths', async () => {
    const rng = new Rng(7);
    for (const rest of [[], [3], [4], [2, 4], [65]]) {
      // 2000 sources into 17 of 63 rows: every target is hit ~118 times, 46 rows stay empty.
      await compare(rng, 2000, rest, 63, () => 3 * rng.int(17), `scatterAdd [${rest}] into 63 rows`);
    }
  });

  it('graph-like: a hub row with thousands of sources (sorted per row), awkward sizes', async () => {
    const rng = new Rng(8);
    await compare(rng, 3001, [5], 130, (k) => (k % 3 === 0 ? 129 : rng.int(130)), 'hub');
    await compare(rng, 1, [1], 1, () => 0, 'single');
    await compare(rng, 65, [17], 3, (k) => k % 3, 'round robin');
  });

  it('hand-computed sums, empty sources and zero rows', async () => {
    for (const be of [b.cpu, b.gpu]) {
      const src = be.tensor([1, 2, 3, 4, 5, 6, 7, 8], [4, 2]);
      const s = be.scatterAdd(src, be.tensor([2, 0, 2, 2], [4], 'int32'), 4);
      expect(Array.from(await s.read())).toEqual([3, 4, 0, 0, 1 + 5 + 7, 2 + 6 + 8, 0, 0]);
      const empty = be.scatterAdd(be.zeros([0, 3]), be.tensor([], [0], 'int32'), 2);
      expect(Array.from(await empty.read())).toEqual([0, 0, 0, 0, 0, 0]);
      expect(be.scatterAdd(be.zeros([0, 3]), be.tensor([], [0], 'int32'), 0).shape).toEqual([0, 3]);
    }
  });

  it('a disposed index tensor does not leave a stale plan behind', async () => {
    // The second index tensor very likely reuses the first one's pooled buffer.
    const src = b.gpu.tensor([1, 10, 100, 1000], [4, 1]);
    const first = b.gpu.tensor([0, 0, 1, 1], [4], 'int32');
    expect(Array.from(await b.gpu.scatterAdd(src, first, 2).read())).toEqual([11, 1100]);
    first.dispose();
    const second = b.gpu.tensor([1, 0, 1, 0], [4], 'int32');
    expect(Array.from(await b.gpu.scatterAdd(src, second, 2).read())).toEqual([1010, 101]);
  });

  it('out-of-range indices: an error on the CPU, skipped on the GPU; shape errors', async () => {
    expect(() => b.cpu.scatterAdd(b.cpu.zeros([2, 1]), b.cpu.tensor([0, 2], [2], 'int32'), 2)).toThrow(/out of range/);
    const g = b.gpu.scatterAdd(b.gpu.tensor([1, 2, 3], [3]), b.gpu.tensor([1, 5, -1], [3], 'int32'), 2);
    expect(Array.from(await g.read())).toEqual([0, 1]);
    for (const be of [b.cpu, b.gpu]) {
      expect(() => be.scatterAdd(be.zeros([3, 2]), be.tensor([0, 1], [2], 'int32'), 2)).toThrow(/one per row/);
      expect(() => be.scatterAdd(be.zeros([2]), be.tensor([0, 1], [2], 'int32'), -1)).toThrow(/numRows/);
      expect(() => be.scatterAdd(be.zeros([2], 'int32'), be.tensor([0, 1], [2], 'int32'), 2)).toThrow(/float/);
    }
  });
});

describe('im2col and col2im', () => {
  const geometries: [string, number[], Conv2dGeometry][] = [
    ['3×3', [2, 3, 7, 9], { kernelH: 3, kernelW: 3 }],
    ['3×3 pad 1', [1, 2, 5, 5], { kernelH: 3, kernelW: 3, padH: 1, padW: 1 }],
    [
      '3×3 stride 2 pad 1 dilation 2',
      [2, 3, 9, 11],
      { kernelH: 3, kernelW: 3, strideH: 2, strideW: 2, padH: 1, padW: 1, dilationH: 2, dilationW: 2 },
    ],
    ['1×1', [3, 5, 3, 7], { kernelH: 1, kernelW: 1 }],
    ['1×1 stride 2', [1, 4, 7, 5], { kernelH: 1, kernelW: 1, strideH: 2, strideW: 2 }],
    ['2×3 mixed', [2, 2, 13, 17], { kernelH: 2, kernelW: 3, strideH: 3, strideW: 1, padH: 2, padW: 0, dilationH: 1, dilationW: 3 }],
    ['kernel = input + padding', [1, 1, 3, 1], { kernelH: 5, kernelW: 3, padH: 1, padW: 1 }],
  ];

  it('GPU matches the CPU on awkward geometries (im2col exactly, col2im closely)', async () => {
    const rng = new Rng(9);
    for (const [label, shape, geom] of geometries) {
      const x = pair(rng, shape);
      await expectSameCopy((be, side) => be.im2col(x[side], geom), `im2col ${label}`);
      const colsShape = b.cpu.im2col(x.cpu, geom).shape;
      const y = pair(rng, colsShape);
      const c = b.cpu.col2im(y.cpu, shape, geom);
      const g = b.gpu.col2im(y.gpu, shape, geom);
      expect(g.shape).toEqual(shape);
      expectClose(await g.read(), await c.read(), { rtol: 1e-5, atol: 1e-5 }, `col2im ${label}`);
    }
  });

  it('im2col moves int32 on the GPU', async () => {
    const rng = new Rng(10);
    const x = pair(rng, [2, 3, 5, 6], 'int32');
    const geom = { kernelH: 3, kernelW: 2, padH: 1, padW: 1, strideH: 2 };
    await expectSameCopy((be, side) => be.im2col(x[side], geom), 'int32 im2col');
  });

  it('col2im is the adjoint of im2col: <im2col(x), y> = <x, col2im(y)> in float64', async () => {
    const rng = new Rng(11);
    for (const [label, shape, geom] of geometries) {
      const x = b.cpu.tensor(rng.normalArray(sizeOf(shape)), shape, 'float64');
      const cols = b.cpu.im2col(x, geom);
      const y = b.cpu.tensor(rng.normalArray(cols.size), cols.shape, 'float64');
      const back = b.cpu.col2im(y, shape, geom);
      expect(back.dtype).toBe('float64');
      const [cv, yv, xv, bv] = [await cols.read(), await y.read(), await x.read(), await back.read()];
      let lhs = 0;
      let rhs = 0;
      for (let k = 0; k < cv.length; k++) lhs += cv[k] * yv[k];
      for (let k = 0; k < xv.length; k++) rhs += xv[k] * bv[k];
      expect(Math.abs(lhs - rhs), label).toBeLessThan(1e-12 * Math.max(1, Math.abs(lhs)) * Math.sqrt(cv.length));
    }
  });

  it('a tiny hand-computed case: 1×1×3×3 input, 2×2 kernel, padding 1, stride 2', async () => {
    // Padded input (zeros around 1..9); windows start at padded rows/cols 0 and 2.
    const expected = [
      [0, 0, 0, 1],
      [0, 0, 2, 3],
      [0, 4, 0, 7],
      [5, 6, 8, 9],
    ].flat();
    for (const be of [b.cpu, b.gpu]) {
      const x = be.tensor([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 1, 3, 3]);
      const geom = { kernelH: 2, kernelW: 2, padH: 1, padW: 1, strideH: 2, strideW: 2 };
      const cols = be.im2col(x, geom);
      expect(cols.shape).toEqual([1, 4, 4]);
      expect(Array.from(await cols.read())).toEqual(expected);
      // Without overlap col2im(im2col(x)) returns x.
      expect(Array.from(await be.col2im(cols, [1, 1, 3, 3], geom).read())).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
      // With stride 1 the centre pixel is in all four 2×2 windows.
      const dense = be.im2col(x, { kernelH: 2, kernelW: 2 });
      expect(Array.from(await be.col2im(dense, [1, 1, 3, 3], { kernelH: 2, kernelW: 2 }).read())).toEqual([1, 4, 3, 8, 20, 12, 7, 16, 9]);
    }
  });

  it('column order is (c, kh, kw), matching a flattened Conv2d weight', async () => {
    for (const be of [b.cpu, b.gpu]) {
      // Two channels of a 2×2 image, a 2×2 kernel: the single patch is channel 0 then channel 1.
      const x = be.tensor([1, 2, 3, 4, 10, 20, 30, 40], [1, 2, 2, 2]);
      expect(Array.from(await be.im2col(x, { kernelH: 2, kernelW: 2 }).read())).toEqual([1, 2, 3, 4, 10, 20, 30, 40]);
    }
  });

  it('rejects bad geometry and shapes', () => {
    for (const be of [b.cpu, b.gpu]) {
      const x = be.zeros([1, 2, 4, 4]);
      expect(() => be.im2col(x, { kernelH: 5, kernelW: 1 })).toThrow(/does not fit/);
      expect(() => be.im2col(x, { kernelH: 3, kernelW: 3, strideH: 0 })).toThrow(/strideH/);
      expect(() => be.im2col(be.zeros([2, 4, 4]), { kernelH: 1, kernelW: 1 })).toThrow(/\[N, C, H, W\]/);
      expect(() => be.col2im(be.zeros([1, 5, 18]), [1, 2, 4, 4], { kernelH: 3, kernelW: 3 })).toThrow(
        /expected cols of shape \[1, 4, 18\]/,
      );
    }
  });
});
