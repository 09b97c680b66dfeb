// Thermodynamic K-FAC (docs/curvature-tools.md §6): the quantiser's error bound, the device's
// covariance error falling like 1/√S across seeds, its linear solve, a Kronecker quadratic solved
// up to the sampling error through the optimizer on every backend, and b, S → ∞ reproducing the
// digital (Cholesky, π-damped) K-FAC update.
import { describe, expect, it } from 'vitest';
import { constant, type Variable } from '../../src/engine/autograd/variable.ts';
import { Linear } from '../../src/engine/nn/linear.ts';
import { lossSpec } from '../../src/engine/nn/losses.ts';
import { Mlp } from '../../src/engine/nn/models/mlp.ts';
import { KfacOptimizer } from '../../src/engine/optim/kfac/kfac-optimizer.ts';
import type { KfacSettings } from '../../src/engine/optim/kfac/types.ts';
import {
  inversionCost,
  quantize,
  quantizationStep,
  relativeError,
  ThermodynamicDevice,
} from '../../src/engine/optim/kfac/thermodynamic.ts';
import { createOptimizer } from '../../src/engine/optim/factory.ts';
import { Rng } from '../../src/engine/random.ts';
import type { Tensor } from '../../src/engine/tensor.ts';
import { useBackends } from '../helpers/backends.ts';
import { denseInverse, fromSpectrum, randomOrthogonal } from '../helpers/matrices.ts';

const b = useBackends();

/** An SPD matrix with eigenvalues spread geometrically over [1/condition, 1]. */
function spd(rng: Rng, n: number, condition: number): Float64Array {
  const w = Array.from({ length: n }, (_, i) => condition ** (-i / Math.max(1, n - 1)));
  return fromSpectrum(randomOrthogonal(rng, n), w, n);
}

describe('quantisation to b bits', () => {
  it('|Q(M) − M| ≤ s/2 entrywise with s = max|M| / (2^{b−1} − 1); the largest entry is exact; b = 0 is the identity', () => {
    const rng = new Rng(5);
    for (const bits of [2, 3, 4, 8, 12, 16, 24]) {
      const m = Array.from({ length: 97 }, () => rng.normal() * 10 ** rng.uniform(-3, 2));
      const { values, step } = quantize(m, bits);
      const max = Math.max(...m.map(Math.abs));
      expect(step).toBeCloseTo(max / (2 ** (bits - 1) - 1), 12);
      for (let i = 0; i < m.length; i++) {
        expect(Math.abs(values[i] - m[i])).toBeLessThanOrEqual(step / 2 + 1e-12 * max);
        expect(Math.abs(Math.round(values[i] / step) - values[i] / step)).toBeLessThan(1e-6); // on the grid
      }
      const k = m.findIndex((v) => Math.abs(v) === max);
      expect(values[k]).toBeCloseTo(m[k], 9);
    }
    expect(Array.from(quantize([0.1, -2, 3.3], 0).values)).toEqual([0.1, -2, 3.3]);
    expect(quantizationStep([0, 0], 8)).toBe(0);
    expect(() => quantize([1], 1)).toThrow(/bits/);
  });
});

