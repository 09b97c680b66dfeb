// Elementwise family: the CPU twin against hand-computed values, then every WebGPU kernel against
// the CPU twin on awkward sizes and a broadcast zoo, extreme inputs, errors, and scope hygiene.
import { describe, expect, it } from 'vitest';
import type { Backend, BinaryOp, UnaryOp } from '../../src/engine/backend/backend.ts';
import { scope, type Shape, type Tensor } from '../../src/engine/tensor.ts';
import { Rng } from '../../src/engine/random.ts';
import { BINARY_OPS, UNARY_OPS, collapseBroadcast } from '../../src/engine/shape-rules/elementwise.ts';
import { ShapeError } from '../../src/engine/shape-rules/shape.ts';
import { AWKWARD_SIZES, useBackends } from '../helpers/backends.ts';
import { expectClose, type Tolerance } from '../helpers/compare.ts';

const b = useBackends();

const size = (shape: Shape): number => shape.reduce((p, d) => p * d, 1);
const f32 = (xs: readonly number[]): number[] => xs.map(Math.fround);

/** Runs `op` on both backends with the same inputs and checks the GPU result against the CPU twin. */
async function expectTwin(
  label: string,
  inputs: { values: ArrayLike<number>; shape: Shape; dtype?: 'float32' | 'int32' }[],
  op: (be: Backend, ...xs: Tensor[]) => Tensor,
  tol: Tolerance = {},
): Promise<void> {
  const run = (be: Backend) =>
    scope(() => {
      const out = op(be, ...inputs.map((i) => be.tensor(i.values, i.shape, i.dtype ?? 'float32')));
      return out;
    });
  const want = run(b.cpu);
  const got = run(b.gpu);
  expect(got.shape, `${label}: shape`).toEqual(want.shape);
  expect(got.dtype, `${label}: dtype`).toBe(want.dtype);
  expectClose(await got.read(), b.cpu.readSync(want), tol, label);
  want.dispose();
  got.dispose();
}

/** Data suited to each unary op's domain. */
function unaryInput(op: UnaryOp, n: number, rng: Rng): Float64Array {
  if (op === 'log' || op === 'sqrt' || op === 'rsqrt') return rng.uniformArray(n, 0.01, 10);
  if (op === 'reciprocal') return rng.uniformArray(n, 0.1, 4).map((v, i) => (i % 2 ? -v : v));
  if (op === 'exp') return rng.uniformArray(n, -8, 8);
  const x = rng.normalArray(n, 3);
  if (n > 2) x[1] = 0; // sign(0), relu(0)
  return x;
}

