// Reductions and softmax: the CPU twin against hand-computed values, then the WebGPU kernels
// against the CPU twin on every axis, awkward lengths (single- and multi-pass trees), a 1e6-element
// sum, argmax ties, extreme logits, errors, and scope hygiene.
import { describe, expect, it } from 'vitest';
import type { Backend, ReduceOp } from '../../src/engine/backend/backend.ts';
import { scope, type Shape, type Tensor } from '../../src/engine/tensor.ts';
import { Rng } from '../../src/engine/random.ts';
import { ShapeError } from '../../src/engine/shape-rules/shape.ts';
import { AWKWARD_SIZES, useBackends } from '../helpers/backends.ts';
import { expectClose, type Tolerance } from '../helpers/compare.ts';

const b = useBackends();

const OPS: readonly ReduceOp[] = ['sum', 'mean', 'max'];
const size = (shape: Shape): number => shape.reduce((p, d) => p * d, 1);

/** Runs `op` on both backends on the same float32 data; checks shape, dtype and values. */
async function expectTwin(
  label: string,
  values: ArrayLike<number>,
  shape: Shape,
  op: (be: Backend, x: Tensor) => Tensor,
  tol: Tolerance = {},
) {
  const run = (be: Backend) => scope(() => op(be, be.tensor(values, shape)));
  const want = run(b.cpu);
  const got = run(b.gpu);
  expect(got.shape, `${label}: shape`).toEqual(want.shape);
  expect(got.dtype, `${label}: dtype`).toBe(want.dtype);
  expectClose(await got.read(), b.cpu.readSync(want), tol, label);
  want.dispose();
  got.dispose();
}

/** Sums of n normal entries cancel: judge them against the scale √n·max|x| rather than the result. */
function tolFor(op: ReduceOp, axisLen: number): Tolerance {
  if (op === 'max') return { rtol: 0, atol: 0 };
  if (op === 'mean') return { rtol: 1e-5, atol: 1e-6 };
  return { rtol: 1e-5, atol: 4e-6 * Math.sqrt(Math.max(1, axisLen)) };
}

describe('reduce: CPU twin against hand-computed values', () => {
  it('sum, mean, max over each axis and everything, with keepDims', () => {
    const x = b.cpu.tensor([1, 2, 3, 4, 5, 6], [2, 3]);
    const r = (op: ReduceOp, axis: number | null, keep = false) => {
      const t = b.cpu.reduce(op, x, axis, keep);
      return { shape: t.shape, values: Array.from(b.cpu.readSync(t)) };
    };
    expect(r('sum', 0)).toEqual({ shape: [3], values: [5, 7, 9] });
    expect(r('sum', 1)).toEqual({ shape: [2], values: [6, 15] });
    expect(r('sum', -1, true)).toEqual({ shape: [2, 1], values: [6, 15] });
    expect(r('mean', 0, true)).toEqual({ shape: [1, 3], values: [2.5, 3.5, 4.5] });
    expect(r('mean', null)).toEqual({ shape: [], values: [3.5] });
    expect(r('max', null, true)).toEqual({ shape: [1, 1], values: [6] });
    expect(r('max', -2)).toEqual({ shape: [3], values: [4, 5, 6] });
    const neg = b.cpu.tensor([-3, -1, -2], [3]);
    expect(Array.from(b.cpu.readSync(b.cpu.reduce('max', neg, 0)))).toEqual([-1]);
    // Empty axes give the identity.
    const empty = b.cpu.zeros([2, 0]);
    expect(Array.from(b.cpu.readSync(b.cpu.reduce('sum', empty, 1)))).toEqual([0, 0]);
    expect(Array.from(b.cpu.readSync(b.cpu.reduce('max', empty, 1)))).toEqual([-Infinity, -Infinity]);
  });

  it('argmax takes the first index on ties', () => {
    const x = b.cpu.tensor([1, 5, 5, 2, 7, 7, 7, 0, 3, 7, 3, 3], [3, 4]);
    const rows = b.cpu.argmax(x, 1);
    expect(rows.dtype).toBe('int32');
    expect(Array.from(b.cpu.readSync(rows))).toEqual([1, 0, 1]);
    expect(Array.from(b.cpu.readSync(b.cpu.argmax(x, 0)))).toEqual([1, 1, 1, 2]);
    expect(b.cpu.argmax(b.cpu.zeros([2, 3, 4]), -2).shape).toEqual([2, 4]);
  });

  it('softmax and logSoftmax', () => {
    const x = b.cpu.tensor([0, Math.log(3), 1000, 1000, -1000, 1000], [3, 2]);
    expectClose(b.cpu.readSync(b.cpu.softmax(x)), [0.25, 0.75, 0.5, 0.5, 0, 1], { rtol: 1e-6 });
    expectClose(b.cpu.readSync(b.cpu.logSoftmax(x)), [Math.log(0.25), Math.log(0.75), -Math.LN2, -Math.LN2, -2000, 0], { rtol: 1e-6 });
  });
});

