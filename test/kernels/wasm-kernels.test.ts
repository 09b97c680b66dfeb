// Every WASM kernel against the reference CPU backend (the oracle), on awkward shapes that miss
// every tile of the matmul kernel (4×8 micro-tiles, 128/256/1024 blocks) and the SIMD width (4).
// The CPU runs on the same float32 inputs; tolerances are float32 ones.
import { afterAll, describe, expect, it } from 'vitest';
import type { MatmulOptions, UnaryOp } from '../../src/engine/backend/backend.ts';
import { CpuBackend } from '../../src/engine/backend/cpu/cpu-backend.ts';
import { WasmBackend } from '../../src/engine/backend/wasm/wasm-backend.ts';
import { sizeOf, type Shape, type Tensor } from '../../src/engine/tensor.ts';
import { BINARY_OPS, UNARY_OPS } from '../../src/engine/shape-rules/elementwise.ts';
import { ShapeError } from '../../src/engine/shape-rules/shape.ts';
import { Rng } from '../../src/engine/random.ts';
import { AWKWARD_SIZES } from '../helpers/backends.ts';
import { expectClose, type Tolerance } from '../helpers/compare.ts';

const cpu = new CpuBackend();
const wasm = new WasmBackend();
const rng = new Rng(12);
afterAll(() => {
  cpu.destroy();
  wasm.destroy();
});

/** The same float32 values on both backends. */
function pair(shape: Shape, lo = -2, hi = 2): [Tensor, Tensor] {
  const values = Float32Array.from(rng.uniformArray(sizeOf(shape), lo, hi));
  return [cpu.tensor(values, shape), wasm.tensor(values, shape)];
}

function intPair(values: number[]): [Tensor, Tensor] {
  return [cpu.tensor(values, [values.length], 'int32'), wasm.tensor(values, [values.length], 'int32')];
}

/** Compare a WASM result with the reference: same shape and dtype, values within tol (NaN = NaN, ±∞ exact). */
function same(actual: Tensor, expected: Tensor, tol: Tolerance, label: string): void {
  expect(actual.shape, `${label}: shape`).toEqual(expected.shape);
  expect(actual.dtype, `${label}: dtype`).toBe(expected.dtype);
  const a = wasm.readSync(actual);
  const e = cpu.readSync(expected);
  const finiteA: number[] = [];
  const finiteE: number[] = [];
  for (let i = 0; i < e.length; i++) {
    if (Number.isFinite(e[i])) {
      finiteA.push(a[i]);
      finiteE.push(e[i]);
    } else
      expect(
        Object.is(a[i], e[i]) || (Number.isNaN(a[i]) && Number.isNaN(e[i])),
        `${label}: element ${i} is ${a[i]}, expected ${e[i]}`,
      ).toBe(true);
  }
  expectClose(finiteA, finiteE, tol, label);
  actual.dispose();
  expected.dispose();
}

const F32: Tolerance = { rtol: 2e-6, atol: 1e-7 };

