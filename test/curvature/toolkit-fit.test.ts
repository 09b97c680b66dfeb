// fitCurvature and fitEkfac over a data set (src/engine/curvature/fit.ts, ekfac.ts): running sums
// over uneven batches equal one batch of all the data (sum and mean reductions, ignored CE terms,
// both approximations, folded and separate bias); WebGPU agrees with the CPU; a task's batches,
// progress and cancel; per-example gradients against one example at a time.
import { afterAll, describe, expect, it } from 'vitest';
import { grad } from '../../src/engine/autograd/backward.ts';
import { CpuBackend } from '../../src/engine/backend/cpu/cpu-backend.ts';
import {
  batchList,
  fitCurvature,
  fitEkfac,
  perExampleGradients,
  taskData,
  type BiasMode,
  type FisherType,
  type KfacApprox,
  type KroneckerCurvature,
  type LossSetting,
} from '../../src/engine/curvature/toolkit.ts';
import { loadTask } from '../../src/engine/lab/tasks.ts';
import { computeLoss, lossSpec, type LossKind, type Reduction } from '../../src/engine/nn/losses.ts';
import { Rng } from '../../src/engine/random.ts';
import { scope } from '../../src/engine/tensor.ts';
import { useBackends } from '../helpers/backends.ts';
import { placeProblem, scaledMaxError, stackProblem } from './toolkit-helpers.ts';

const backends = useBackends();
const cpu = new CpuBackend();
afterAll(() => cpu.destroy());

interface Case {
  setting: LossSetting;
  approx: KfacApprox;
  loss: LossKind;
  reduction: Reduction;
  fisher: FisherType;
  bias: BiasMode;
}

const CASES: Case[] = [
  { setting: 'expand', approx: 'expand', loss: 'mse', reduction: 'mean', fisher: 'type-2', bias: 'folded' },
  { setting: 'expand', approx: 'reduce', loss: 'ce', reduction: 'mean', fisher: 'type-2', bias: 'separate' },
  { setting: 'expand', approx: 'expand', loss: 'ce', reduction: 'sum', fisher: 'empirical', bias: 'folded' },
  { setting: 'reduce', approx: 'reduce', loss: 'ce', reduction: 'mean', fisher: 'empirical', bias: 'separate' },
  { setting: 'reduce', approx: 'expand', loss: 'mse', reduction: 'sum', fisher: 'type-2', bias: 'folded' },
  { setting: 'reduce', approx: 'reduce', loss: 'mse', reduction: 'mean', fisher: 'type-2', bias: 'folded' },
];

async function factorsOf(c: KroneckerCurvature): Promise<Float64Array[]> {
  const out: Float64Array[] = [];
  for (const l of c.layers) {
    out.push(Float64Array.from(await l.A.read()), Float64Array.from(await l.G.read()));
    if (l.biasBlock) out.push(Float64Array.from(await l.biasBlock.G.read()));
  }
  return out;
}

describe('fitting over several batches equals one batch of all the data (CPU, float64)', () => {
  for (const c of CASES) {
    it(`${c.setting} setting, ${c.approx}, ${c.loss}/${c.reduction}, ${c.fisher}, bias ${c.bias}`, async () => {
      const p = stackProblem(new Rng(7), { widths: [3, 5, 3], N: 7, R: 3, ignore: true, ...c });
      const placed = placeProblem(cpu, p, [3, 4]);
      const options = { approx: c.approx, fisher: c.fisher, bias: c.bias };
      const progress: number[] = [];
      const split = await fitCurvature(placed.model, batchList(placed.batches), {
        ...options,
        onProgress: (q) => progress.push(q.done / q.total),
      });
      const whole = await fitCurvature(placed.model, batchList([placed.full]), options);
      const splitEk = await fitEkfac(split, placed.model, batchList(placed.batches));
      const wholeEk = await fitEkfac(split, placed.model, batchList([placed.full]));
      try {
        expect(progress).toEqual([1 / 3, 2 / 3, 1]);
        expect(split.terms).toBe(whole.terms);
        const [a, b] = [await factorsOf(split), await factorsOf(whole)];
        expect(a.length).toBe(b.length);
        a.forEach((x, k) => expect(scaledMaxError(x, b[k]), `factor ${k}`).toBeLessThan(1e-12));
        for (const [k, l] of splitEk.layers.entries()) {
          expect(scaledMaxError(await l.spectrum(), await wholeEk.layers[k].spectrum()), `Λ ${k}`).toBeLessThan(1e-12);
          if (l.biasBlock)
            expect(scaledMaxError(await l.biasBlock.spectrum(), await wholeEk.layers[k].biasBlock!.spectrum())).toBeLessThan(1e-12);
        }
      } finally {
        [splitEk, wholeEk, split, whole].forEach((x) => x.dispose());
        placed.dispose();
      }
    });
  }
});

