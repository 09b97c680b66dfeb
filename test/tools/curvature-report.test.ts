// curvatureReport (docs/curvature-tools.md §1) on real tasks, CPU backend: on the MLP (no weight
// sharing) expand = reduce, both fits ≤ 1 with EK-FAC's never above K-FAC's, and the exact block
// agrees with the float64 brute-force GGN of src/engine/curvature/exact-ggn.ts; on the ViT, a quick
// run with few examples has the right shapes and finite values; progress and abort.
import { afterAll, describe, expect, it } from 'vitest';
import { constant } from '../../src/engine/autograd/variable.ts';
import { CpuBackend } from '../../src/engine/backend/cpu/cpu-backend.ts';
import { exactGgnBlock } from '../../src/engine/curvature/exact-ggn.ts';
import { computeKfacFactors } from '../../src/engine/curvature/factors.ts';
import { makeSpirals } from '../../src/engine/data/toys.ts';
import { DATA_SEED } from '../../src/engine/lab/tasks/evaluation.ts';
import { loadTask } from '../../src/engine/lab/tasks.ts';
import { hostEigenvalues } from '../../src/engine/linalg/host-eigh.ts';
import { lossSpec } from '../../src/engine/nn/losses.ts';
import { Mlp } from '../../src/engine/nn/models/mlp.ts';
import {
  curvatureReport,
  sampleExamples,
  type CurvatureReport,
  type ReportApproximation,
} from '../../src/engine/tools/curvature-report/curvature-report.ts';
import { relativeError } from '../helpers/compare.ts';
import { useBackends } from '../helpers/backends.ts';
import type { Backend } from '../../src/engine/backend/backend.ts';

const cpu = new CpuBackend();
afterAll(() => cpu.destroy());

const allFinite = (xs: number[]) => xs.every((x) => Number.isFinite(x));