describe('wasm elementwise', () => {
  const inputs: Partial<Record<UnaryOp, [number, number]>> = { log: [0.01, 5], sqrt: [0, 5], rsqrt: [0.01, 5], reciprocal: [0.1, 3] };
  for (const op of UNARY_OPS) {
    it(`unary ${op} on sizes ${AWKWARD_SIZES.join(', ')}`, () => {
      for (const n of AWKWARD_SIZES) {
        const [lo, hi] = inputs[op] ?? [-6, 6];
        const [c, w] = pair([n, 3], lo, hi);
        same(wasm.unary(op, w), cpu.unary(op, c), F32, `${op} [${n}, 3]`);
      }
    });
  }

  it('unary keeps NaN, ±∞ and ±0 as the reference does', () => {
    const values = [NaN, Infinity, -Infinity, 0, -0, 1e-30, -1e30];
    for (const op of UNARY_OPS) {
      same(wasm.unary(op, wasm.tensor(values, [7])), cpu.unary(op, cpu.tensor(values, [7])), F32, `${op} specials`);
    }
  });

  const broadcasts: [Shape, Shape][] = [
    [[17], [17]],
    [[63, 65], [65]],
    [
      [65, 1],
      [1, 63],
    ],
    [
      [3, 1, 17],
      [1, 5, 1],
    ],
    [
      [2, 3, 4, 5],
      [3, 1, 5],
    ],
    [[130], []],
    [[], [3, 17]],
    [[1], [1]],
  ];
  for (const op of BINARY_OPS) {
    it(`binary ${op} with broadcasting`, () => {
      for (const [sa, sb] of broadcasts) {
        const [ca, wa] = pair(sa, op === 'pow' ? 0.1 : -2, 2);
        const [cb, wb] = pair(sb);
        same(wasm.binary(op, wa, wb), cpu.binary(op, ca, cb), F32, `${op} ${JSON.stringify(sa)}×${JSON.stringify(sb)}`);
      }
    });
  }

  it('binaryScalar in both orders, and where with float and int conditions', () => {
    for (const op of BINARY_OPS) {
      for (const n of AWKWARD_SIZES) {
        const [c, w] = pair([n], op === 'pow' ? 0.1 : -2, 2);
        same(wasm.binaryScalar(op, w, 0.7), cpu.binaryScalar(op, c, 0.7), F32, `${op} x∘s [${n}]`);
        same(wasm.binaryScalar(op, w, 1.3, true), cpu.binaryScalar(op, c, 1.3, true), F32, `${op} s∘x [${n}]`);
      }
    }
    const [cc, wc] = pair([17, 1], -1, 1);
    const [ca, wa] = pair([17, 3]);
    const [cb, wb] = pair([3]);
    const ccond = cpu.binaryScalar('greater', cc, 0);
    const wcond = wasm.binaryScalar('greater', wc, 0);
    same(wasm.where(wcond, wa, wb), cpu.where(ccond, ca, cb), F32, 'where float cond');
    const [ci, wi] = intPair([0, 1, 0, -3, 0, 7, 0, 0, 1, 0, 2, 0, 0, 5, 0, 0, 9]);
    same(wasm.where(wasm.reshape(wi, [17, 1]), wa, wb), cpu.where(cpu.reshape(ci, [17, 1]), ca, cb), F32, 'where int cond');
    same(
      wasm.where(wasm.tensor([1], []), wasm.tensor([2], []), wasm.tensor([3], [])),
      cpu.where(cpu.tensor([1], []), cpu.tensor([2], []), cpu.tensor([3], [])),
      F32,
      'where scalars',
    );
  });

  it('cast between float32 and int32', () => {
    const values = [-2.7, -0.5, 0, 0.5, 2.7, 1e5, -1e5];
    same(wasm.cast(wasm.tensor(values, [7]), 'int32'), cpu.cast(cpu.tensor(values, [7]), 'int32'), {}, 'f32→i32');
    const [ci, wi] = intPair([-3, 0, 5, 123456]);
    same(wasm.cast(wi, 'float32'), cpu.cast(ci, 'float32'), {}, 'i32→f32');
    expect(() => wasm.tensor([1], [1], 'float64')).toThrow(/no float64/);
  });

  it('rejects int32 operands with the shared shape rules', () => {
    const [, wi] = intPair([1, 2]);
    expect(() => wasm.unary('exp', wi)).toThrow(ShapeError);
  });
});

