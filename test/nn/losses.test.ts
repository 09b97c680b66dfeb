import { describe, expect, it } from 'vitest';
import type { Backend } from '../../src/engine/backend/backend.ts';
import { grad } from '../../src/engine/autograd/backward.ts';
import { constant, noGrad, parameter, type Variable } from '../../src/engine/autograd/variable.ts';
import * as ops from '../../src/engine/autograd/ops.ts';
import {
  IGNORE_INDEX,
  computeLoss,
  crossEntropyTermCount,
  lossScaleTensor,
  lossSpec,
  mse,
  mseTerms,
  softmaxCrossEntropy,
  type Reduction,
} from '../../src/engine/nn/losses.ts';
import { accuracyFromCounts, top1Accuracy, top1Counts } from '../../src/engine/nn/metrics.ts';
import { ShapeError } from '../../src/engine/shape-rules/shape.ts';
import { Rng } from '../../src/engine/random.ts';
import { scope } from '../../src/engine/tensor.ts';
import { useBackends } from '../helpers/backends.ts';
import { expectClose } from '../helpers/compare.ts';
import { gradcheck } from '../helpers/gradcheck.ts';

const backends = useBackends();

// ---- naive references (float64, host) -----------------------------------------------------------

/** Per-term −log softmax(x)[y] for rows of length C; NaN marks an ignored term. */
function naiveCrossEntropyTerms(logits: ArrayLike<number>, targets: ArrayLike<number>, C: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < targets.length; r++) {
    if (targets[r] < 0) {
      out.push(NaN);
      continue;
    }
    let max = -Infinity;
    for (let c = 0; c < C; c++) max = Math.max(max, logits[r * C + c]);
    let s = 0;
    for (let c = 0; c < C; c++) s += Math.exp(logits[r * C + c] - max);
    out.push(max + Math.log(s) - logits[r * C + targets[r]]);
  }
  return out;
}

function naiveCrossEntropy(logits: ArrayLike<number>, targets: ArrayLike<number>, C: number, reduction: Reduction): number {
  const terms = naiveCrossEntropyTerms(logits, targets, C).filter((t) => !Number.isNaN(t));
  const total = terms.reduce((a, b) => a + b, 0);
  return reduction === 'sum' ? total : terms.length > 0 ? total / terms.length : 0;
}

/** ∂L/∂logits = c (softmax − onehot) on counted rows. */
function naiveCrossEntropyGrad(logits: ArrayLike<number>, targets: ArrayLike<number>, C: number, reduction: Reduction): number[] {
  let counted = 0;
  for (let r = 0; r < targets.length; r++) if (targets[r] >= 0) counted++;
  const c = reduction === 'sum' ? 1 : counted > 0 ? 1 / counted : 0;
  const g = new Array<number>(logits.length).fill(0);
  for (let r = 0; r < targets.length; r++) {
    if (targets[r] < 0) continue;
    let max = -Infinity;
    for (let k = 0; k < C; k++) max = Math.max(max, logits[r * C + k]);
    let s = 0;
    for (let k = 0; k < C; k++) s += Math.exp(logits[r * C + k] - max);
    for (let k = 0; k < C; k++) g[r * C + k] = c * (Math.exp(logits[r * C + k] - max) / s - (k === targets[r] ? 1 : 0));
  }
  return g;
}

function randomTargets(rng: Rng, n: number, C: number, ignoreEvery = 0): number[] {
  return Array.from({ length: n }, (_, i) => (ignoreEvery > 0 && i % ignoreEvery === 1 ? IGNORE_INDEX : rng.int(C)));
}

async function lossAndGrad(
  backend: Backend,
  logitsValues: ArrayLike<number>,
  shape: number[],
  f: (x: Variable) => Variable,
): Promise<{ loss: number; grad: number[] }> {
  const { loss, g } = scope(() => {
    const x = parameter(backend.tensor(logitsValues, shape, 'float32'));
    const out = f(x);
    const [gx] = grad(out, [x]);
    return { loss: out.value, g: gx };
  });
  const result = { loss: (await loss.read())[0], grad: Array.from(await g.read()) };
  loss.dispose();
  g.dispose();
  return result;
}

