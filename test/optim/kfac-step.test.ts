// The K-FAC step against hand computations (docs/kfac.md §4), float64 on the CPU backend: one
// Linear layer with a squared-error loss, whose type-2 factors have closed forms (A = mean of
// [x; 1][x; 1]ᵀ, G = 2N I for a summed loss), so the preconditioned direction Δ, the KL-clip scale
// ν, momentum, weight decay, the running average of the factors, the T_cov / T_inv schedule with
// its warm start, the MC seed and the Levenberg–Marquardt ratio can all be checked to rounding.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CpuBackend } from '../../src/engine/backend/cpu/cpu-backend.ts';
import * as ops from '../../src/engine/autograd/ops.ts';
import { constant, parameter, type Variable } from '../../src/engine/autograd/variable.ts';
import { Linear } from '../../src/engine/nn/linear.ts';
import { lossSpec } from '../../src/engine/nn/losses.ts';
import type { KfacLayerInfo } from '../../src/engine/nn/curvature-hook.ts';
import type { NamedParameter } from '../../src/engine/nn/module.ts';
import { Mlp } from '../../src/engine/nn/models/mlp.ts';
import { createOptimizer } from '../../src/engine/optim/factory.ts';
import { KfacOptimizer, mcSeed } from '../../src/engine/optim/kfac/kfac-optimizer.ts';
import type { KfacSettings } from '../../src/engine/optim/kfac/types.ts';
import { Rng } from '../../src/engine/random.ts';
import { keep, type Tensor } from '../../src/engine/tensor.ts';
import { expectClose, relativeError } from '../helpers/compare.ts';
import { denseInverse, hostMatmul } from '../helpers/matrices.ts';

const cpu = new CpuBackend();
const [N, D_IN, D_OUT] = [6, 3, 2];
const W = D_IN + 1; // columns of [W | b]

afterEach(() => vi.restoreAllMocks());

// ---- host linear algebra (float64) ---------------------------------------------------------------

const addDiagonal = (m: ArrayLike<number>, n: number, s: number) => Float64Array.from(m, (v, i) => (i % (n + 1) === 0 ? v + s : v));
const trace = (m: ArrayLike<number>, n: number) => Array.from({ length: n }, (_, i) => m[i * n + i]).reduce((a, b) => a + b, 0);
const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((s, v, i) => s + v * b[i], 0);
const axpy = (alpha: number, x: ArrayLike<number>, y: ArrayLike<number>) => Float64Array.from(y, (v, i) => v + alpha * x[i]);
const scaled = (alpha: number, x: ArrayLike<number>) => Float64Array.from(x, (v) => alpha * v);

// ---- the problem: one Linear layer, MSE with reduction sum ---------------------------------------

const rng = new Rng(11);
const X = rng.normalArray(N * D_IN);
const Y = rng.normalArray(N * D_OUT);
/** Rows [x_n; 1]. */
const augmented = Array.from({ length: N }, (_, n) => [...X.slice(n * D_IN, (n + 1) * D_IN), 1]);
/** A = (1/N) Σ_n [x; 1][x; 1]ᵀ (type-2, no sharing). */
const A_EXACT = (() => {
  const a = new Float64Array(W * W);
  for (const row of augmented) for (let i = 0; i < W; i++) for (let j = 0; j < W; j++) a[i * W + j] += (row[i] * row[j]) / N;
  return a;
})();
/** G = Σ_n S Sᵀ with S = √2 I (MSE sum): 2N I. */
const G_EXACT = addDiagonal(new Float64Array(D_OUT * D_OUT), D_OUT, 2 * N);

/** θ = [W | b] as [D_OUT, W] row-major. */
function theta(layer: Linear): Float64Array {
  const w = cpu.readSync(layer.weight.value);
  const b = cpu.readSync(layer.bias!.value);
  const out = new Float64Array(D_OUT * W);
  for (let o = 0; o < D_OUT; o++) {
    for (let i = 0; i < D_IN; i++) out[o * W + i] = w[o * D_IN + i];
    out[o * W + D_IN] = b[o];
  }
  return out;
}