describe('wasm reductions and softmax', () => {
  const shapes: Shape[] = [[1], [3, 17], [17, 63, 3], [65, 130], [2, 3, 65], [130, 1, 5]];
  it('sum, mean and max over every axis and over everything', () => {
    for (const shape of shapes) {
      for (const op of ['sum', 'mean', 'max'] as const) {
        for (let axis = -1; axis < shape.length; axis++) {
          const [c, w] = pair(shape);
          const a = axis < 0 ? null : axis;
          same(
            wasm.reduce(op, w, a, axis === 0),
            cpu.reduce(op, c, a, axis === 0),
            { rtol: 1e-6, atol: 1e-6 },
            `${op} ${JSON.stringify(shape)} axis ${a}`,
          );
        }
      }
    }
  });

  it('reduces empty axes to the identity and a long axis accurately', () => {
    const ce = cpu.zeros([3, 0]);
    const we = wasm.zeros([3, 0]);
    for (const op of ['sum', 'mean', 'max'] as const) same(wasm.reduce(op, we, 1), cpu.reduce(op, ce, 1), {}, `${op} empty`);
    const [c, w] = pair([100003], 0, 1);
    same(wasm.reduce('sum', w, null), cpu.reduce('sum', c, null), { rtol: 1e-7 }, 'long sum');
  });

  it('argmax (first index on ties), softmax and logSoftmax', () => {
    for (const shape of shapes) {
      for (let axis = 0; axis < shape.length; axis++) {
        const [c, w] = pair(shape);
        same(wasm.argmax(w, axis), cpu.argmax(c, axis), {}, `argmax ${JSON.stringify(shape)} ${axis}`);
      }
      const [c, w] = pair(shape, -30, 30);
      same(wasm.softmax(w), cpu.softmax(c), F32, `softmax ${JSON.stringify(shape)}`);
      same(wasm.logSoftmax(w), cpu.logSoftmax(c), { rtol: 2e-6, atol: 2e-6 }, `logSoftmax ${JSON.stringify(shape)}`);
    }
    const ties = [1, 3, 3, 2];
    same(wasm.argmax(wasm.tensor(ties, [4]), 0), cpu.argmax(cpu.tensor(ties, [4]), 0), {}, 'argmax ties');
  });

  it('sharedReduce (mean and sum over the weight-sharing dim)', () => {
    for (const [n, r, d] of [
      [1, 1, 1],
      [3, 17, 65],
      [5, 63, 3],
      [2, 130, 17],
    ]) {
      const [c, w] = pair([n, r, d]);
      for (const op of ['mean', 'sum'] as const)
        same(wasm.sharedReduce(w, op), cpu.sharedReduce(c, op), { rtol: 1e-6, atol: 1e-6 }, `sharedReduce ${op} [${n}, ${r}, ${d}]`);
    }
  });
});

describe('wasm matmul', () => {
  const combos: MatmulOptions[] = [{}, { transA: true }, { transB: true }, { transA: true, transB: true }];
  function check(m: number, n: number, k: number, o: MatmulOptions, aBatch: Shape = [], bBatch: Shape = []): void {
    const [ca, wa] = pair([...aBatch, ...(o.transA ? [k, m] : [m, k])], -1, 1);
    const [cb, wb] = pair([...bBatch, ...(o.transB ? [n, k] : [k, n])], -1, 1);
    const label = `${m}×${k}·${k}×${n} ${JSON.stringify(o)} batch ${JSON.stringify(aBatch)}×${JSON.stringify(bBatch)}`;
    same(wasm.matmul(wa, wb, o), cpu.matmul(ca, cb, o), { rtol: 1e-5, atol: 3e-6 * Math.sqrt(Math.max(k, 1)) }, label);
    for (const t of [ca, wa, cb, wb]) t.dispose();
  }

  for (const o of combos) {
    it(`every transpose combination ${JSON.stringify(o)} on awkward sizes`, () => {
      for (const m of AWKWARD_SIZES) for (const n of [1, 3, 17, 65, 130]) check(m, n, [1, 17, 63, 130][(m + n) % 4], o);
      // Deeper than one packed block (256) and wider than one column block (1024).
      check(33, 1030, 300, o);
      check(130, 9, 513, o);
    });
  }

  it('broadcasts batch dims and handles empty and k = 0 products', () => {
    check(17, 5, 3, {}, [2, 3], [3]);
    check(3, 65, 17, { transB: true }, [1, 4], [3, 1]);
    check(5, 7, 9, { transA: true }, [], [2, 1, 3]);
    check(4, 3, 0, {}, [2], [2]);
    check(0, 3, 4, {});
  });
});

