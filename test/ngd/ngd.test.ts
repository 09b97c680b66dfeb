// Natural gradient on wide networks (docs/curvature-tools.md §7): NGD's residual ratio is exactly
// 1 − η on a linear model and η = 1 solves it in one step; on the ReLU net at m = 4096 with η = 0.5
// every one of the first 6 ratios is within 0.05 of 0.5; GD's rate is 1 − λ₀/λ_max as predicted;
// the K-FAC step equals the dense (G ⊗ A + λI)⁻¹ ∇L; the same run on WebGPU matches the CPU.
import { describe, expect, it } from 'vitest';
import {
  circlePoints,
  kfacStepMatrix,
  inputEigenbasis,
  loadNgdData,
  normalizeRows,
  runWide,
  TwoLayerNet,
  type NgdData,
} from '../../src/engine/ngd/index.ts';
import { choleskySolve } from '../../src/engine/ngd/host-solve.ts';
import { Rng } from '../../src/engine/random.ts';
import { useBackends } from '../helpers/backends.ts';

const b = useBackends();

/** n random unit-norm rows in R^d, targets N(0, 1); `closeness` > 0 moves row 1 towards row 0 (a smaller λ₀). */
function randomData(n: number, d: number, seed: number, closeness = 0): NgdData {
  const rng = new Rng(seed);
  const inputs = rng.normalArray(n * d);
  for (let j = 0; j < d; j++) inputs[d + j] = closeness * inputs[j] + (1 - closeness) * inputs[d + j];
  return { dataset: 'points', inputs: normalizeRows(inputs, n, d), targets: rng.normalArray(n), n, d };
}

describe('NGD on a linear model (J constant)', () => {
  const data = randomData(5, 8, 1);
  for (const eta of [0.3, 0.5, 0.9]) {
    it(`every residual ratio is 1 − η for η = ${eta}`, async () => {
      const run = await runWide(b.cpu, data, {
        width: 16,
        seed: 2,
        method: 'ngd',
        eta,
        steps: 6,
        activation: 'linear',
        ridge: 0,
        dtype: 'float64',
      });
      for (const ratio of run.ratios) expect(ratio).toBeCloseTo(1 - eta, 10);
      expect(run.predictedRate).toBe(1 - eta);
    });
  }
  it('η = 1 solves it in one step', async () => {
    const run = await runWide(b.cpu, data, {
      width: 16,
      seed: 2,
      method: 'ngd',
      eta: 1,
      steps: 1,
      activation: 'linear',
      ridge: 0,
      dtype: 'float64',
    });
    expect(run.residuals[0]).toBeGreaterThan(0.1);
    expect(run.residuals[1] / run.residuals[0]).toBeLessThan(1e-10);
  });
});

describe('NGD on the wide ReLU net', () => {
  it('m = 4096, η = 0.5: each of the first 6 per-step ratios is within 0.05 of 0.5 (2-D points, float64)', async () => {
    const run = await runWide(b.cpu, circlePoints(16, 3), { width: 4096, seed: 1, method: 'ngd', eta: 0.5, steps: 6, dtype: 'float64' });
    for (const ratio of run.ratios) expect(Math.abs(ratio - 0.5), run.ratios.join(', ')).toBeLessThan(0.05);
  });
  it('the same on MNIST 4 vs 9 (n = 40, wasm)', async () => {
    const run = await runWide(b.wasm, await loadNgdData('mnist-4-9', 40, 0), { width: 4096, seed: 1, method: 'ngd', eta: 0.5, steps: 6 });
    for (const ratio of run.ratios) expect(Math.abs(ratio - 0.5), run.ratios.join(', ')).toBeLessThan(0.05);
  });
  it('at width 16 the ratios stray further from 1 − η than at 4096 (the wide limit is what the theorem needs)', async () => {
    const data = circlePoints(16, 3);
    const spread = async (width: number) => {
      const run = await runWide(b.cpu, data, { width, seed: 1, method: 'ngd', eta: 0.5, steps: 6, dtype: 'float64' });
      return Math.max(...run.ratios.map((r) => Math.abs(r - 0.5)));
    };
    expect(await spread(16)).toBeGreaterThan(await spread(4096));
  });
});

