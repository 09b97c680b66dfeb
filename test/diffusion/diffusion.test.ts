// The 2-D diffusion model (src/engine/diffusion/, docs/curvature-tools.md §3): the noise schedule's
// closed forms, the forward process, the loss over (t, ε) draws, K-FAC-expand over the draws
// against the exact GGN, seeded sampling, and training.
import { describe, expect, it } from 'vitest';
import { exactCurvatureMatrix, fitCurvature } from '../../src/engine/curvature/toolkit.ts';
import { kron } from '../../src/engine/curvature/exact-ggn.ts';
import { alphaBar, elboWeight, forwardMoments, makeSchedule, meanFromEpsilon, posterior } from '../../src/engine/diffusion/schedule.ts';
import { MlpDenoiser } from '../../src/engine/diffusion/denoiser.ts';
import { pointCloud } from '../../src/engine/diffusion/point-cloud.ts';
import { drawBatch, drawLossData, fixedDraws, noisyRows, selectDraws, type Draws } from '../../src/engine/diffusion/draws.ts';
import { drawLosses } from '../../src/engine/diffusion/draw-loss.ts';
import { sampleDdpm } from '../../src/engine/diffusion/sample.ts';
import { trainDenoiser } from '../../src/engine/diffusion/train.ts';
import { mse } from '../../src/engine/nn/losses.ts';
import { useBackends } from '../helpers/backends.ts';

const backends = useBackends();

describe('noise schedule', () => {
  it('ᾱ is the running product of α = 1 − β, decreasing from ≈1 towards 0 (linear and cosine)', () => {
    for (const kind of ['linear', 'cosine'] as const) {
      const s = makeSchedule({ steps: 50, kind });
      let product = 1;
      for (let t = 1; t <= 50; t++) {
        product *= 1 - s.betas[t - 1];
        expect(s.alphaBars[t - 1]).toBeCloseTo(product, 14);
        if (t > 1) expect(s.alphaBars[t - 1]).toBeLessThan(s.alphaBars[t - 2]);
      }
      expect(s.alphaBars[0]).toBeGreaterThan(0.99);
      expect(s.alphaBars[49]).toBeLessThan(0.1);
    }
    expect(() => makeSchedule({ steps: 0 })).toThrow(/steps/);
    expect(() => makeSchedule({ betaEnd: 1.5 })).toThrow(/betaEnd/);
    expect(() => posterior(makeSchedule({ steps: 5 }), 6)).toThrow(/t must be/);
  });

  it('posterior q(x_{t−1} | x_t, x_0) equals Gaussian conditioning of q(x_t | x_{t−1}) q(x_{t−1} | x_0)', () => {
    const s = makeSchedule({ steps: 30, betaEnd: 0.2 });
    for (const t of [2, 3, 17, 30]) {
      // Precisions add: 1/v = α_t/β_t + 1/(1 − ᾱ_{t−1}); mean = v (√α_t x_t / β_t + √ᾱ_{t−1} x_0 / (1 − ᾱ_{t−1})).
      const [beta, alpha, abPrev] = [s.betas[t - 1], 1 - s.betas[t - 1], alphaBar(s, t - 1)];
      const v = 1 / (alpha / beta + 1 / (1 - abPrev));
      const p = posterior(s, t);
      expect(p.variance).toBeCloseTo(v, 14);
      expect(p.coefXt).toBeCloseTo((v * Math.sqrt(alpha)) / beta, 12);
      expect(p.coefX0).toBeCloseTo((v * Math.sqrt(abPrev)) / (1 - abPrev), 12);
      // μ_θ from the true ε is the posterior mean at x_0 = (x_t − √(1−ᾱ_t) ε)/√ᾱ_t.
      const [x0, eps] = [0.7, -1.3];
      const { mean, std } = forwardMoments(s, t);
      const xt = mean * x0 + std * eps;
      const m = meanFromEpsilon(s, t);
      expect(m.onXt * xt + m.onEps * eps).toBeCloseTo(p.coefX0 * x0 + p.coefXt * xt, 12);
      // The ELBO's weight with σ² = β: KL of the two Gaussians' means, ‖μ̃ − μ_θ‖² / (2β) per unit ‖ε − ε̂‖².
      expect(elboWeight(s, t)).toBeCloseTo(m.onEps ** 2 / (2 * beta), 12);
    }
    // t = 1: x_0 is known exactly (β̃_1 = 0) and the mean is x_0.
    const p1 = posterior(s, 1);
    expect(p1.variance).toBe(0);
    expect(p1.coefX0).toBeCloseTo(1, 11);
    expect(p1.coefXt).toBe(0);
  });

  it('forward process: x_t = √ᾱ x_0 + √(1−ᾱ) ε has mean √ᾱ_t x_0 and variance 1 − ᾱ_t per coordinate', () => {
    const s = makeSchedule({ steps: 100 });
    const n = 20000;
    const draws = fixedDraws({ seed: 3, examples: 1, draws: 4096, steps: 100 });
    // Fix t = 40 and reuse the 4096·5 standard normals of five draw sets.
    const ts = new Int32Array(n).fill(40);
    const eps = new Float32Array(2 * n);
    for (let k = 0; k < 5; k++) eps.set(fixedDraws({ seed: 10 + k, examples: 1, draws: 4000, steps: 100 }).eps, k * 8000);
    const x0 = Float32Array.from([0.6, -0.4]);
    const { inputs } = noisyRows(s, 0, x0, { examples: 1, draws: n, t: ts, eps });
    const { mean, std } = forwardMoments(s, 40);
    for (let d = 0; d < 2; d++) {
      let m = 0;
      let v = 0;
      for (let i = 0; i < n; i++) m += inputs[2 * i + d] / n;
      for (let i = 0; i < n; i++) v += (inputs[2 * i + d] - m) ** 2 / (n - 1);
      expect(Math.abs(m - mean * x0[d])).toBeLessThan((5 * std) / Math.sqrt(n));
      expect(Math.abs(v / std ** 2 - 1)).toBeLessThan(5 * Math.sqrt(2 / n));
    }
    // t is uniform on 1..T.
    const counts = new Array(101).fill(0);
    for (const t of draws.t) counts[t]++;
    expect(counts[0]).toBe(0);
    expect(Math.max(...counts) / 4096).toBeLessThan(0.03);
  });
});