describe('reduce: WebGPU against the CPU twin', () => {
  it('every op over every axis of rank-3 and rank-4 tensors, keepDims or not', async () => {
    const rng = new Rng(11);
    for (const shape of [
      [3, 17, 65],
      [2, 3, 5, 7],
      [63, 1, 5, 3],
    ]) {
      const values = rng.normalArray(size(shape));
      for (const op of OPS) {
        for (let axis = -1; axis < shape.length; axis++) {
          const ax = axis === -1 ? null : axis;
          for (const keep of [false, true]) {
            await expectTwin(
              `${op} [${shape}] axis ${ax} keep ${keep}`,
              values,
              shape,
              (be, x) => be.reduce(op, x, ax, keep),
              tolFor(op, 1000),
            );
          }
        }
        await expectTwin(`${op} [${shape}] axis -2`, values, shape, (be, x) => be.reduce(op, x, -2), tolFor(op, 100));
      }
    }
  });

  it('awkward and long axes: one pass, row trees, multi-pass strided trees', async () => {
    const rng = new Rng(12);
    const cases: [Shape, number][] = [
      ...AWKWARD_SIZES.map((n): [Shape, number] => [[3, n], 1]),
      ...AWKWARD_SIZES.map((n): [Shape, number] => [[n, 5], 0]),
      [[2, 257], 1], // just over the row threshold: one workgroup per row
      [[3, 5000], 1], // rows pass of 1024-chunks, then a second pass
      [[2, 70000], 1],
      [[3000, 3], 0], // strided passes of 128-chunks
      [[2, 40000, 2], 1],
      [[1, 1, 1], 1],
    ];
    for (const [shape, axis] of cases) {
      const values = rng.normalArray(size(shape));
      for (const op of OPS) {
        await expectTwin(`${op} [${shape}] axis ${axis}`, values, shape, (be, x) => be.reduce(op, x, axis), tolFor(op, shape[axis]));
      }
    }
  });

  it('a 1e6-element sum is accurate to 1e-5 relative', async () => {
    const n = 1_000_000;
    const rng = new Rng(13);
    const values = Float32Array.from(rng.uniformArray(n, 0, 1));
    values[123457] = 50; // the max, somewhere in the middle of a chunk
    let exact = 0;
    for (const v of values) exact += v;
    const x = b.gpu.tensor(values, [1000, 1000]);
    const sum = (await b.gpu.reduce('sum', x, null).read())[0];
    const mean = (await b.gpu.reduce('mean', x, null).read())[0];
    const max = await b.gpu.reduce('max', x, null, true);
    expect(Math.abs(sum - exact) / exact).toBeLessThan(1e-5);
    expect(Math.abs(mean - exact / n) / (exact / n)).toBeLessThan(1e-5);
    expect(max.shape).toEqual([1, 1]);
    expect((await max.read())[0]).toBe(50);
    // Along the long axis of a strided layout, through multi-pass chunk trees as well.
    const col = b.gpu.reshape(x, [n / 2, 2]);
    const cols = await b.gpu.reduce('sum', col, 0).read();
    let even = 0;
    for (let i = 0; i < n; i += 2) even += values[i];
    expect(Math.abs(cols[0] - even) / even).toBeLessThan(1e-5);
    expect(Math.abs(cols[0] + cols[1] - exact) / exact).toBeLessThan(1e-5);
    for (const t of [x, max, col]) t.dispose();
  });

  it('argmax on short and long axes, with ties split across threads', async () => {
    const rng = new Rng(14);
    for (const [shape, axis] of [
      [[3, 17], 1],
      [[130, 1], 1],
      [[63, 65], 0],
      [[5, 2, 9], 1],
      [[4, 1000], 1],
      [[2, 5000], -1],
      [[1, 300], 1],
    ] as [Shape, number][]) {
      // Few distinct values: many ties, so the first-index rule is exercised everywhere.
      const values = Float64Array.from({ length: size(shape) }, () => rng.int(5));
      await expectTwin(`argmax [${shape}] axis ${axis}`, values, shape, (be, x) => be.argmax(x, axis), { rtol: 0, atol: 0 });
    }
    // Hand-placed ties: later copies sit in lanes before the first one's lane (index 100 vs 30 + 64k).
    const row = new Float32Array(1000).fill(-1);
    for (const i of [900, 100, 164, 228]) row[i] = 9;
    expect(Array.from(await b.gpu.argmax(b.gpu.tensor(row, [1, 1000]), 1).read())).toEqual([100]);
    row[99] = 9;
    expect(Array.from(await b.gpu.argmax(b.gpu.tensor(row, [1000]), 0).read())).toEqual([99]);
  });

  it('softmax and logSoftmax on awkward row lengths', async () => {
    const rng = new Rng(15);
    for (const shape of [[1], [3], [5, 17], [63, 1], [2, 3, 65], [130, 130], [3, 257], [2, 1000], [1, 5000]] as Shape[]) {
      const values = rng.normalArray(size(shape), 4);
      await expectTwin(`softmax [${shape}]`, values, shape, (be, x) => be.softmax(x), { rtol: 2e-5, atol: 1e-7 });
      await expectTwin(`logSoftmax [${shape}]`, values, shape, (be, x) => be.logSoftmax(x), { rtol: 2e-5, atol: 2e-6 });
      const sums = await b.gpu.reduce('sum', b.gpu.softmax(b.gpu.tensor(values, shape)), -1).read();
      expectClose(sums, new Float32Array(sums.length).fill(1), { rtol: 0, atol: 2e-6 }, `softmax [${shape}] row sums`);
    }
  });

  it('softmax of logits at ±1000 stays finite', async () => {
    for (const rowLen of [4, 400]) {
      const values = Array.from({ length: 2 * rowLen }, (_, i) => [1000, -1000, 999, 0][i % 4]);
      for (const log of [false, true]) {
        await expectTwin(
          `${log ? 'logSoftmax' : 'softmax'} ±1000 row ${rowLen}`,
          values,
          [2, rowLen],
          (be, x) => (log ? be.logSoftmax(x) : be.softmax(x)),
          {
            rtol: 1e-5,
            atol: 1e-6,
          },
        );
        const got = await (
          log ? b.gpu.logSoftmax(b.gpu.tensor(values, [2, rowLen])) : b.gpu.softmax(b.gpu.tensor(values, [2, rowLen]))
        ).read();
        for (const v of got) expect(Number.isFinite(v)).toBe(true);
      }
    }
  });
});