describe('elementwise: CPU twin against hand-computed values', () => {
  it('unary ops', () => {
    const x = b.cpu.tensor([-2, -0.5, 0, 0.5, 2], [5]);
    const run = (op: UnaryOp) => Array.from(b.cpu.readSync(b.cpu.unary(op, x)));
    expect(run('neg')).toEqual([2, 0.5, -0, -0.5, -2]);
    expect(run('abs')).toEqual([2, 0.5, 0, 0.5, 2]);
    expect(run('square')).toEqual([4, 0.25, 0, 0.25, 4]);
    expect(run('sign')).toEqual([-1, -1, 0, 1, 1]);
    expect(run('relu')).toEqual([0, 0, 0, 0.5, 2]);
    expectClose(
      run('sigmoid'),
      f32([1 / (1 + Math.E ** 2), 1 / (1 + Math.E ** 0.5), 0.5, 1 / (1 + Math.E ** -0.5), 1 / (1 + Math.E ** -2)]),
    );
    expectClose(run('tanh'), f32([-2, -0.5, 0, 0.5, 2].map(Math.tanh)));
    // GELU (tanh form) at ±0.5, ±2: reference values of 0.5·x·(1 + tanh(√(2/π)(x + 0.044715x³))).
    expectClose(run('gelu'), [-0.045402306, -0.15428599, 0, 0.34571401, 1.9545977], { rtol: 1e-6 });
    const p = b.cpu.tensor([0.25, 4, 1e-4], [3]);
    expectClose(b.cpu.readSync(b.cpu.unary('sqrt', p)), [0.5, 2, 0.01]);
    expectClose(b.cpu.readSync(b.cpu.unary('rsqrt', p)), [2, 0.5, 100]);
    expectClose(b.cpu.readSync(b.cpu.unary('reciprocal', p)), [4, 0.25, 10000], { rtol: 1e-6 });
    expectClose(b.cpu.readSync(b.cpu.unary('log', p)), f32([Math.log(0.25), Math.log(4), Math.log(1e-4)]));
    expectClose(b.cpu.readSync(b.cpu.unary('exp', p)), f32([Math.exp(0.25), Math.exp(4), Math.exp(1e-4)]));
    // The small-|x| series of tanh keeps full relative precision.
    expectClose(b.cpu.readSync(b.cpu.unary('tanh', b.cpu.tensor([1e-4, -0.06], [2]))), f32([Math.tanh(1e-4), Math.tanh(-0.06)]), {
      rtol: 1e-7,
      atol: 0,
    });
  });

  it('binary ops with broadcasting', () => {
    const a = b.cpu.tensor([1, 2, 3], [3]);
    const c = b.cpu.tensor([10, 20], [2, 1]);
    expect(Array.from(b.cpu.readSync(b.cpu.binary('add', a, c)))).toEqual([11, 12, 13, 21, 22, 23]);
    expect(Array.from(b.cpu.readSync(b.cpu.binary('sub', c, a)))).toEqual([9, 8, 7, 19, 18, 17]);
    expect(b.cpu.binary('mul', a, c).shape).toEqual([2, 3]);
    const x = b.cpu.tensor([-2, -2, -2, 3, 0, 5], [6]);
    const y = b.cpu.tensor([3, 2, 0.5, 2, -1, 5], [6]);
    const pow = Array.from(b.cpu.readSync(b.cpu.binary('pow', x, y)));
    expect(pow.slice(0, 2)).toEqual([-8, 4]);
    expect(pow[2]).toBeNaN();
    expect(pow.slice(3)).toEqual([9, Infinity, 3125]);
    expect(Array.from(b.cpu.readSync(b.cpu.binary('greater', x, y)))).toEqual([0, 0, 0, 1, 1, 0]);
    expect(Array.from(b.cpu.readSync(b.cpu.binary('equal', x, y)))).toEqual([0, 0, 0, 0, 0, 1]);
    expect(Array.from(b.cpu.readSync(b.cpu.binary('max', x, y)))).toEqual([3, 2, 0.5, 3, 0, 5]);
    expect(Array.from(b.cpu.readSync(b.cpu.binary('min', x, y)))).toEqual([-2, -2, -2, 2, -1, 5]);
    expect(Array.from(b.cpu.readSync(b.cpu.binary('div', b.cpu.tensor([1, 3], [2]), b.cpu.tensor([4], [1]))))).toEqual([0.25, 0.75]);
    // float64 wins over float32 (CPU precision checks stay exact).
    const d = b.cpu.binary('add', b.cpu.tensor([1 / 3], [1], 'float64'), b.cpu.tensor([1], [1]));
    expect(d.dtype).toBe('float64');
    expect(b.cpu.readSync(d)[0]).toBe(1 / 3 + 1);
  });

  it('binaryScalar, where and the broadcast collapse', () => {
    const x = b.cpu.tensor([1, 2, 4], [3]);
    expect(Array.from(b.cpu.readSync(b.cpu.binaryScalar('sub', x, 1)))).toEqual([0, 1, 3]);
    expect(Array.from(b.cpu.readSync(b.cpu.binaryScalar('sub', x, 1, true)))).toEqual([0, -1, -3]);
    expect(Array.from(b.cpu.readSync(b.cpu.binaryScalar('div', x, 8, true)))).toEqual([8, 4, 2]);
    // The scalar is rounded to the tensor's precision, as on the GPU.
    expect(Array.from(b.cpu.readSync(b.cpu.binaryScalar('equal', b.cpu.tensor([0.1, 0.2], [2]), 0.1)))).toEqual([1, 0]);
    const cond = b.cpu.tensor([1, 0, -0, 2], [2, 2]);
    const w = b.cpu.where(cond, b.cpu.tensor([10, 20], [2]), b.cpu.tensor([-1], [1]));
    expect(w.shape).toEqual([2, 2]);
    expect(Array.from(b.cpu.readSync(w))).toEqual([10, -1, -1, 20]);
    const wi = b.cpu.where(b.cpu.tensor([0, 7], [2], 'int32'), b.cpu.tensor([1, 2], [2]), b.cpu.tensor([3, 4], [2]));
    expect(Array.from(b.cpu.readSync(wi))).toEqual([3, 2]);
    expect(collapseBroadcast([4, 5, 6], [[4, 5, 6], [1]])).toEqual({ shape: [120], strides: [[1], [0]] });
    expect(collapseBroadcast([63, 17], [[17], [63, 17]])).toEqual({
      shape: [63, 17],
      strides: [
        [0, 1],
        [17, 1],
      ],
    });
    expect(
      collapseBroadcast(
        [3, 4, 5],
        [
          [3, 1, 5],
          [1, 4, 1],
        ],
      ),
    ).toEqual({
      shape: [3, 4, 5],
      strides: [
        [5, 0, 1],
        [0, 1, 0],
      ],
    });
    expect(
      collapseBroadcast(
        [2, 1, 3, 4],
        [
          [2, 1, 3, 4],
          [3, 4],
        ],
      ),
    ).toEqual({
      shape: [2, 12],
      strides: [
        [12, 1],
        [0, 1],
      ],
    });
  });
});