describe('GD at its largest stable step', () => {
  it('contracts at 1 − λ₀/λ_max per step, so a smaller λ₀ is slower (linear model)', async () => {
    const rates = [];
    for (const closeness of [0, 0.9]) {
      const data = randomData(4, 6, 5, closeness);
      const run = await runWide(b.cpu, data, {
        width: 8,
        seed: 2,
        method: 'gd',
        eta: 1,
        steps: 400,
        activation: 'linear',
        dtype: 'float64',
      });
      const last = run.ratios[run.ratios.length - 1];
      expect(last).toBeCloseTo(run.predictedRate!, 4);
      rates.push(last);
    }
    expect(rates[1] - rates[0], rates.join(' vs ')).toBeGreaterThan(0.01);
  });
  it('on the ReLU net at m = 4096 the slowest-mode rate is close to the prediction from the initial Gram matrix', async () => {
    const run = await runWide(b.cpu, circlePoints(8, 2), { width: 4096, seed: 1, method: 'gd', eta: 1, steps: 150, dtype: 'float64' });
    const last = run.ratios[run.ratios.length - 1];
    expect(Math.abs(last - run.predictedRate!), `measured ${last}, predicted ${run.predictedRate}`).toBeLessThan(0.01);
  });
});

describe('K-FAC on the first layer', () => {
  it('the low-rank step equals the dense (G ⊗ A + λI)⁻¹ ∇_W L', async () => {
    const be = b.cpu;
    const data = randomData(5, 3, 7);
    const [n, d, m, lambda, eta] = [5, 3, 4, 0.01, 0.7];
    const net = new TwoLayerNet(be, data, { width: m, seed: 3, dtype: 'float64' });
    const e = await net.evaluate();
    const { weight: w0, head } = await net.readWeights();
    const r = e.outputs.map((u, i) => u - data.targets[i]);
    net.step(kfacStepMatrix(data, e, r, inputEigenbasis(data), lambda, eta));
    const { weight: w1 } = await net.readWeights();
    // Dense: g_i = head ⊙ S_i, G = Σ g gᵀ / n, A = Σ x xᵀ / n, V = Σ r_i g_i x_iᵀ / n (row-major vec).
    const x = data.inputs;
    const g = Array.from({ length: n }, (_, i) =>
      Array.from({ length: m }, (_, k) => {
        let pre = 0;
        for (let j = 0; j < d; j++) pre += w0[k * d + j] * x[i * d + j];
        return pre > 0 ? head[k] : 0;
      }),
    );
    const p = m * d;
    const f = new Float64Array(p * p);
    const v = new Float64Array(p);
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < m; k++) {
        for (let j = 0; j < d; j++) v[k * d + j] += (r[i] * g[i][k] * x[i * d + j]) / n;
      }
    }
    for (let k = 0; k < m; k++)
      for (let j = 0; j < d; j++)
        for (let k2 = 0; k2 < m; k2++)
          for (let j2 = 0; j2 < d; j2++) {
            let gg = 0;
            let aa = 0;
            for (let i = 0; i < n; i++) {
              gg += (g[i][k] * g[i][k2]) / n;
              aa += (x[i * d + j] * x[i * d + j2]) / n;
            }
            f[(k * d + j) * p + k2 * d + j2] = gg * aa;
          }
    const delta = choleskySolve(f, p, v, lambda);
    for (let q = 0; q < p; q++) expect(w1[q] - w0[q]).toBeCloseTo(-eta * delta[q], 9);
    net.dispose();
  });
});

describe('on WebGPU', () => {
  it('NGD, GD and K-FAC give the CPU float64 residuals (awkward sizes n = 17, m = 65, d = 3)', async () => {
    const data = circlePoints(17, 4);
    for (const method of ['ngd', 'gd', 'kfac'] as const) {
      const options = { width: 65, seed: 2, method, eta: 0.5, steps: 3, kfacDamping: 0.05 };
      const gpu = await runWide(b.gpu, data, options);
      const cpu = await runWide(b.cpu, data, { ...options, dtype: 'float64' });
      for (let k = 0; k < cpu.residuals.length; k++) expect(gpu.residuals[k] / cpu.residuals[k], method).toBeCloseTo(1, 2);
    }
  });
});