/** V = ∂L/∂[W | b] = Σ_n 2 (f_n − y_n) [x_n; 1]ᵀ. */
function gradient(th: ArrayLike<number>): Float64Array {
  const v = new Float64Array(D_OUT * W);
  augmented.forEach((row, n) => {
    for (let o = 0; o < D_OUT; o++) {
      const f = dot(Array.from(th).slice(o * W, (o + 1) * W), row);
      const r = 2 * (f - Y[n * D_OUT + o]);
      for (let i = 0; i < W; i++) v[o * W + i] += r * row[i];
    }
  });
  return v;
}

/** Δ = (G + (√λ/π) I)⁻¹ V (A + π√λ I)⁻¹ with π-damping (the Cholesky method). */
function choleskyDirection(v: ArrayLike<number>, lambda: number): Float64Array {
  const pi = Math.sqrt(trace(A_EXACT, W) / W / (trace(G_EXACT, D_OUT) / D_OUT));
  const aInv = denseInverse(addDiagonal(A_EXACT, W, pi * Math.sqrt(lambda)), W);
  const gInv = denseInverse(addDiagonal(G_EXACT, D_OUT, Math.sqrt(lambda) / pi), D_OUT);
  return hostMatmul(hostMatmul(gInv, v, D_OUT, D_OUT, W), aInv, D_OUT, W, W);
}

interface Run {
  layer: Linear;
  optimizer: KfacOptimizer;
  step(i: number): Promise<number | undefined>;
  dispose(): void;
}

function linearRun(settings: Partial<KfacSettings>, extra: Partial<ConstructorParameters<typeof KfacOptimizer>[1]> = {}): Run {
  const layer = new Linear({ backend: cpu, seed: 4, precision: 'float64' }, 'fc', D_IN, D_OUT);
  const x = cpu.tensor(X, [N, D_IN], 'float64');
  const y = cpu.tensor(Y, [N, D_OUT], 'float64');
  const optimizer = new KfacOptimizer({ fisherType: 'type-2', momentum: 0, ...settings }, { approx: 'expand', ...extra });
  return {
    layer,
    optimizer,
    async step(i) {
      const out = await optimizer.trainStep({
        params: layer.parameters(),
        forward: () => layer.forward(constant(x)),
        loss: { spec: lossSpec('mse', 'sum'), targets: y },
        step: i,
      });
      out.loss.dispose();
      return out.klScale;
    },
    dispose() {
      optimizer.dispose();
      layer.dispose();
      [x, y].forEach((t) => t.dispose());
    },
  };
}

// ---- KL clipping ----------------------------------------------------------------------------------

describe('KL clipping (docs/kfac.md §4 step 4)', () => {
  const lambda = 1e-3;

  it('the factors are the closed forms, ν = min(1, √(κ / |η² Σ Δ⊙V|)) by hand, and the step is −η ν Δ', async () => {
    for (const { lr, klClip, binds } of [
      { lr: 0.5, klClip: 1e-4, binds: true },
      { lr: 1e-3, klClip: 1e-2, binds: false },
    ]) {
      const run = linearRun({ lr, klClip, damping: lambda });
      const before = theta(run.layer);
      const nu = await run.step(0);
      const f = run.optimizer.factorsOf('fc')!;
      expect(relativeError(cpu.readSync(f.A), A_EXACT)).toBeLessThan(1e-14);
      expect(relativeError(cpu.readSync(f.G), G_EXACT)).toBeLessThan(1e-14);
      const v = gradient(before);
      const delta = choleskyDirection(v, lambda);
      const want = Math.min(1, Math.sqrt(klClip / Math.abs(lr * lr * dot(delta, v))));
      expect(want < 1, `the case should ${binds ? '' : 'not '}bind (ν = ${want})`).toBe(binds);
      expect(Math.abs(nu! - want)).toBeLessThan(1e-12 * want);
      expect(run.optimizer.klScale).toBe(nu);
      expectClose(theta(run.layer), axpy(-lr * want, delta, before), { rtol: 1e-11, atol: 1e-13 }, 'θ₁');
      run.dispose();
    }
  });

  it('with the clip off ν = 1 and the step scales linearly with η; while it binds the step does not depend on η', async () => {
    const change = async (lr: number, klClip: number) => {
      const run = linearRun({ lr, klClip, damping: lambda });
      const before = theta(run.layer);
      const nu = await run.step(0);
      const moved = axpy(-1, before, theta(run.layer));
      run.dispose();
      return { nu, moved };
    };
    const [small, large] = [await change(0.01, 0), await change(0.03, 0)];
    expect([small.nu, large.nu]).toEqual([1, 1]);
    expect(relativeError(large.moved, scaled(3, small.moved))).toBeLessThan(1e-13);
    const [clippedSmall, clippedLarge] = [await change(0.5, 1e-6), await change(1.5, 1e-6)];
    expect(clippedSmall.nu!).toBeLessThan(1);
    expect(Math.abs(clippedLarge.nu! * 3 - clippedSmall.nu!)).toBeLessThan(1e-14);
    expect(relativeError(clippedLarge.moved, clippedSmall.moved)).toBeLessThan(1e-13);
  });

  it('reportKlScale off: no ν read, klScale undefined while clipping, 1 with the clip off', async () => {
    const clipped = linearRun({ klClip: 1e-3 }, { reportKlScale: false });
    expect(await clipped.step(0)).toBeUndefined();
    clipped.dispose();
    const off = linearRun({ klClip: 0 }, { reportKlScale: false });
    expect(await off.step(0)).toBe(1);
    off.dispose();
  });
});