describe('elementwise: WebGPU against the CPU twin', () => {
  it('every unary op on awkward sizes', async () => {
    const rng = new Rng(1);
    for (const op of UNARY_OPS) {
      for (const n of [...AWKWARD_SIZES, 1000]) {
        const shape = n === 1000 ? [8, 5, 25] : [n];
        await expectTwin(`${op} [${shape}]`, [{ values: unaryInput(op, n, rng), shape }], (be, x) => be.unary(op, x), {
          rtol: 2e-6 * 8,
          atol: 1e-6,
        });
      }
    }
  });

  it('unary ops at extreme inputs stay finite and saturate', async () => {
    const xs = [-1e4, -100, -30, -10, -1e-5, 0, 1e-5, 10, 30, 100, 1e4];
    for (const op of ['tanh', 'sigmoid', 'gelu'] as const) {
      await expectTwin(op, [{ values: xs, shape: [xs.length] }], (be, x) => be.unary(op, x), { rtol: 1e-5, atol: 1e-6 });
      const got = await b.gpu.unary(op, b.gpu.tensor(xs, [xs.length])).read();
      for (const v of got) expect(Number.isFinite(v), `${op} gave ${v}`).toBe(true);
    }
    const tanh = await b.gpu.unary('tanh', b.gpu.tensor([-100, 100], [2])).read();
    expect(Array.from(tanh)).toEqual([-1, 1]);
    const sig = await b.gpu.unary('sigmoid', b.gpu.tensor([-100, 100], [2])).read();
    expect(sig[0]).toBeLessThan(1e-30);
    expect(sig[1]).toBe(1);
  });

  it('every binary op on equal shapes and scalar-shaped operands', async () => {
    const rng = new Rng(2);
    for (const op of BINARY_OPS) {
      for (const n of AWKWARD_SIZES) {
        for (const [sa, sb] of [
          [[n], [n]],
          [[n], [1]],
          [[1], [n]],
          [[], [n]],
        ] as Shape[][]) {
          await expectTwin(
            `${op} [${sa}]×[${sb}]`,
            [binaryInput(op, sa, rng, 0), binaryInput(op, sb, rng, 1)],
            (be, x, y) => be.binary(op, x, y),
            {
              rtol: op === 'pow' ? 1e-5 : 1e-6,
            },
          );
        }
      }
    }
  });

  it('every binary op on a broadcast zoo up to rank 8', async () => {
    const rng = new Rng(3);
    const zoo: [Shape, Shape][] = [
      [
        [3, 1, 5],
        [1, 4, 1],
      ],
      [[17], [63, 17]],
      [[63, 17], [17]],
      [
        [65, 1],
        [1, 130],
      ],
      [
        [2, 3, 4, 5],
        [3, 1, 5],
      ],
      [
        [2, 1, 3, 1, 5],
        [1, 4, 1, 6, 1],
      ],
      [
        [2, 1, 2, 1, 2, 1, 2, 1],
        [1, 2, 1, 2, 1, 2, 1, 3],
      ],
      [[1], [3, 17]],
      [[4, 1, 1], [1]],
      [
        [1, 1],
        [1, 1, 1],
      ],
    ];
    for (const op of BINARY_OPS) {
      for (const [sa, sb] of zoo) {
        await expectTwin(
          `${op} [${sa}]×[${sb}]`,
          [binaryInput(op, sa, rng, 0), binaryInput(op, sb, rng, 1)],
          (be, x, y) => be.binary(op, x, y),
          {
            rtol: op === 'pow' ? 1e-5 : 1e-6,
          },
        );
      }
    }
  });

  it('pow follows Math.pow on negative bases and zero', async () => {
    const x = [-2, -2, -2, -3, 0, 0, 5, 2, -1.5];
    const y = [3, 2, 0.5, -1, 2, 0, 0, 10, 4];
    const got = await b.gpu.binary('pow', b.gpu.tensor(x, [9]), b.gpu.tensor(y, [9])).read();
    expectClose(Array.from(got).slice(0, 2), [-8, 4], { rtol: 1e-6 });
    expect(got[2]).toBeNaN();
    expectClose(Array.from(got).slice(3), f32([-1 / 3, 0, 1, 1, 1024, 5.0625]), { rtol: 1e-6 });
  });

  it('binaryScalar: every op, both orders', async () => {
    const rng = new Rng(4);
    for (const op of BINARY_OPS) {
      for (const n of [1, 17, 130]) {
        for (const scalarFirst of [false, true]) {
          const s = op === 'pow' ? (scalarFirst ? 1.7 : -2) : op === 'equal' ? 1 : 0.37;
          const input = binaryInput(op, [n], rng, scalarFirst ? 1 : 0);
          await expectTwin(
            `${op} scalar ${scalarFirst ? 'first' : 'second'} [${n}]`,
            [input],
            (be, x) => be.binaryScalar(op, x, s, scalarFirst),
            {
              rtol: op === 'pow' ? 1e-5 : 1e-6,
            },
          );
        }
      }
    }
    // A scalar that float32 cannot hold compares equal to its rounding, on both backends.
    const eq = await b.gpu.binaryScalar('equal', b.gpu.tensor([0.1, 0.2], [2]), 0.1).read();
    expect(Array.from(eq)).toEqual([1, 0]);
  });

  it('where broadcasts condition and values; float and int32 conditions', async () => {
    const rng = new Rng(5);
    const cases: [Shape, Shape, Shape][] = [
      [[65], [65], [65]],
      [[130], [1], [130]],
      [[1], [63], [63]],
      [[3, 1, 5], [1, 4, 1], [5]],
      [
        [17, 1],
        [1, 63],
        [17, 63],
      ],
      [
        [2, 1, 3, 1],
        [1, 4, 1, 5],
        [2, 4, 3, 1],
      ],
    ];
    for (const dtype of ['float32', 'int32'] as const) {
      for (const [sc, sa, sb] of cases) {
        const cond = Array.from({ length: size(sc) }, (_, i) => (dtype === 'int32' ? rng.int(3) - 1 : [0, -0, 1.5, -2][i % 4]));
        await expectTwin(
          `where ${dtype} [${sc}] [${sa}] [${sb}]`,
          [
            { values: cond, shape: sc, dtype },
            { values: rng.normalArray(size(sa)), shape: sa },
            { values: rng.normalArray(size(sb)), shape: sb },
          ],
          (be, c, x, y) => be.where(c, x, y),
          { rtol: 0, atol: 0 },
        );
      }
    }
  });

  it('cast between float32 and int32 (truncation toward zero)', async () => {
    const xs = [-2.7, -2.5, -0.5, -0, 0.5, 2.5, 2.7, 1e6 + 0.5, -123456.9, 16777216];
    await expectTwin('float32→int32', [{ values: xs, shape: [xs.length] }], (be, x) => be.cast(x, 'int32'), { rtol: 0, atol: 0 });
    const asInt = await b.gpu.cast(b.gpu.tensor(xs, [xs.length]), 'int32').read();
    expect(asInt).toBeInstanceOf(Int32Array);
    expect(Array.from(asInt)).toEqual([-2, -2, 0, 0, 0, 2, 2, 1000000, -123456, 16777216]);
    const ints = [-2147483648, -7, 0, 3, 16777217, 2147483647];
    await expectTwin('int32→float32', [{ values: ints, shape: [2, 3], dtype: 'int32' }], (be, x) => be.cast(x, 'float32'), {
      rtol: 0,
      atol: 0,
    });
    const same = b.gpu.cast(b.gpu.tensor([1.5, -2], [2]), 'float32');
    expect(Array.from(await same.read())).toEqual([1.5, -2]);
    expect(() => b.gpu.cast(same, 'float64')).toThrow(/float64/);
    expect(b.gpu.cast(b.gpu.zeros([0]), 'int32').shape).toEqual([0]);
  });

  it('a large array takes the 2-D grid (more than 65535 workgroups)', async () => {
    const n = 65536 * 256 + 3;
    const values = new Float32Array(n);
    for (let i = 0; i < n; i++) values[i] = (i % 1001) - 500;
    const x = b.gpu.tensor(values, [n]);
    const y = b.gpu.binaryScalar('mul', x, 2);
    const got = await y.read();
    for (const i of [0, 1, 65535 * 256 - 1, 65535 * 256, n - 2, n - 1]) expect(got[i], `element ${i}`).toBe(2 * values[i]);
    x.dispose();
    y.dispose();
  });
});