describe('curvatureReport on mlp-spirals (CPU)', async () => {
  const loaded = await loadTask('mlp-spirals');
  const task = loaded.place(cpu);
  const model = task.buildModel(3);
  const examples = 256;
  const progress: { done: number; total: number; phase: string }[] = [];
  let report: CurvatureReport;

  it('covers every K-FAC layer with both approximations and the exact block', async () => {
    report = await curvatureReport(task, model, {
      trainSize: loaded.trainSize,
      examples,
      batchSize: 100,
      onProgress: (p) => progress.push(p),
    });
    expect(report.examples).toBe(examples);
    expect(report.batches).toBe(3);
    expect(report.layers.map((l) => [l.index, l.dIn, l.dOut, l.width, l.params, l.bias])).toEqual([
      [0, 2, 32, 3, 96, 'folded'],
      [1, 32, 32, 33, 1056, 'folded'],
      [2, 32, 2, 33, 66, 'folded'],
    ]);
    for (const l of report.layers) {
      expect(l.exact?.eigenvalues).toHaveLength(l.params);
      for (const a of [l.expand, l.reduce]) {
        expect(a.A.cells).toBe(Math.min(48, l.width));
        expect(a.A.data).toHaveLength(a.A.cells ** 2);
        expect(a.kfac).toHaveLength(l.params);
        expect(a.ekfac).toHaveLength(l.params);
        expect(a.ekfacBias).toBeNull();
        expect(allFinite([...a.kfac, ...a.ekfac, ...a.A.data, ...a.G.data])).toBe(true);
      }
    }
    expect(report.timings.expandFactorsMs).toBeGreaterThan(0);
    expect(report.timings.reduceFactorsMs).toBeGreaterThan(0);
    expect(JSON.parse(JSON.stringify(report))).toEqual(report); // plain JSON-able data
  });

  it('reports progress over the sweeps and the layers, in order, to the total', () => {
    // 3 batches: factors-expand, factors-reduce, EK-FAC in each basis, the exact blocks; then 3 layers.
    expect(progress.map((p) => p.done)).toEqual(Array.from({ length: 18 }, (_, i) => i + 1));
    expect(progress.every((p) => p.total === 18)).toBe(true);
    expect(progress.map((p) => p.phase)).toEqual([
      ...Array(3).fill('factors-expand'),
      ...Array(3).fill('factors-reduce'),
      ...Array(9).fill('ekfac-exact'),
      ...Array(3).fill('spectra'),
    ]);
  });

  it('fits: both ≤ 1, EK-FAC never worse than K-FAC in the same basis', () => {
    for (const l of report.layers) {
      for (const a of [l.expand, l.reduce]) {
        expect(a.fit!.kfac, l.name).toBeLessThanOrEqual(1);
        expect(a.fit!.ekfac, l.name).toBeLessThanOrEqual(a.fit!.kfac + 1e-6);
        expect(a.fit!.ekfac).toBeGreaterThan(0);
      }
    }
  });

  it('expand = reduce on the MLP (no weight sharing)', () => {
    const same = (x: ReportApproximation, y: ReportApproximation) => {
      for (const key of ['eigA', 'eigG', 'kfac', 'ekfac'] as const) expect(relativeError(x[key], y[key]), key).toBeLessThan(1e-5);
      expect(relativeError(x.A.data, y.A.data)).toBeLessThan(1e-5);
      expect(relativeError(x.G.data, y.G.data)).toBeLessThan(1e-5);
      expect(Math.abs(x.fit!.kfac - y.fit!.kfac)).toBeLessThan(1e-4);
    };
    for (const l of report.layers) same(l.expand, l.reduce);
  });

  it('Σ Λ = tr F = Σ exact eigenvalues (the trace is basis-free)', () => {
    for (const l of report.layers) {
      const sum = (xs: number[]) => xs.reduce((s, x) => s + x, 0);
      const trace = sum(l.exact!.eigenvalues);
      expect(sum(l.expand.ekfac) / trace).toBeCloseTo(1, 4);
      expect(sum(l.reduce.ekfac) / trace).toBeCloseTo(1, 4);
    }
  });

  it("the first layer's exact block equals the float64 brute-force GGN (exact-ggn.ts)", async () => {
    // A float64 twin of the model on the same examples.
    const twin = new Mlp({ backend: cpu, seed: 0, precision: 'float64' }, { widths: [2, 32, 32, 2], activation: 'tanh' });
    const weights = await model.saveWeights();
    twin.loadWeights(weights);
    const data = makeSpirals({ seed: DATA_SEED, pointsPerArm: 256, valPointsPerArm: 128 }).train;
    const rows = sampleExamples(loaded.trainSize, examples, 0);
    const x = cpu.tensor(
      Array.from(rows).flatMap((r) => [data.inputs[2 * r], data.inputs[2 * r + 1]]),
      [rows.length, 2],
      'float64',
    );
    const y = cpu.tensor(
      Array.from(rows).map((r) => data.labels[r]),
      [rows.length],
      'int32',
    );
    try {
      const layer = twin.layers[0];
      const block = exactGgnBlock(() => twin.forward(constant(x)), { spec: lossSpec('ce', 'mean'), targets: y }, layer.weight, layer.bias, {
        bias: 'folded',
      });
      const expected = hostEigenvalues(block.weight.values, block.weight.size);
      expect(relativeError(report.layers[0].exact!.eigenvalues, expected)).toBeLessThan(1e-4);
    } finally {
      x.dispose();
      y.dispose();
      twin.dispose();
    }
  });

  it('stops with an AbortError when aborted, freeing what it made', async () => {
    const before = cpu.memory().liveTensors;
    const controller = new AbortController();
    const run = curvatureReport(task, model, {
      trainSize: loaded.trainSize,
      examples: 64,
      batchSize: 16,
      onProgress: (p) => {
        if (p.done === 5) controller.abort();
      },
      signal: controller.signal,
    });
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    expect(cpu.memory().liveTensors).toBe(before);
    expect(model.isTraining).toBe(true);
  });
});

describe('curvatureReport on vit-mnist (CPU, few examples)', () => {
  it('has the right shapes and finite values', async () => {
    const loaded = await loadTask('vit-mnist');
    const task = loaded.place(cpu);
    const model = task.buildModel(0);
    // A first curvature pass lets the model make what it caches (one tensor; not a leak).
    const warm = task.batch(model, Int32Array.of(0));
    for (const f of computeKfacFactors(warm.forward, warm.loss, { approx: 'reduce' })) [f.A, f.G].forEach((t) => t.dispose());
    warm.dispose();
    const before = cpu.memory().liveTensors;
    const report = await curvatureReport(task, model, {
      trainSize: loaded.trainSize,
      examples: 6,
      batchSize: 3,
      exactMaxParams: 1000,
      exactLayers: [0, 13],
      seed: 2,
    });
    expect(cpu.memory().liveTensors).toBe(before);
    expect(report.layers.length).toBeGreaterThan(4);
    // Exact blocks only for the layers asked for that are small enough (the first, 1600 parameters, is not).
    const wantsExact = (l: { index: number; params: number }) => [0, 13].includes(l.index) && l.params <= 1000;
    expect(report.layers.filter(wantsExact)).toHaveLength(1);
    for (const l of report.layers) {
      expect(l.width).toBe(l.bias === 'folded' ? l.dIn + 1 : l.dIn);
      for (const a of [l.expand, l.reduce]) {
        expect(a.eigA).toHaveLength(l.width);
        expect(a.eigG).toHaveLength(l.dOut);
        expect(a.kfac).toHaveLength(Math.min(2048, l.params));
        expect(a.ekfac).toHaveLength(Math.min(2048, l.params));
        expect(a.A.cells).toBe(Math.min(48, l.width));
        expect(a.G.cells).toBe(Math.min(48, l.dOut));
        expect(allFinite([...a.eigA, ...a.eigG, ...a.kfac, ...a.ekfac, ...a.A.data, ...a.G.data])).toBe(true);
        if (wantsExact(l)) {
          expect(a.fit!.ekfac).toBeLessThanOrEqual(a.fit!.kfac + 1e-6);
        } else expect(a.fit).toBeNull();
      }
      if (wantsExact(l)) expect(l.exact!.eigenvalues).toHaveLength(l.params);
      else expect(l.exact).toBeNull();
    }
    // The patches share the embedding: expand and reduce differ there (R = 16).
    const shared = report.layers.find((l) => l.sharedDims.length > 0)!;
    expect(relativeError(shared.expand.eigA, shared.reduce.eigA)).toBeGreaterThan(1e-3);
    model.dispose();
    task.dispose();
  });
});