// ---- momentum and weight decay ---------------------------------------------------------------------

describe('momentum and weight decay (docs/kfac.md §4 step 5)', () => {
  it('two steps equal v ← μ v + Δ + wd θ, θ ← θ − η v, with Δ from the step-0 inverses', async () => {
    const [lr, mu, wd, lambda] = [0.05, 0.7, 0.01, 1e-2];
    // T_inv 100 and one warm-start step: the second step reuses the first inverses.
    const run = linearRun({ lr, momentum: mu, weightDecay: wd, damping: lambda, klClip: 0, tInv: 100, inverseWarmup: 1 });
    const th0 = theta(run.layer);
    await run.step(0);
    const v1 = axpy(wd, th0, choleskyDirection(gradient(th0), lambda));
    const th1 = axpy(-lr, v1, th0);
    expectClose(theta(run.layer), th1, { rtol: 1e-12, atol: 1e-14 }, 'θ₁');
    await run.step(1);
    const v2 = axpy(mu, v1, axpy(wd, th1, choleskyDirection(gradient(th1), lambda)));
    expectClose(theta(run.layer), axpy(-lr, v2, th1), { rtol: 1e-12, atol: 1e-14 }, 'θ₂');
    run.dispose();
  });
});

// ---- running average and schedule -----------------------------------------------------------------

function fakeLayer(name: string, dOut: number, dIn: number): KfacLayerInfo {
  const weight = parameter(keep(cpu.zeros([dOut, dIn], 'float64')), `${name}.weight`);
  return { name, weight: { name: `${name}.weight`, variable: weight }, bias: null, sharedDims: [] };
}

describe('the running average of the factors (docs/kfac.md §4 step 1)', () => {
  const layer = fakeLayer('fc', 2, 2);
  const batches = [1, 2, 3, 4, 5, 6, 7, 8].map((k) => ({ a: [k, 0, 0, 1], g: [2 * k, 1, 1, 3] }));
  const feed = (optimizer: KfacOptimizer, count: number) => {
    const seen: number[] = [];
    for (const { a, g } of batches.slice(0, count)) {
      const f = {
        name: 'fc',
        layer,
        A: cpu.tensor(a, [2, 2], 'float64'),
        G: cpu.tensor(g, [2, 2], 'float64'),
        setting: 'expand' as const,
        bias: 'separate' as const,
      };
      optimizer.updateFactors([f]);
      [f.A, f.G].forEach((t) => t.dispose());
      seen.push(cpu.readSync(optimizer.factorsOf('fc')!.A)[0]);
    }
    return seen;
  };

  it('the first updates are the plain mean of their batches, then A ← ε A + (1−ε) A_batch', () => {
    const optimizer = new KfacOptimizer({ factorDecay: 0.75 }, { approx: 'expand' });
    const seen = feed(optimizer, 6);
    // Weight of the old average: min(ε, k/(k+1)) → 0, 1/2, 2/3, 3/4, 3/4, 3/4.
    const want: number[] = [];
    let avg = 0;
    batches.slice(0, 6).forEach(({ a }, k) => {
      const decay = Math.min(0.75, k / (k + 1));
      avg = decay * avg + (1 - decay) * a[0];
      want.push(avg);
    });
    expect(want.slice(0, 4)).toEqual([1, 1.5, 2, 2.5]); // the means of 1..k
    expectClose(seen, want, { rtol: 1e-15, atol: 0 }, 'A[0, 0]');
    const g = cpu.readSync(optimizer.factorsOf('fc')!.G);
    expect(g[1]).toBeCloseTo(1, 14); // a constant entry stays constant
    optimizer.dispose();
  });

  it('with T_cov > 1 each update decays by ε^T_cov (the same memory in steps)', () => {
    const optimizer = new KfacOptimizer({ factorDecay: 0.9, tCov: 3 }, { approx: 'expand' });
    const seen = feed(optimizer, 8);
    const perUpdate = 0.9 ** 3; // 0.729: after 3 updates min(0.729, 3/4) = 0.729
    const want: number[] = [];
    let avg = 0;
    batches.forEach(({ a }, k) => {
      const decay = Math.min(perUpdate, k / (k + 1));
      avg = decay * avg + (1 - decay) * a[0];
      want.push(avg);
    });
    expectClose(seen, want, { rtol: 1e-15, atol: 0 }, 'A[0, 0]');
    expect(Math.min(perUpdate, 3 / 4)).toBe(perUpdate);
    optimizer.dispose();
  });
});