// ---- values ---------------------------------------------------------------------------------------

describe('softmax cross-entropy: values (CPU, float64)', () => {
  it('per example, both reductions, with ignored targets', () => {
    const { cpu } = backends;
    const rng = new Rng(1);
    const N = 7;
    const C = 5;
    const logits = rng.uniformArray(N * C, -3, 3);
    const targets = randomTargets(rng, N, C, 3); // rows 1 and 4 ignored
    expect(targets.filter((t) => t < 0).length).toBe(2);
    for (const reduction of ['sum', 'mean'] as const) {
      scope(() => {
        const out = softmaxCrossEntropy(parameter(cpu.tensor(logits, [N, C], 'float64')), cpu.tensor(targets, [N], 'int32'), reduction);
        expect(out.shape).toEqual([]);
        expectClose(cpu.readSync(out.value), [naiveCrossEntropy(logits, targets, C, reduction)], { rtol: 1e-12 }, reduction);
      });
    }
  });

  it('a hand-computed case', () => {
    const { cpu } = backends;
    // Row 0: logits [0, ln 3] → p = [1/4, 3/4], target 1 → −ln(3/4). Row 1: uniform over 2 → ln 2. Row 2 ignored.
    const logits = [0, Math.log(3), 5, 5, 100, -100];
    const targets = [1, 0, -1];
    scope(() => {
      const x = constant(cpu.tensor(logits, [3, 2], 'float64'));
      const t = cpu.tensor(targets, [3], 'int32');
      const sum = cpu.readSync(softmaxCrossEntropy(x, t, 'sum').value)[0];
      const mean = cpu.readSync(softmaxCrossEntropy(x, t, 'mean').value)[0];
      expect(sum).toBeCloseTo(-Math.log(0.75) + Math.log(2), 12);
      expect(mean).toBeCloseTo((-Math.log(0.75) + Math.log(2)) / 2, 12);
    });
  });

  it('per token [N, T, C] with ignored tokens: the mean runs over counted tokens only', () => {
    const { cpu } = backends;
    const rng = new Rng(2);
    const [N, T, C] = [3, 4, 6];
    const logits = rng.uniformArray(N * T * C, -2, 2);
    const targets = randomTargets(rng, N * T, C, 5);
    const counted = targets.filter((t) => t >= 0).length;
    expect(counted).toBeLessThan(N * T);
    for (const reduction of ['sum', 'mean'] as const) {
      scope(() => {
        const out = softmaxCrossEntropy(
          parameter(cpu.tensor(logits, [N, T, C], 'float64')),
          cpu.tensor(targets, [N, T], 'int32'),
          reduction,
        );
        expectClose(cpu.readSync(out.value), [naiveCrossEntropy(logits, targets, C, reduction)], { rtol: 1e-12 }, `per token ${reduction}`);
      });
    }
  });

  it('all targets ignored: the mean is 0 and so is the gradient', () => {
    const { cpu } = backends;
    scope(() => {
      const x = parameter(cpu.tensor([1, 2, 3, 4], [2, 2], 'float64'));
      const out = softmaxCrossEntropy(x, cpu.tensor([-1, -1], [2], 'int32'), 'mean');
      expect(cpu.readSync(out.value)[0] === 0).toBe(true); // ±0
      const [g] = grad(out, [x]);
      expect(Array.from(cpu.readSync(g))).toEqual([0, 0, 0, 0]);
    });
  });

  it('rejects bad targets and shapes with clear messages', () => {
    const { cpu } = backends;
    scope(() => {
      const x = parameter(cpu.tensor(new Array(6).fill(0), [2, 3]));
      expect(() => softmaxCrossEntropy(x, cpu.tensor([0, 1], [2], 'float32'))).toThrow(/targets must be int32/);
      expect(() => softmaxCrossEntropy(x, cpu.tensor([0, 1, 2], [3], 'int32'))).toThrow(ShapeError);
      expect(() => softmaxCrossEntropy(x, cpu.tensor([0, 1, 2], [3], 'int32'))).toThrow(/leading shape \[2\]/);
      const flat = parameter(cpu.tensor([0, 0], [2]));
      expect(() => softmaxCrossEntropy(flat, cpu.tensor([0, 1], [2], 'int32'))).toThrow(/\[N, C\] or \[N, T, C\]/);
      expect(() => softmaxCrossEntropy(x, cpu.tensor([0, 1], [2], 'int32'), 'avg' as Reduction)).toThrow(/unknown reduction "avg"/);
    });
  });
});