describe('curvatureReport on gcn-graph (CPU, ragged graphs)', () => {
  it("Σ Λ (the toolkit's EK-FAC) = tr F (the exact blocks summed per graph), and EK-FAC fits better", async () => {
    const loaded = await loadTask('gcn-graph');
    const task = loaded.place(cpu);
    const model = task.buildModel(0);
    const report = await curvatureReport(task, model, { trainSize: loaded.trainSize, examples: 12, batchSize: 5, seed: 4 });
    const sum = (xs: number[]) => xs.reduce((s, x) => s + x, 0);
    const exact = report.layers.filter((l) => l.exact);
    expect(exact.length).toBeGreaterThan(0);
    for (const l of exact) {
      const trace = sum(l.exact!.eigenvalues);
      for (const approx of ['expand', 'reduce'] as const) {
        expect(sum(l[approx].ekfac) / trace, `${l.name} ${approx}`).toBeCloseTo(1, 4);
        expect(l[approx].fit!.ekfac).toBeLessThanOrEqual(l[approx].fit!.kfac + 1e-6);
      }
    }
    model.dispose();
    task.dispose();
  });
});

describe('curvatureReport on WebGPU', () => {
  const b = useBackends();
  it('mlp-spirals: the same report as on the CPU, to float32 accuracy', async () => {
    const loaded = await loadTask('mlp-spirals');
    const run = async (backend: Backend) => {
      const task = loaded.place(backend);
      const model = task.buildModel(1);
      try {
        return await curvatureReport(task, model, {
          trainSize: loaded.trainSize,
          examples: 96,
          batchSize: 48,
          fisher: 'empirical',
          exactLayers: [0, 2], // the 1056-parameter block's host eigenvalues would double the time
          bias: 'separate',
        });
      } finally {
        model.dispose();
        task.dispose();
      }
    };
    const [onCpu, onGpu] = [await run(b.cpu), await run(b.gpu)];
    expect(onGpu.device).toMatch(/^webgpu/);
    expect(onGpu.exactFisher).toBe('empirical');
    onGpu.layers.forEach((l, k) => {
      const ref = onCpu.layers[k];
      expect(l.bias).toBe('separate');
      for (const approx of ['expand', 'reduce'] as const) {
        const [x, y] = [l[approx], ref[approx]];
        expect(relativeError(x.kfac, y.kfac), `${l.name} ${approx} kfac`).toBeLessThan(1e-4);
        expect(relativeError(x.ekfac, y.ekfac), `${l.name} ${approx} ekfac`).toBeLessThan(1e-3);
        expect(relativeError(x.ekfacBias!, y.ekfacBias!), `${l.name} ${approx} ekfacBias`).toBeLessThan(1e-3);
        if (k === 1) continue;
        expect(Math.abs(x.fit!.kfac - y.fit!.kfac)).toBeLessThan(1e-3);
        expect(Math.abs(x.fit!.ekfac - y.fit!.ekfac)).toBeLessThan(1e-3);
        expect(x.fit!.ekfac).toBeLessThanOrEqual(x.fit!.kfac + 1e-4);
      }
      if (k === 1) expect(l.exact).toBeNull();
      else expect(relativeError(l.exact!.eigenvalues, ref.exact!.eigenvalues)).toBeLessThan(1e-3);
    });
  });
});