describe('the running average inside training: decay ε^(steps since the last factor update)', () => {
  it('warm start 2, T_cov 3: updates at steps 0, 1, 3, 6 decay by min(ε^gap, k/(k+1)) = 0, ½, ε², ε³', async () => {
    const eps = 0.5;
    const layer = new Linear({ backend: cpu, seed: 4, precision: 'float64' }, 'fc', D_IN, D_OUT);
    const optimizer = new KfacOptimizer(
      { fisherType: 'type-2', momentum: 0, klClip: 0, lr: 1e-3, factorDecay: eps, tCov: 3, inverseWarmup: 2 },
      { approx: 'expand' },
    );
    const batchA = (s: number) => {
      const xs = new Rng(100 + s).normalArray(N * D_IN);
      const a = new Float64Array(W * W);
      for (let n = 0; n < N; n++) {
        const row = [...xs.slice(n * D_IN, (n + 1) * D_IN), 1];
        for (let i = 0; i < W; i++) for (let j = 0; j < W; j++) a[i * W + j] += (row[i] * row[j]) / N;
      }
      return { xs, a };
    };
    const y = cpu.tensor(Y, [N, D_OUT], 'float64');
    let want = new Float64Array(W * W);
    const decays: Record<number, number> = { 0: 0, 1: 0.5, 3: eps ** 2, 6: eps ** 3 };
    for (let step = 0; step < 7; step++) {
      const { xs, a } = batchA(step);
      const x = cpu.tensor(xs, [N, D_IN], 'float64');
      const { loss } = await optimizer.trainStep({
        params: layer.parameters(),
        forward: () => layer.forward(constant(x)),
        loss: { spec: lossSpec('mse', 'sum'), targets: y },
        step,
      });
      loss.dispose();
      x.dispose();
      if (step in decays) want = Float64Array.from(want, (v, i) => decays[step] * v + (1 - decays[step]) * a[i]);
      expect(relativeError(cpu.readSync(optimizer.factorsOf('fc')!.A), want), `step ${step}`).toBeLessThan(1e-14);
    }
    optimizer.dispose();
    layer.dispose();
    y.dispose();
  });
});

describe('the T_cov / T_inv schedule with its warm start', () => {
  it('factors every step during the warm start, then every T_cov; inverses every step, then every T_inv', async () => {
    const passes: number[] = [];
    let step = -1;
    const run = linearRun({ fisherType: 'mc', tCov: 2, tInv: 3, inverseWarmup: 2, klClip: 0 }, { onFactorPass: () => passes.push(step) });
    const cholesky = vi.spyOn(cpu, 'cholesky');
    const inverted: number[] = [];
    for (step = 0; step < 8; step++) {
      const before = cholesky.mock.calls.length;
      await run.step(step);
      if (cholesky.mock.calls.length > before) inverted.push(step);
    }
    expect(passes).toEqual([0, 1, 2, 4, 6]); // one MC pass per factor step (rank-2 outputs)
    expect(inverted).toEqual([0, 1, 3, 6]);
    run.dispose();
  });
});