describe('elementwise: errors', () => {
  for (const which of ['cpu', 'gpu'] as const) {
    it(`${which}: non-broadcastable shapes and int32 inputs give clear ShapeErrors`, () => {
      const be = b[which];
      const a = be.zeros([2, 3]);
      const c = be.zeros([4]);
      expect(() => be.binary('add', a, c)).toThrow(ShapeError);
      expect(() => be.binary('add', a, c)).toThrow(/binary add: shapes \[2, 3\] and \[4\] do not broadcast/);
      expect(() => be.where(be.zeros([5]), a, a)).toThrow(/where: shapes \[5\] and \[2, 3\] and \[2, 3\] do not broadcast/);
      const i = be.zeros([3], 'int32');
      expect(() => be.unary('exp', i)).toThrow(/unary exp: expected a float32 or float64 tensor, got int32/);
      expect(() => be.binary('mul', be.zeros([3]), i)).toThrow(ShapeError);
      expect(() => be.binaryScalar('add', i, 1)).toThrow(/cast it to float32/);
      expect(() => be.unary('cube' as UnaryOp, a)).toThrow(/unknown op "cube"/);
      expect(() => be.binary('mod' as BinaryOp, a, a)).toThrow(/unknown op "mod"/);
      [a, c, i].forEach((t) => t.dispose());
    });
  }

  it('gpu: a broadcast needing more than 8 dims is refused, the CPU computes it', () => {
    const sa = [2, 1, 2, 1, 2, 1, 2, 1, 2];
    const sb = [1, 2, 1, 2, 1, 2, 1, 2, 1];
    expect(() => b.gpu.binary('add', b.gpu.zeros(sa), b.gpu.zeros(sb))).toThrow(/at most 8/);
    expect(b.cpu.binary('add', b.cpu.zeros(sa), b.cpu.zeros(sb)).shape).toEqual(new Array(9).fill(2));
  });
});