describe('WebGPU agrees with the CPU', () => {
  for (const c of [CASES[1], CASES[3]]) {
    it(`${c.setting} setting, ${c.approx}, ${c.loss}/${c.reduction}, ${c.fisher}, bias ${c.bias}`, async () => {
      const p = stackProblem(new Rng(8), { widths: [3, 5, 3], N: 7, R: 3, ignore: true, ...c });
      const results: { factors: Float64Array[]; lambda: Float64Array[] }[] = [];
      for (const be of [cpu, backends.gpu]) {
        const placed = placeProblem(be, p, [4]);
        const curvature = await fitCurvature(placed.model, batchList(placed.batches), { approx: c.approx, fisher: c.fisher, bias: c.bias });
        const ekfac = await fitEkfac(curvature, placed.model, batchList(placed.batches));
        try {
          results.push({ factors: await factorsOf(curvature), lambda: await Promise.all(ekfac.layers.map((l) => l.spectrum())) });
        } finally {
          ekfac.dispose();
          curvature.dispose();
          placed.dispose();
        }
      }
      const [onCpu, onGpu] = results;
      onCpu.factors.forEach((x, k) => expect(scaledMaxError(onGpu.factors[k], x), `factor ${k}`).toBeLessThan(1e-5));
      // Λ depends on the eigenvectors, which float32 perturbs by ~ε/gap.
      onCpu.lambda.forEach((x, k) => expect(scaledMaxError(onGpu.lambda[k], x), `Λ ${k}`).toBeLessThan(1e-3));
    });
  }
});

describe('a task as the data set (mlp-spirals, CPU)', async () => {
  const loaded = await loadTask('mlp-spirals');
  const task = loaded.place(cpu);
  const model = task.buildModel(2);
  afterAll(() => {
    model.dispose();
    task.dispose();
  });

  it('batches of 4 over 10 examples equal one batch of 10', async () => {
    const options = { approx: 'expand' as const, fisher: 'type-2' as const };
    const split = await fitCurvature(model, taskData(task, model, { examples: 10, batchSize: 4 }), options);
    const whole = await fitCurvature(model, taskData(task, model, { examples: 10, batchSize: 10 }), options);
    try {
      const [a, b] = [await factorsOf(split), await factorsOf(whole)];
      a.forEach((x, k) => expect(scaledMaxError(x, b[k]), `factor ${k}`).toBeLessThan(1e-5));
      expect(split.layers.map((l) => [l.dIn, l.dOut, l.width, l.bias])).toEqual(whole.layers.map((l) => [l.dIn, l.dOut, l.width, l.bias]));
    } finally {
      split.dispose();
      whole.dispose();
    }
  });

  it('cancel rejects with an AbortError and frees what it made', async () => {
    const before = cpu.memory().liveTensors;
    const controller = new AbortController();
    const data = taskData(task, model, { examples: 12, batchSize: 4 });
    const run = fitCurvature(model, data, {
      approx: 'reduce',
      onProgress: (q) => q.done === 1 && controller.abort(),
      signal: controller.signal,
    });
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    expect(cpu.memory().liveTensors).toBe(before);
  });
});

it('per-example gradients on WebGPU agree with the CPU', async () => {
  const p = stackProblem(new Rng(10), { widths: [3, 5, 2], N: 5, R: 3, setting: 'expand', loss: 'mse', reduction: 'mean' });
  const results: Float64Array[][] = [];
  for (const be of [cpu, backends.gpu]) {
    const placed = placeProblem(be, p);
    const grads = perExampleGradients(placed.model, placed.full, { bias: 'separate' });
    try {
      results.push(
        await Promise.all(grads.flatMap((g) => [g.gradients, g.biasGradients!]).map(async (t) => Float64Array.from(await t.read()))),
      );
    } finally {
      grads.forEach((g) => [g.gradients, g.biasGradients].forEach((t) => t?.dispose()));
      placed.dispose();
    }
  }
  expect(results[1].length).toBe(4);
  results[0].forEach((x, k) => expect(scaledMaxError(results[1][k], x), `tensor ${k}`).toBeLessThan(1e-5));
});