describe('reduce: errors', () => {
  for (const which of ['cpu', 'gpu'] as const) {
    it(`${which}: bad axes and dtypes give clear ShapeErrors`, () => {
      const be = b[which];
      const x = be.zeros([2, 3]);
      expect(() => be.reduce('sum', x, 2)).toThrow(ShapeError);
      expect(() => be.reduce('sum', x, 2)).toThrow(/reduce sum: axis 2 is out of range for a tensor of shape \[2, 3\]/);
      expect(() => be.reduce('max', x, -3)).toThrow(/axis -3/);
      expect(() => be.reduce('mean', x, 0.5)).toThrow(ShapeError);
      expect(() => be.argmax(x, 5)).toThrow(/argmax: axis 5 is out of range/);
      expect(() => be.argmax(be.zeros([2, 0]), 1)).toThrow(/empty/);
      expect(() => be.softmax(be.zeros([]))).toThrow(/softmax: expected rank at least 1/);
      expect(() => be.reduce('sum', be.zeros([3], 'int32'), 0)).toThrow(/int32/);
      expect(() => be.reduce('prod' as ReduceOp, x, 0)).toThrow(/unknown op "prod"/);
    });
  }

  it('gpu: empty axes give the identity as on the CPU', async () => {
    for (const op of OPS) {
      const got = await b.gpu.reduce(op, b.gpu.zeros([3, 0]), 1).read();
      const want = b.cpu.readSync(b.cpu.reduce(op, b.cpu.zeros([3, 0]), 1));
      expect(Array.from(got), op).toEqual(Array.from(want));
    }
    expect(b.gpu.reduce('sum', b.gpu.zeros([0, 4]), 0).shape).toEqual([4]);
  });
});

describe('reduce: memory', () => {
  for (const which of ['cpu', 'gpu'] as const) {
    it(`${which}: 100 reductions inside scope() leave liveTensors flat`, async () => {
      const be = b[which];
      const x = be.tensor(new Rng(16).normalArray(2 * 3000), [2, 3000]);
      const before = be.memory().liveTensors;
      for (let step = 0; step < 100; step++) {
        scope(() => {
          be.reduce('mean', x, null); // multi-pass: intermediates must not leak
          be.reduce('sum', x, 0, true);
          be.argmax(x, 1);
          be.logSoftmax(x);
        });
      }
      expect(be.memory().liveTensors).toBe(before);
      await be.sync();
      x.dispose();
    });
  }
});