// ---- the MC seed ------------------------------------------------------------------------------------

describe('the run seed reaches the Monte Carlo labels', () => {
  const gAfterOneStep = async (seed: number) => {
    const model = new Mlp({ backend: cpu, seed: 2, precision: 'float64' }, { widths: [3, 4, 3] });
    const x = cpu.tensor(new Rng(5).normalArray(8 * 3), [8, 3], 'float64');
    const y = cpu.tensor([0, 1, 2, 0, 1, 2, 0, 1], [8], 'int32');
    const optimizer = createOptimizer('kfac-expand', { fisherType: 'mc' }, { seed }) as KfacOptimizer;
    const { loss } = await optimizer.trainStep({
      params: model.parameters(),
      forward: () => model.forward(constant(x)),
      loss: { spec: lossSpec('ce', 'mean'), targets: y },
      step: 0,
    });
    loss.dispose();
    const g = Array.from(cpu.readSync(optimizer.factorsOf(optimizer.layerNames.at(-1)!)!.G));
    optimizer.dispose();
    model.dispose();
    [x, y].forEach((t) => t.dispose());
    return g;
  };

  it('the same seed gives the same draws, another seed other draws', async () => {
    const [a, again, b] = [await gAfterOneStep(1), await gAfterOneStep(1), await gAfterOneStep(2)];
    expect(again).toEqual(a);
    expect(relativeError(b, a)).toBeGreaterThan(1e-2);
    expect(() => createOptimizer('kfac-reduce', {}, { seed: -1 })).toThrow(/seed must be an integer/);
  });

  it('mcSeed separates runs and steps (no seed·k + step collisions)', () => {
    const seen = new Set<number>();
    for (let seed = 0; seed < 20; seed++) for (let step = 0; step < 200; step++) seen.add(mcSeed(seed, step));
    expect(seen.size).toBe(20 * 200);
    expect(mcSeed(1, 0)).not.toBe(mcSeed(0, 7919));
  });
});

// ---- adaptive damping with a fallback parameter ------------------------------------------------------

describe('adaptive damping counts only the K-FAC layers (the fallback steps after the trial loss)', () => {
  it('an exact Newton step on the layer has ρ = 1 even when the fallback moves another parameter a lot', async () => {
    const layer = new Linear({ backend: cpu, seed: 4, precision: 'float64' }, 'fc', D_IN, D_OUT);
    const shift = parameter(keep(cpu.tensor([0.3, -0.2], [D_OUT], 'float64')), 'shift');
    const params: NamedParameter[] = [...layer.parameters(), { name: 'shift', variable: shift }];
    const x = cpu.tensor(X, [N, D_IN], 'float64');
    const y = cpu.tensor(Y, [N, D_OUT], 'float64');
    const forward = (): Variable => ops.add(layer.forward(constant(x)), shift);
    const optimizer = new KfacOptimizer(
      {
        lr: 1,
        momentum: 0,
        klClip: 0,
        damping: 1e-4,
        fisherType: 'type-2',
        inverseMethod: 'eigen',
        adaptiveDamping: true,
        fallback: 'sgd',
        fallbackLr: 0.05,
      },
      { approx: 'expand', adaptiveDampingRule: { interval: 1 } },
    );
    const shiftBefore = Array.from(cpu.readSync(shift.value));
    const { loss } = await optimizer.trainStep({ params, forward, loss: { spec: lossSpec('mse', 'sum'), targets: y }, step: 0 });
    loss.dispose();
    expect(relativeError(cpu.readSync(shift.value), shiftBefore)).toBeGreaterThan(0.1); // the fallback did move it
    const event = optimizer.events.find((e) => e.kind === 'damping');
    expect(event?.kind).toBe('damping');
    if (event?.kind !== 'damping') return;
    // The loss is exactly quadratic in [W | b] with Hessian G ⊗ A, so ρ = 1 to rounding whatever λ.
    expect(Math.abs(event.rho! - 1)).toBeLessThan(1e-10);
    expect(event.damping).toBeCloseTo(1e-4 * 0.95, 18); // ρ > 3/4 lowers λ by ω = 0.95¹
    optimizer.dispose();
    layer.dispose();
    [x, y, shift.value].forEach((t: Tensor) => t.dispose());
  });
});