describe('wasm layout and indexing', () => {
  it('permute, slice and concat (float and int)', () => {
    const [c, w] = pair([3, 17, 5, 2]);
    for (const perm of [
      [0, 1, 2, 3],
      [3, 2, 1, 0],
      [0, 2, 1, 3],
      [1, 0, 3, 2],
      [2, 0, 3, 1],
    ]) {
      same(wasm.permute(w, perm), cpu.permute(c, perm), {}, `permute ${perm}`);
    }
    same(wasm.slice(w, [1, 3, 0, 1], [2, 13, -1, 1]), cpu.slice(c, [1, 3, 0, 1], [2, 13, -1, 1]), {}, 'slice');
    same(wasm.slice(w, [0, 17, 0, 0], [3, 0, 5, 2]), cpu.slice(c, [0, 17, 0, 0], [3, 0, 5, 2]), {}, 'empty slice');
    const [c2, w2] = pair([3, 65, 5, 2]);
    for (const axis of [0, 1, 2, 3]) {
      const [c3, w3] = pair([3, 17, 5, 2].map((d, k) => (k === axis ? 1 : d)));
      const ci = axis === 1 ? [c, c2, c3] : [c, c3];
      const wi = axis === 1 ? [w, w2, w3] : [w, w3];
      same(wasm.concat(wi, axis), cpu.concat(ci, axis), {}, `concat axis ${axis}`);
    }
    const [ci, wi] = intPair([5, 6, 7, 8, 9, 10]);
    same(wasm.permute(wasm.reshape(wi, [2, 3]), [1, 0]), cpu.permute(cpu.reshape(ci, [2, 3]), [1, 0]), {}, 'int permute');
  });

  it('gather and scatterAdd with repeated indices, and out-of-range indices as errors', () => {
    const [c, w] = pair([17, 3, 5]);
    const idx = [0, 16, 3, 3, 9, 0, 1, 16, 12, 5, 5, 5, 2];
    const [ci, wi] = intPair(idx);
    same(wasm.gather(w, wi), cpu.gather(c, ci), {}, 'gather');
    const [cs, ws] = pair([idx.length, 3, 5]);
    same(wasm.scatterAdd(ws, wi, 17), cpu.scatterAdd(cs, ci, 17), F32, 'scatterAdd');
    const [, bad] = intPair([0, 17]);
    expect(() => wasm.gather(w, bad)).toThrow(/out of range/);
    expect(() => wasm.scatterAdd(wasm.zeros([2, 1]), bad, 17)).toThrow(/out of range/);
  });

  it('im2col and col2im with stride, padding and dilation', () => {
    const geometries = [
      { shape: [2, 3, 17, 13], g: { kernelH: 3, kernelW: 3, padH: 1, padW: 1 } },
      { shape: [1, 1, 5, 5], g: { kernelH: 1, kernelW: 1 } },
      { shape: [3, 2, 17, 17], g: { kernelH: 5, kernelW: 3, strideH: 2, strideW: 3, padH: 2, padW: 0, dilationH: 1, dilationW: 2 } },
      { shape: [2, 4, 9, 9], g: { kernelH: 4, kernelW: 4, strideH: 4, strideW: 4 } },
    ];
    for (const { shape, g } of geometries) {
      const [c, w] = pair(shape);
      const cc = cpu.im2col(c, g);
      const wc = wasm.im2col(w, g);
      expect(wasm.readSync(wc)).toEqual(Float32Array.from(cpu.readSync(cc)));
      const [ccols, wcols] = pair(cc.shape);
      same(wasm.col2im(wcols, shape, g), cpu.col2im(ccols, shape, g), { rtol: 1e-5, atol: 2e-6 }, `col2im ${JSON.stringify(g)}`);
    }
  });
});