describe('loss over (t, ε) draws', () => {
  it('a point’s loss over R draws is the average of its per-draw losses (simple and ELBO weighting; cpu, wasm)', async () => {
    for (const be of [backends.cpu, backends.wasm]) {
      const s = makeSchedule({ steps: 20 });
      const model = new MlpDenoiser(
        { backend: be, seed: 2, precision: be === backends.cpu ? 'float64' : 'float32' },
        { hidden: [5], embedDim: 4 },
      );
      const points = pointCloud({ id: 'spirals', count: 6, seed: 1 });
      const draws = fixedDraws({ seed: 4, examples: 6, draws: 7, steps: 20 });
      for (const weighting of ['simple', 'elbo'] as const) {
        const whole = await drawLosses(model, s, points, draws, { weighting, batchSize: 4 });
        for (let n = 0; n < 6; n++) {
          let sum = 0;
          for (let r = 0; r < 7; r++) {
            const one: Draws = {
              examples: 1,
              draws: 1,
              t: draws.t.subarray(n * 7 + r, n * 7 + r + 1),
              eps: draws.eps.subarray(2 * (n * 7 + r), 2 * (n * 7 + r + 1)),
            };
            // A batch of one draw with reduction 'sum' is that draw's squared error (weighted for the ELBO).
            const batch = drawBatch(model, s, points.subarray(2 * n, 2 * n + 2), one, { weighting, reduction: 'sum' });
            sum += (await mse(batch.forward(), batch.loss.targets, 'sum').value.read())[0];
            batch.dispose();
          }
          expect(whole[n]).toBeCloseTo(sum / 7, be === backends.cpu ? 12 : 4);
        }
      }
      model.dispose();
    }
  });

  it('draws are fixed per point: a subset of points keeps the same draws', () => {
    const all = fixedDraws({ seed: 9, examples: 10, draws: 3, steps: 50 });
    const few = fixedDraws({ seed: 9, examples: 4, draws: 3, steps: 50 });
    const picked = selectDraws(all, Int32Array.from([0, 1, 2, 3]));
    expect(Array.from(picked.t)).toEqual(Array.from(few.t));
    expect(Array.from(picked.eps)).toEqual(Array.from(few.eps));
  });
});