describe('the simulated Ornstein–Uhlenbeck device', () => {
  it('estimates M⁻¹ with an error that falls like 1/√S (mean over seeds)', () => {
    const n = 6;
    const m = spd(new Rng(1), n, 10);
    const exact = denseInverse(m, n);
    const sizes = [100, 400, 1600, 6400];
    const seeds = 12;
    const mean = sizes.map((samples) => {
      let total = 0;
      for (let seed = 0; seed < seeds; seed++) {
        const device = new ThermodynamicDevice({ samples, bits: 0, dt: 20, seed });
        total += relativeError(device.inverse('M', m, n).result, exact);
      }
      return total / seeds;
    });
    // Slope of log error against log S by least squares: −1/2 for a Monte Carlo estimate.
    const xs = sizes.map(Math.log);
    const ys = mean.map(Math.log);
    const xm = xs.reduce((a, x) => a + x, 0) / xs.length;
    const ym = ys.reduce((a, y) => a + y, 0) / ys.length;
    const slope = xs.reduce((a, x, i) => a + (x - xm) * (ys[i] - ym), 0) / xs.reduce((a, x) => a + (x - xm) ** 2, 0);
    expect(slope, `errors ${mean.map((e) => e.toFixed(4)).join(', ')}`).toBeGreaterThan(-0.6);
    expect(slope, `errors ${mean.map((e) => e.toFixed(4)).join(', ')}`).toBeLessThan(-0.4);
    expect(mean[3]).toBeLessThan(0.1);
  });

  it('is seeded; a hot start continues the chain (a cold start at small dt is biased low)', () => {
    const n = 4;
    const m = spd(new Rng(2), n, 50);
    const run = (seed: number) => new ThermodynamicDevice({ samples: 50, bits: 8, seed }).inverse('M', m, n).result;
    expect(Array.from(run(3))).toEqual(Array.from(run(3)));
    expect(Array.from(run(3))).not.toEqual(Array.from(run(4)));
    // dt = 0.05: the slowest mode needs ~1/(ℓ_min dt) = 1000 steps to relax from x = 0. Over many short runs
    // a cold chain under-estimates tr M⁻¹; a hot one, after the first run, samples the stationary law.
    const exactTrace = [...Array(n).keys()].reduce((t, i) => t + denseInverse(m, n)[i * n + i], 0);
    const traceOf = (hotStart: boolean) => {
      const device = new ThermodynamicDevice({ samples: 200, bits: 0, dt: 0.05, hotStart, seed: 1 });
      let t = 0;
      for (let k = 0; k < 40; k++) {
        const r = device.inverse('M', m, n).result;
        for (let i = 0; i < n; i++) t += r[i * n + i] / 40;
      }
      return t;
    };
    expect(traceOf(false) / exactTrace).toBeLessThan(0.5);
    expect(Math.abs(traceOf(true) / exactTrace - 1)).toBeLessThan(0.35);
  });

  it('solves M x = v as a time average under the drift −(M x − v)', () => {
    const n = 5;
    const rng = new Rng(7);
    const m = spd(rng, n, 5);
    const v = Array.from({ length: n }, () => rng.normal());
    const inv = denseInverse(m, n);
    const exact = Array.from({ length: n }, (_, i) => v.reduce((s, vj, j) => s + inv[i * n + j] * vj, 0));
    const err = (samples: number) =>
      relativeError(new ThermodynamicDevice({ samples, bits: 0, dt: 20, seed: 2 }).solve('v', m, n, v).result, exact);
    expect(err(20000)).toBeLessThan(0.05);
    expect(err(20000)).toBeLessThan(err(50));
  });

  it('counts modes that quantisation leaves below one step, and the cost model is n³ against n²κ²', () => {
    const n = 8;
    const m = spd(new Rng(3), n, 1e4);
    const run = new ThermodynamicDevice({ samples: 10, bits: 4 }).inverse('M', m, n);
    expect(run.clampedModes).toBeGreaterThan(0);
    expect(new ThermodynamicDevice({ samples: 10, bits: 0 }).inverse('M', m, n).clampedModes).toBe(0);
    expect(inversionCost(10, 100)).toEqual({ digital: 1000, analog: 1e6 });
    expect(() => new ThermodynamicDevice({ samples: 0 })).toThrow(/samples/);
    expect(() => new ThermodynamicDevice().inverse('M', [1, Number.NaN, Number.NaN, 1], 2)).toThrow(/non-finite/);
  });
});

// ---- through the optimizer ----------------------------------------------------------------------