describe('wasm K-FAC factors', () => {
  it('α Xᵀ diag(w) X + β C, single and batched, shared and per-matrix weights', () => {
    for (const [m, d] of [
      [1, 1],
      [17, 3],
      [63, 65],
      [130, 17],
      [0, 5],
    ]) {
      const [cx, wx] = pair([m, d]);
      same(wasm.factor(wx), cpu.factor(cx), { rtol: 1e-5, atol: 1e-5 }, `factor [${m}, ${d}]`);
      const [cc, wc] = pair([d, d]);
      const [cw, ww] = pair([m], 0, 1);
      same(
        wasm.factor(wx, { alpha: 0.3, beta: 0.9, accumulator: wc, rowWeights: ww }),
        cpu.factor(cx, { alpha: 0.3, beta: 0.9, accumulator: cc, rowWeights: cw }),
        { rtol: 1e-5, atol: 1e-5 },
        `factor ema [${m}, ${d}]`,
      );
    }
    const [cx, wx] = pair([3, 17, 65]);
    const [cw, ww] = pair([3, 17], 0, 1);
    const [cs, ws] = pair([17], 0, 1);
    same(wasm.factor(wx, { rowWeights: ww }), cpu.factor(cx, { rowWeights: cw }), { rtol: 1e-5, atol: 1e-5 }, 'batched factor');
    same(
      wasm.factor(wx, { rowWeights: ws, alpha: 2 }),
      cpu.factor(cx, { rowWeights: cs, alpha: 2 }),
      { rtol: 1e-5, atol: 1e-5 },
      'batched shared weights',
    );
    const f = wasm.readSync(wasm.factor(wx));
    for (let b = 0; b < 3; b++)
      for (let i = 0; i < 65; i++) for (let j = 0; j < i; j++) expect(f[b * 65 * 65 + i * 65 + j]).toBe(f[b * 65 * 65 + j * 65 + i]);
  });
});

describe('wasm linear algebra', () => {
  /** Batches of SPD matrices X Xᵀ/n + I, as float32 on both backends. */
  function spd(batch: number, n: number): [Tensor, Tensor] {
    const [cx, wx] = pair([batch, n, n]);
    const cA = cpu.binary('add', cpu.binaryScalar('div', cpu.matmul(cx, cx, { transB: true }), n), cpu.tensor(identity(n), [n, n]));
    const values = cpu.readSync(cA);
    wx.dispose();
    return [cA, wasm.tensor(values, cA.shape)];
  }
  function identity(n: number): number[] {
    return Array.from({ length: n * n }, (_, i) => (i % (n + 1) === 0 ? 1 : 0));
  }

  it('cholesky, triangularSolve (both ways) and choleskyInverse on sizes 1 … 65', () => {
    for (const n of [1, 3, 17, 63, 65]) {
      const [cA, wA] = spd(2, n);
      const cf = cpu.cholesky(cA);
      const wf = wasm.cholesky(wA);
      expect(Array.from(wasm.readSync(wf.status))).toEqual(Array.from(cpu.readSync(cf.status)));
      const tol = { rtol: 1e-4, atol: 1e-5 };
      expectClose(wasm.readSync(wf.factor), cpu.readSync(cf.factor), tol, `cholesky ${n}`);
      const [cb, wb] = pair([2, n, 3]);
      // Solve against the same float32 factor on both sides.
      const lw = wasm.tensor(cpu.readSync(cf.factor), cf.factor.shape);
      for (const transpose of [false, true])
        same(
          wasm.triangularSolve(lw, wb, { transpose }),
          cpu.triangularSolve(cf.factor, cb, { transpose }),
          tol,
          `trisolve ${n} ${transpose}`,
        );
      same(wasm.choleskyInverse(lw), cpu.choleskyInverse(cf.factor), { rtol: 1e-4, atol: 1e-4 }, `choleskyInverse ${n}`);
    }
  });

  it('cholesky reports the failing pivot of an indefinite matrix like the reference', () => {
    const a = [4, 2, 0, 2, 1, 0, 0, 0, 1]; // second pivot is 0
    const cf = cpu.cholesky(cpu.tensor(a, [3, 3]));
    const wf = wasm.cholesky(wasm.tensor(a, [3, 3]));
    expect(Array.from(wasm.readSync(wf.status))).toEqual(Array.from(cpu.readSync(cf.status)));
    expect(Array.from(wasm.readSync(wf.status))).toEqual([2]);
  });

  it('eigh (Jacobi) against the reference (Householder + QR): values, vectors, A = Q diag(w) Qᵀ, QᵀQ = I', () => {
    for (const n of [1, 3, 17, 65]) {
      const [cA, wA] = spd(2, n);
      const w = wasm.eigh(wA);
      const c = cpu.eigh(cA);
      expectClose(wasm.readSync(w.values), cpu.readSync(c.values), { rtol: 1e-5, atol: 1e-6 }, `eigh values ${n}`);
      // Same sign convention (largest component positive), so the columns match directly.
      expectClose(wasm.readSync(w.vectors), cpu.readSync(c.vectors), { rtol: 1e-3, atol: 2e-4 }, `eigh vectors ${n}`);
      const q = wasm.readSync(w.vectors);
      const v = wasm.readSync(w.values);
      const a = cpu.readSync(cA);
      for (let m = 0; m < 2; m++) {
        const rebuilt = new Float64Array(n * n);
        const gram = new Float64Array(n * n);
        const qb = m * n * n;
        for (let i = 0; i < n; i++) {
          for (let j = 0; j < n; j++) {
            for (let k = 0; k < n; k++) {
              rebuilt[i * n + j] += q[qb + i * n + k] * v[m * n + k] * q[qb + j * n + k];
              gram[i * n + j] += q[qb + k * n + i] * q[qb + k * n + j];
            }
          }
        }
        expectClose(rebuilt, a.subarray(qb, qb + n * n), { rtol: 1e-4, atol: 1e-4 }, `eigh rebuild ${n} #${m}`);
        expectClose(
          gram,
          Array.from({ length: n * n }, (_, i) => (i % (n + 1) === 0 ? 1 : 0)),
          { atol: 1e-5 },
          `eigh QᵀQ ${n}`,
        );
      }
    }
  });

  it('eigh of a zero matrix is I with zero values; a non-finite entry gives NaN like the reference', () => {
    same(wasm.eigh(wasm.zeros([3, 3])).vectors, cpu.eigh(cpu.zeros([3, 3])).vectors, {}, 'zero matrix vectors');
    const bad = [1, 0, NaN, 1];
    same(wasm.eigh(wasm.tensor(bad, [2, 2])).values, cpu.eigh(cpu.tensor(bad, [2, 2])).values, {}, 'NaN values');
  });
});