describe('K-FAC over the draws', () => {
  it('K-FAC-expand over R draws of a linear denoiser equals its exact GGN (several batches, float64)', async () => {
    const cpu = backends.cpu;
    const s = makeSchedule({ steps: 10 });
    const model = new MlpDenoiser({ backend: cpu, seed: 5, precision: 'float64' }, { hidden: [], embedDim: 4 });
    const points = pointCloud({ id: 'checkerboard', count: 5, seed: 2 });
    const draws = fixedDraws({ seed: 1, examples: 5, draws: 3, steps: 10 });
    const curvature = await fitCurvature(model, drawLossData({ model, schedule: s, points, draws, batchSize: 2 }), {
      approx: 'expand',
      setting: 'expand',
      fisher: 'type-2',
    });
    const [layer] = curvature.layers;
    const kfac = kron(await layer.G.read(), await layer.A.read());
    const all = drawBatch(model, s, points, draws);
    const exact = exactCurvatureMatrix(model, all.forward, all.loss);
    expect(exact.size).toBe(2 * 7);
    let maxDiff = 0;
    let maxAbs = 0;
    for (let i = 0; i < exact.values.length; i++) {
      maxDiff = Math.max(maxDiff, Math.abs(exact.values[i] - kfac.values[i]));
      maxAbs = Math.max(maxAbs, Math.abs(exact.values[i]));
    }
    expect(maxDiff / maxAbs).toBeLessThan(1e-12);
    all.dispose();
    curvature.dispose();
    model.dispose();
  });

  it('with a hidden ReLU layer the K-FAC block of the first layer is no longer exact (the oracle can fail)', async () => {
    const cpu = backends.cpu;
    const s = makeSchedule({ steps: 10 });
    const model = new MlpDenoiser({ backend: cpu, seed: 5, precision: 'float64' }, { hidden: [4], embedDim: 4 });
    const points = pointCloud({ id: 'checkerboard', count: 5, seed: 2 });
    const draws = fixedDraws({ seed: 1, examples: 5, draws: 3, steps: 10 });
    const data = drawLossData({ model, schedule: s, points, draws, batchSize: 5 });
    const curvature = await fitCurvature(model, data, { approx: 'expand', setting: 'expand', fisher: 'type-2' });
    const first = curvature.layers[0];
    const kfac = kron(await first.G.read(), await first.A.read());
    const all = drawBatch(model, s, points, draws);
    const exact = exactCurvatureMatrix(model, all.forward, all.loss);
    const { offset } = exact.layers[0];
    let maxDiff = 0;
    let maxAbs = 0;
    for (let i = 0; i < kfac.size; i++)
      for (let j = 0; j < kfac.size; j++) {
        const e = exact.values[(offset + i) * exact.size + offset + j];
        maxDiff = Math.max(maxDiff, Math.abs(e - kfac.values[i * kfac.size + j]));
        maxAbs = Math.max(maxAbs, Math.abs(e));
      }
    expect(maxDiff / maxAbs).toBeGreaterThan(1e-3);
    all.dispose();
    curvature.dispose();
    model.dispose();
  });
});

describe('sampling and training', () => {
  it('ancestral sampling is seeded and reproducible (wasm, and WebGPU against wasm)', async () => {
    const s = makeSchedule({ steps: 25 });
    const onWasm = new MlpDenoiser({ backend: backends.wasm, seed: 7 }, { hidden: [17, 3] });
    const a = await sampleDdpm(onWasm, s, { count: 65, seed: 11, keepSteps: [25, 0] });
    const b = await sampleDdpm(onWasm, s, { count: 65, seed: 11 });
    const c = await sampleDdpm(onWasm, s, { count: 65, seed: 12 });
    expect(Array.from(b.points)).toEqual(Array.from(a.points));
    expect(Array.from(c.points)).not.toEqual(Array.from(a.points));
    expect(a.trajectory.map((x) => x.step)).toEqual([25, 0]);
    expect(Array.from(a.trajectory[1].points)).toEqual(Array.from(a.points));
    const onGpu = new MlpDenoiser({ backend: backends.gpu, seed: 7 }, { hidden: [17, 3] });
    const g = await sampleDdpm(onGpu, s, { count: 65, seed: 11 });
    for (let i = 0; i < g.points.length; i++) expect(g.points[i]).toBeCloseTo(a.points[i], 3);
    onWasm.dispose();
    onGpu.dispose();
  });

  it('training lowers the diffusion loss on the spirals (wasm)', async () => {
    const s = makeSchedule({ steps: 50 });
    const points = pointCloud({ id: 'spirals', count: 128, seed: 1 });
    const model = new MlpDenoiser({ backend: backends.wasm, seed: 1 }, { hidden: [32, 32] });
    const draws = fixedDraws({ seed: 2, examples: 128, draws: 8, steps: 50 });
    const mean = (x: Float64Array) => x.reduce((p, q) => p + q, 0) / x.length;
    const before = mean(await drawLosses(model, s, points, draws));
    const { losses } = await trainDenoiser({ model, schedule: s, points, steps: 300, batchSize: 32, seed: 3 });
    const after = mean(await drawLosses(model, s, points, draws));
    expect(losses).toHaveLength(300);
    expect(after).toBeLessThan(0.5 * before);
    model.dispose();
  });
});