describe('per-example gradients with a segment layout (gcn-graph, CPU)', async () => {
  const loaded = await loadTask('gcn-graph');
  const task = loaded.place(cpu);
  const model = task.buildModel(1);
  afterAll(() => {
    model.dispose();
    task.dispose();
  });

  it("equal each graph's own summed-loss gradient", () => {
    const examples = [0, 1, 2];
    const batch = task.batch(model, Int32Array.from(examples));
    const all = perExampleGradients(model, batch, { bias: 'folded' });
    batch.dispose();
    try {
      const layers = model.parameters().filter((p) => all.some((g) => `${g.name}.weight` === p.name));
      expect(layers.length).toBe(all.length);
      examples.forEach((example, n) => {
        const one = task.batch(model, Int32Array.from([example]));
        scope(() => {
          const loss = computeLoss(lossSpec(one.loss.spec.kind, 'sum'), one.forward(), one.loss.targets);
          for (const g of all) {
            const params = model.parameters();
            const weight = params.find((p) => p.name === `${g.name}.weight`)!.variable;
            const bias = params.find((p) => p.name === `${g.name}.bias`)!.variable;
            const [gw, gb] = grad(loss, [weight, bias]).map((t) => cpu.readSync(t));
            const [, dOut, width] = g.gradients.shape;
            const dIn = width - 1;
            const got = cpu.readSync(g.gradients).subarray(n * dOut * width, (n + 1) * dOut * width);
            const expected = new Float64Array(dOut * width);
            for (let i = 0; i < dOut; i++) {
              for (let j = 0; j < dIn; j++) expected[i * width + j] = gw[i * dIn + j];
              expected[i * width + dIn] = gb[i];
            }
            expect(scaledMaxError(got, expected), `graph ${example}, ${g.name}`).toBeLessThan(1e-5);
          }
        });
        one.dispose();
      });
    } finally {
      all.forEach((g) => g.gradients.dispose());
    }
  });
});

it('per-example gradients projected into the eigenbasis equal Q_Gᵀ Γ_n Q_A (CPU, float64)', async () => {
  const p = stackProblem(new Rng(11), { widths: [3, 4, 2], N: 3, R: 2, setting: 'reduce', loss: 'ce', reduction: 'mean' });
  const placed = placeProblem(cpu, p);
  const curvature = await fitCurvature(placed.model, batchList([placed.full]), { approx: 'reduce', bias: 'separate' });
  const bases = await Promise.all(curvature.layers.map((l) => l.eigen()));
  const plain = perExampleGradients(placed.model, placed.full, { bias: 'separate' });
  const projected = perExampleGradients(placed.model, placed.full, { bias: 'separate', bases });
  try {
    for (const [k, g] of plain.entries()) {
      const expected = scope(() =>
        cpu.readSync(cpu.matmul(cpu.matmul(bases[k].vectorsG, g.gradients, { transA: true }), bases[k].vectorsA)),
      );
      expect(scaledMaxError(cpu.readSync(projected[k].gradients), expected)).toBeLessThan(1e-12);
      const expectedBias = scope(() => cpu.readSync(cpu.matmul(bases[k].vectorsG, g.biasGradients!, { transA: true })));
      expect(scaledMaxError(cpu.readSync(projected[k].biasGradients!), expectedBias)).toBeLessThan(1e-12);
    }
  } finally {
    [...plain, ...projected].forEach((g) => [g.gradients, g.biasGradients].forEach((t) => t?.dispose()));
    curvature.dispose();
    placed.dispose();
  }
});

describe('per-example gradients (CPU, float64)', () => {
  for (const setting of ['expand', 'reduce'] as LossSetting[]) {
    for (const bias of ['folded', 'separate'] as BiasMode[]) {
      it(`${setting} setting, bias ${bias}: equal the gradient of each example's own summed loss`, () => {
        const p = stackProblem(new Rng(9), { widths: [3, 4, 2], N: 4, R: 3, setting, loss: 'ce', reduction: 'mean', ignore: true });
        const placed = placeProblem(cpu, p, [1, 2, 3]);
        const all = perExampleGradients(placed.model, placed.full, { bias });
        try {
          expect(all.map((g) => g.index)).toEqual([0, 1]);
          placed.batches.forEach((one, n) => {
            scope(() => {
              const layers = placed.model.linears.map((l) => l.layer);
              const loss = computeLoss(lossSpec('ce', 'sum'), one.forward(), one.loss.targets);
              const wrt = layers.flatMap((l) => [l.weight, l.bias!]);
              const grads = grad(loss, wrt).map((g) => cpu.readSync(g) as Float64Array);
              layers.forEach((layer, k) => {
                const [dOut, dIn] = layer.weight.shape;
                const gw = grads[2 * k];
                const gb = grads[2 * k + 1];
                const width = bias === 'folded' ? dIn + 1 : dIn;
                const got = (cpu.readSync(all[k].gradients) as Float64Array).subarray(n * dOut * width, (n + 1) * dOut * width);
                const expected = new Float64Array(dOut * width);
                for (let i = 0; i < dOut; i++) {
                  for (let j = 0; j < dIn; j++) expected[i * width + j] = gw[i * dIn + j];
                  if (bias === 'folded') expected[i * width + dIn] = gb[i];
                }
                expect(scaledMaxError(got, expected), `example ${n} layer ${k}`).toBeLessThan(1e-12);
                if (bias === 'separate') {
                  const gotBias = (cpu.readSync(all[k].biasGradients!) as Float64Array).subarray(n * dOut, (n + 1) * dOut);
                  expect(scaledMaxError(gotBias, gb)).toBeLessThan(1e-12);
                } else expect(all[k].biasGradients).toBeNull();
              });
            });
          });
        } finally {
          all.forEach((g) => [g.gradients, g.biasGradients].forEach((t) => t?.dispose()));
          placed.dispose();
        }
      });
    }
  }
});