describe('wasm memory', () => {
  it('counts live tensors, shares buffers between reshapes, and reuses freed blocks', () => {
    const before = wasm.memory();
    const t = wasm.zeros([17, 65]);
    const r = wasm.reshape(t, [65, 17]);
    expect(wasm.memory().liveTensors).toBe(before.liveTensors + 2);
    expect(wasm.memory().liveBytes).toBe(before.liveBytes + 17 * 65 * 4);
    t.dispose();
    expect(wasm.readSync(r).length).toBe(17 * 65);
    r.dispose();
    expect(wasm.memory().liveTensors).toBe(before.liveTensors);
    expect(wasm.memory().liveBytes).toBe(before.liveBytes);
    const step = () => {
      const a = wasm.fill([130, 65], 1);
      const b = wasm.fill([65, 63], 1);
      wasm.matmul(a, b).dispose();
      a.dispose();
      b.dispose();
    };
    step();
    const afterFirst = wasm.heap.reservedBytes;
    for (let i = 0; i < 50; i++) step();
    expect(wasm.heap.reservedBytes, 'a repeated step reuses its blocks').toBe(afterFirst);
    expect(wasm.memory().liveTensors).toBe(before.liveTensors);
    expect(() => wasm.readSync(r)).toThrow(/after dispose/);
  });

  it('survives memory growth: tensors made before a large allocation keep their values', () => {
    const small = wasm.tensor([1, 2, 3], [3]);
    const big = wasm.zeros([16 * 1024 * 1024]); // 64 MiB forces the memory to grow
    expect(Array.from(wasm.readSync(small))).toEqual([1, 2, 3]);
    big.dispose();
    small.dispose();
  });
});

describe('wasm build', () => {
  it('the generated kernel module matches assembly/ (scripts/build-wasm.mjs --check)', async () => {
    const { spawnSync } = await import('node:child_process');
    const result = spawnSync(process.execPath, ['scripts/build-wasm.mjs', '--check'], { encoding: 'utf8' });
    expect(result.status, result.stderr).toBe(0);
  });
});