describe('thermodynamic K-FAC in the optimizer', () => {
  // One Linear layer, MSE (sum), no sharing: G ⊗ A is exactly the Hessian, so one digital step with lr 1 and
  // tiny damping is Newton's and lands on W*. With the device's inverses it lands there up to the sampling error.
  const [N, dIn, dOut] = [24, 3, 17];
  const rng = new Rng(11);
  const inputs = Array.from({ length: N * dIn }, () => rng.normal());
  const wStar = Array.from({ length: dOut * dIn }, () => rng.normal());
  const targets = Array.from({ length: N }, (_, n) =>
    Array.from({ length: dOut }, (_, o) => wStar.slice(o * dIn, (o + 1) * dIn).reduce((s, w, i) => s + w * inputs[n * dIn + i], 0)),
  ).flat();

  for (const which of ['cpu', 'wasm', 'gpu'] as const) {
    it(`solves a Kronecker quadratic up to the sampling error on ${which}`, async () => {
      const be = b[which];
      const precision = which === 'cpu' ? 'float64' : 'float32';
      const weightError = async (settings: Partial<KfacSettings>) => {
        const layer = new Linear({ backend: be, seed: 1, precision }, 'fc', dIn, dOut, { bias: false });
        const x = be.tensor(inputs, [N, dIn], precision);
        const y = be.tensor(targets, [N, dOut], precision);
        const forward = (): Variable => layer.forward(constant(x));
        const optimizer = new KfacOptimizer(
          { lr: 1, momentum: 0, damping: 1e-8, klClip: 0, tInv: 1, fisherType: 'type-2', ...settings },
          { approx: 'expand', seed: 4 },
        );
        const { loss } = await optimizer.trainStep({
          params: layer.parameters(),
          forward,
          loss: { spec: lossSpec('mse', 'sum'), targets: y },
          step: 0,
        });
        loss.dispose();
        const w = Array.from(await layer.weight.value.read());
        optimizer.dispose();
        layer.dispose();
        [x, y].forEach((t: Tensor) => t.dispose());
        return relativeError(w, wStar);
      };
      const digital = await weightError({ inverseMethod: 'cholesky' });
      const few = await weightError({ inverseMethod: 'thermodynamic', thermoSamples: 100, thermoBits: 0, thermoDt: 20 });
      const many = await weightError({ inverseMethod: 'thermodynamic', thermoSamples: 10000, thermoBits: 0, thermoDt: 20 });
      const eightBits = await weightError({ inverseMethod: 'thermodynamic', thermoSamples: 10000, thermoBits: 8, thermoDt: 20 });
      const message = `‖W − W*‖/‖W*‖: digital ${digital}, S=100 ${few}, S=10⁴ ${many}, S=10⁴ at 8 bits ${eightBits}`;
      expect(digital, message).toBeLessThan(1e-3);
      expect(many, message).toBeLessThan(0.08);
      expect(few / many, message).toBeGreaterThan(4); // √100 = 10 in expectation
      expect(eightBits, message).toBeLessThan(0.12);
    });
  }

  it('b, S → ∞ reproduces the digital K-FAC update (Cholesky, π-damping) on a small MLP', async () => {
    const be = b.cpu;
    const r = new Rng(21);
    const [n, dIn, classes] = [32, 4, 3];
    const x = be.tensor(r.normalArray(n * dIn), [n, dIn], 'float64');
    const labels = be.tensor(
      Array.from({ length: n }, () => r.int(classes)),
      [n],
      'int32',
    );
    const update = async (settings: Partial<KfacSettings>) => {
      const model = new Mlp({ backend: be, seed: 2, precision: 'float64' }, { widths: [dIn, 6, classes] });
      const params = model.parameters();
      const before = await Promise.all(params.map(async (p) => Array.from(await p.variable.value.read())));
      const optimizer = createOptimizer('kfac-expand', {
        lr: 0.5,
        momentum: 0,
        klClip: 0,
        damping: 1e-2,
        fisherType: 'type-2',
        ...settings,
      });
      const { loss } = await optimizer.trainStep({
        params,
        forward: () => model.forward(constant(x)),
        loss: { spec: lossSpec('ce', 'mean'), targets: labels },
        step: 0,
      });
      loss.dispose();
      const after = await Promise.all(params.map(async (p) => Array.from(await p.variable.value.read())));
      optimizer.dispose();
      model.dispose();
      return after.flatMap((a, i) => a.map((v, j) => v - before[i][j]));
    };
    const digital = await update({ inverseMethod: 'cholesky' });
    const device = (samples: number, bits: number) =>
      update({ inverseMethod: 'thermodynamic', thermoSamples: samples, thermoBits: bits, thermoDt: 50 });
    const coarse = relativeError(await device(300, 6), digital);
    const fine = relativeError(await device(100000, 24), digital);
    const exact = relativeError(await device(100000, 0), digital);
    const message = `relative difference from the digital update: S=300 b=6 ${coarse}, S=10⁵ b=24 ${fine}, S=10⁵ unquantised ${exact}`;
    expect(fine, message).toBeLessThan(0.03);
    expect(exact, message).toBeLessThan(0.03);
    expect(coarse, message).toBeGreaterThan(3 * fine);
    x.dispose();
    labels.dispose();
  });
});