describe('MSE: values (CPU, float64)', () => {
  it('sum over terms and outputs; PyTorch-style mean over M·C', () => {
    const { cpu } = backends;
    const rng = new Rng(3);
    for (const shape of [[5, 3], [2, 4, 3], [7]]) {
      const size = shape.reduce((a, b) => a * b, 1);
      const f = rng.uniformArray(size);
      const y = rng.uniformArray(size);
      let sq = 0;
      for (let i = 0; i < size; i++) sq += (f[i] - y[i]) ** 2;
      scope(() => {
        const pred = parameter(cpu.tensor(f, shape, 'float64'));
        const target = cpu.tensor(y, shape, 'float64');
        expect(cpu.readSync(mse(pred, target, 'sum').value)[0]).toBeCloseTo(sq, 12);
        expect(cpu.readSync(mse(pred, target, 'mean').value)[0]).toBeCloseTo(sq / size, 12);
      });
    }
  });

  it('terms and rejects mismatched targets', () => {
    expect(mseTerms([5, 3])).toEqual({ M: 5, C: 3 });
    expect(mseTerms([2, 4, 3])).toEqual({ M: 8, C: 3 });
    expect(mseTerms([7])).toEqual({ M: 7, C: 1 });
    const { cpu } = backends;
    scope(() => {
      const pred = parameter(cpu.tensor([1, 2, 3, 4], [2, 2]));
      expect(() => mse(pred, cpu.tensor([1, 2], [2]))).toThrow(/must have the predictions' shape \[2, 2\]/);
      expect(() => mse(pred, cpu.tensor([1, 2, 3, 4], [2, 2], 'int32'))).toThrow(/int32/);
    });
  });
});

describe('loss spec: c of docs/kfac.md §3', () => {
  it('scale(M, C) for every kind and reduction', () => {
    expect(lossSpec('ce', 'sum').scale(10, 4)).toBe(1);
    expect(lossSpec('ce', 'mean').scale(10, 4)).toBeCloseTo(0.1, 15);
    expect(lossSpec('mse', 'sum').scale(10, 4)).toBe(1);
    expect(lossSpec('mse', 'mean').scale(10, 4)).toBeCloseTo(1 / 40, 15);
    expect(lossSpec('ce', 'mean').scale(0, 4)).toBe(0);
    expect(() => lossSpec('hinge' as never, 'sum')).toThrow(/unknown loss kind/);
  });

  it('the loss equals c · Σ_m ℓ_m, and the device-side c and term count agree', () => {
    const { cpu } = backends;
    const rng = new Rng(4);
    const [N, T, C] = [2, 5, 3];
    const logits = rng.uniformArray(N * T * C);
    const targets = randomTargets(rng, N * T, C, 4);
    const M = targets.filter((t) => t >= 0).length;
    const termSum = naiveCrossEntropy(logits, targets, C, 'sum');
    scope(() => {
      const t = cpu.tensor(targets, [N, T], 'int32');
      expect(cpu.readSync(crossEntropyTermCount(t))[0]).toBe(M);
      for (const reduction of ['sum', 'mean'] as const) {
        const spec = lossSpec('ce', reduction);
        const value = cpu.readSync(computeLoss(spec, constant(cpu.tensor(logits, [N, T, C], 'float64')), t).value)[0];
        expect(value).toBeCloseTo(spec.scale(M, C) * termSum, 12);
        expect(cpu.readSync(lossScaleTensor(spec, [N, T, C], t))[0]).toBeCloseTo(spec.scale(M, C), 7);
      }
      const y = cpu.tensor(rng.uniformArray(N * T * C), [N, T, C], 'float64');
      for (const reduction of ['sum', 'mean'] as const) {
        const spec = lossSpec('mse', reduction);
        expect(cpu.readSync(lossScaleTensor(spec, [N, T, C], y))[0]).toBeCloseTo(spec.scale(N * T, C), 7);
      }
    });
  });
});

// ---- gradients ------------------------------------------------------------------------------------

describe('loss gradients against finite differences (float64, CPU)', () => {
  it('cross-entropy per example and per token, both reductions, with ignored targets', () => {
    const { cpu } = backends;
    const rng = new Rng(5);
    for (const reduction of ['sum', 'mean'] as const) {
      const t2 = cpu.tensor(randomTargets(rng, 6, 4, 3), [6], 'int32');
      gradcheck(cpu, ([x]) => softmaxCrossEntropy(x, t2, reduction), [cpu.tensor(rng.uniformArray(24, -2, 2), [6, 4], 'float64')], {
        label: `ce [6, 4] ${reduction}`,
      });
      const t3 = cpu.tensor(randomTargets(rng, 6, 5, 4), [2, 3], 'int32');
      gradcheck(cpu, ([x]) => softmaxCrossEntropy(x, t3, reduction), [cpu.tensor(rng.uniformArray(30, -2, 2), [2, 3, 5], 'float64')], {
        label: `ce [2, 3, 5] ${reduction}`,
      });
    }
  });

  it('cross-entropy composed with upstream ops (the vjp is used inside a graph)', () => {
    const { cpu } = backends;
    const rng = new Rng(6);
    const t = cpu.tensor([2, -1, 0], [3], 'int32');
    gradcheck(
      cpu,
      ([x, w]) => ops.mulScalar(softmaxCrossEntropy(ops.tanh(ops.matmul(x, w)), t, 'mean'), 3),
      [cpu.tensor(rng.uniformArray(12), [3, 4], 'float64'), cpu.tensor(rng.uniformArray(12), [4, 3], 'float64')],
      { label: 'ce ∘ tanh ∘ matmul' },
    );
  });

  it('MSE, both reductions, several ranks', () => {
    const { cpu } = backends;
    const rng = new Rng(7);
    for (const reduction of ['sum', 'mean'] as const) {
      for (const shape of [[4, 3], [2, 3, 2], [5]]) {
        const size = shape.reduce((a, b) => a * b, 1);
        const y = cpu.tensor(rng.uniformArray(size), shape, 'float64');
        gradcheck(cpu, ([x]) => mse(x, y, reduction), [cpu.tensor(rng.uniformArray(size), shape, 'float64')], {
          label: `mse ${shape} ${reduction}`,
        });
      }
    }
  });

  it('the fused gradient equals c (softmax − onehot) exactly', async () => {
    const { cpu } = backends;
    const rng = new Rng(8);
    const logits = rng.uniformArray(5 * 3, -4, 4);
    const targets = [0, 2, -1, 1, 2];
    const shape = [5, 3];
    const toCpu64 = (x: Variable) => softmaxCrossEntropy(x, cpu.tensor(targets, [5], 'int32'), 'mean');
    const { g } = scope(() => {
      const x = parameter(cpu.tensor(logits, shape, 'float64'));
      return { g: grad(toCpu64(x), [x])[0] };
    });
    expectClose(cpu.readSync(g), naiveCrossEntropyGrad(logits, targets, 3, 'mean'), { rtol: 1e-12, atol: 1e-15 });
  });
});

// ---- both backends --------------------------------------------------------------------------------

describe('CPU and WebGPU give the same loss and gradient', () => {
  const cases: { shape: number[]; ignoreEvery: number }[] = [
    { shape: [1, 3], ignoreEvery: 0 },
    { shape: [17, 10], ignoreEvery: 3 },
    { shape: [63, 130], ignoreEvery: 0 },
    { shape: [3, 17, 65], ignoreEvery: 4 },
    { shape: [2, 65, 3], ignoreEvery: 2 },
  ];
  for (const { shape, ignoreEvery } of cases) {
    for (const reduction of ['sum', 'mean'] as const) {
      it(`cross-entropy ${JSON.stringify(shape)} ${reduction}${ignoreEvery ? ' with ignored targets' : ''}`, async () => {
        const { cpu, gpu } = backends;
        const rng = new Rng(shape.reduce((a, b) => a * 31 + b, 9));
        const C = shape[shape.length - 1];
        const rows = shape.slice(0, -1);
        const n = rows.reduce((a, b) => a * b, 1);
        const logits = rng.uniformArray(n * C, -5, 5);
        const targets = randomTargets(rng, n, C, ignoreEvery);
        const run = (be: Backend) =>
          lossAndGrad(be, logits, shape, (x) => softmaxCrossEntropy(x, be.tensor(targets, rows, 'int32'), reduction));
        const onCpu = await run(cpu);
        const onGpu = await run(gpu);
        expectClose([onCpu.loss], [naiveCrossEntropy(Float32Array.from(logits), targets, C, reduction)], { rtol: 1e-5 }, 'cpu vs naive');
        expectClose([onGpu.loss], [onCpu.loss], { rtol: 1e-5, atol: 1e-5 }, 'loss');
        const scale = Math.max(...onCpu.grad.map(Math.abs));
        expectClose(onGpu.grad, onCpu.grad, { rtol: 1e-4, atol: 1e-6 * scale }, 'gradient');
      });
    }
  }

  for (const reduction of ['sum', 'mean'] as const) {
    it(`MSE [17, 3] and [2, 63, 5] ${reduction}`, async () => {
      const { cpu, gpu } = backends;
      const rng = new Rng(10);
      for (const shape of [
        [17, 3],
        [2, 63, 5],
      ]) {
        const size = shape.reduce((a, b) => a * b, 1);
        const f = rng.uniformArray(size, -2, 2);
        const y = rng.uniformArray(size, -2, 2);
        const run = (be: Backend) => lossAndGrad(be, f, shape, (x) => mse(x, be.tensor(y, shape, 'float32'), reduction));
        const onCpu = await run(cpu);
        const onGpu = await run(gpu);
        expectClose([onGpu.loss], [onCpu.loss], { rtol: 1e-5 }, `mse ${shape} loss`);
        expectClose(onGpu.grad, onCpu.grad, { rtol: 1e-5, atol: 1e-7 }, `mse ${shape} gradient`);
      }
    });
  }

  it('cross-entropy is stable for logits of ±1000 on both backends', async () => {
    const { cpu, gpu } = backends;
    // Row 0: target is the huge logit → loss ≈ 0. Row 1: target is −1000 against +1000 → loss 2000.
    // Row 2: two tied huge logits → ln 2.
    const logits = [1000, -1000, 0, -1000, 1000, 0, 1000, 1000, -1000];
    const targets = [0, 0, 1];
    for (const be of [cpu, gpu]) {
      const { loss, grad: g } = await lossAndGrad(be, logits, [3, 3], (x) =>
        softmaxCrossEntropy(x, be.tensor(targets, [3], 'int32'), 'sum'),
      );
      expect(loss, be.name).toBeCloseTo(2000 + Math.log(2), 3);
      expectClose(g, [0, 0, 0, -1, 1, 0, 0.5, -0.5, 0], { atol: 1e-6 }, `${be.name} gradient`);
    }
  });
});

describe('loss memory', () => {
  it('frees its intermediates under noGrad and after backward in a scope', () => {
    const { cpu } = backends;
    const logits = cpu.tensor(new Array(12).fill(0.5), [4, 3]);
    const targets = cpu.tensor([0, 1, -1, 2], [4], 'int32');
    softmaxCrossEntropy(constant(logits), targets).value.dispose(); // warm the class-index cache
    const before = cpu.memory().liveTensors;
    const v = noGrad(() => softmaxCrossEntropy(parameter(logits), targets));
    v.value.dispose();
    const m = noGrad(() => mse(parameter(logits), logits));
    m.value.dispose();
    expect(cpu.memory().liveTensors).toBe(before);
    scope(() => {
      const x = parameter(logits);
      grad(softmaxCrossEntropy(x, targets, 'sum'), [x]);
      grad(mse(x, logits, 'mean'), [x]);
    });
    expect(cpu.memory().liveTensors).toBe(before);
  });
});

// ---- metrics --------------------------------------------------------------------------------------

function naiveTop1(logits: ArrayLike<number>, targets: number[], C: number): { correct: number; counted: number } {
  let correct = 0;
  let counted = 0;
  targets.forEach((t, r) => {
    if (t < 0) return;
    counted++;
    let best = 0;
    for (let c = 1; c < C; c++) if (logits[r * C + c] > logits[r * C + best]) best = c;
    if (best === t) correct++;
  });
  return { correct, counted };
}

describe('top-1 accuracy', () => {
  it('per example and per token with ignored targets, on both backends', async () => {
    const { cpu, gpu } = backends;
    const rng = new Rng(11);
    for (const shape of [
      [17, 5],
      [3, 65, 4],
    ]) {
      const C = shape[shape.length - 1];
      const rows = shape.slice(0, -1);
      const n = rows.reduce((a, b) => a * b, 1);
      const logits = Float32Array.from(rng.uniformArray(n * C));
      // Make about half the predictions right so the count is not trivially 0 or n.
      const argmaxOf = (r: number) => {
        let best = 0;
        for (let c = 1; c < C; c++) if (logits[r * C + c] > logits[r * C + best]) best = c;
        return best;
      };
      const targets = Array.from({ length: n }, (_, r) => (r % 7 === 3 ? IGNORE_INDEX : r % 2 === 0 ? argmaxOf(r) : rng.int(C)));
      const expected = naiveTop1(logits, targets, C);
      for (const be of [cpu, gpu] as Backend[]) {
        const x = be.tensor(logits, shape);
        const t = be.tensor(targets, rows, 'int32');
        const result = await top1Accuracy(x, t);
        expect(result.correct, `${be.name} ${shape}`).toBe(expected.correct);
        expect(result.counted, `${be.name} ${shape}`).toBe(expected.counted);
        expect(result.accuracy).toBeCloseTo(expected.correct / expected.counted, 6);
        x.dispose();
        t.dispose();
      }
    }
  });

  it('accepts a Variable, reports NaN when nothing is counted, and checks shapes', async () => {
    const { cpu } = backends;
    const x = constant(cpu.tensor([0, 1, 1, 0], [2, 2]));
    expect((await top1Accuracy(x, cpu.tensor([1, 0], [2], 'int32'))).accuracy).toBe(1);
    expect((await top1Accuracy(x, cpu.tensor([-1, -1], [2], 'int32'))).accuracy).toBeNaN();
    expect(accuracyFromCounts([3, 4]).accuracy).toBe(0.75);
    expect(() => top1Counts(x, cpu.tensor([1, 0, 1], [3], 'int32'))).toThrow(/leading shape \[2\]/);
    expect(() => top1Counts(x, cpu.tensor([1, 0], [2]))).toThrow(/int32/);
  });
});