describe('elementwise: memory', () => {
  for (const which of ['cpu', 'gpu'] as const) {
    it(`${which}: 100 ops inside scope() leave liveTensors flat`, async () => {
      const be = b[which];
      const x = be.tensor(new Rng(6).normalArray(130), [10, 13]);
      const before = be.memory().liveTensors;
      for (let step = 0; step < 100; step++) {
        scope(() => {
          const y = be.unary('tanh', x);
          const z = be.binary('mul', y, be.tensor([2], [1]));
          const w = be.where(be.binaryScalar('greater', z, 0), z, be.binaryScalar('mul', z, 0.1));
          be.binary('add', w, be.zeros([13]));
        });
      }
      expect(be.memory().liveTensors).toBe(before);
      await be.sync();
      x.dispose();
    });
  }
});

/** Operand data for a binary op: divisors away from 0, positive bases for pow, ties for equal/max. */
function binaryInput(op: BinaryOp, shape: Shape, rng: Rng, side: 0 | 1): { values: ArrayLike<number>; shape: Shape } {
  const n = size(shape);
  let values: Float64Array;
  if (op === 'pow') values = side === 0 ? rng.uniformArray(n, 0.1, 3) : rng.uniformArray(n, -2, 3);
  else if (op === 'div' && side === 1) values = rng.uniformArray(n, 0.5, 2).map((v, i) => (i % 2 ? -v : v));
  else if (op === 'equal' || op === 'greater' || op === 'max' || op === 'min')
    values = Float64Array.from({ length: n }, () => rng.int(3) - 1);
  else values = rng.normalArray(n);
  return { values, shape };
}
