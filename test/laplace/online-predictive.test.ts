// The online marginal-likelihood training (docs/curvature-tools.md §2) reaching MacKay's fixed point
// on Bayesian linear regression, and the GLM predictive against a dense J P⁻¹ Jᵀ built from finite-
// difference Jacobians and against sampling of the linearised model.
import { describe, expect, it } from 'vitest';
import { constant } from '../../src/engine/autograd/variable.ts';
import type { CpuBackend } from '../../src/engine/backend/cpu/cpu-backend.ts';
import { batchList } from '../../src/engine/curvature/toolkit.ts';
import { fitLaplace } from '../../src/engine/laplace/kron-laplace.ts';
import { hessianScale } from '../../src/engine/laplace/marglik.ts';
import { trainMarglik } from '../../src/engine/laplace/online.ts';
import { glmPredictive, softmax } from '../../src/engine/laplace/predictive.ts';
import { LayerStack } from '../../src/engine/nn/models/layer-stack.ts';
import { lossSpec } from '../../src/engine/nn/losses.ts';
import { Rng } from '../../src/engine/random.ts';
import { choleskyLogDet } from '../../src/engine/tools/marglik/marglik.ts';
import { useBackends } from '../helpers/backends.ts';
import { randomStack } from '../curvature/oracle-helpers.ts';
import { closedFormEvidence, regressionProblem } from './regression.ts';

const b = useBackends();

describe('online marglik training on Bayesian linear regression', () => {
  it("converges to MacKay's fixed point δ = γ / ‖w‖² (and to the evidence's maximiser)", async () => {
    const cpu: CpuBackend = b.cpu;
    const sigma = 0.5;
    const { X, Y } = regressionProblem(sigma, 2);
    const N = X.length;
    const model = new LayerStack(
      { backend: cpu, seed: 0, precision: 'float64' },
      {
        layers: [
          {
            type: 'linear',
            weight: [
              [0.1, 0, 0],
              [0, 0.1, 0],
            ],
          },
        ],
        setting: 'expand',
      },
    );
    const batch = (rows: Int32Array) => {
      const x = cpu.tensor(
        Array.from(rows).flatMap((r) => X[r]),
        [rows.length, 1, 3],
        'float64',
      );
      const y = cpu.tensor(
        Array.from(rows).flatMap((r) => Y[r]),
        [rows.length, 1, 2],
        'float64',
      );
      return {
        forward: () => model.forward(constant(x)),
        loss: { spec: lossSpec('mse', 'mean'), targets: y },
        dispose() {
          x.dispose();
          y.dispose();
        },
      };
    };
    const result = await trainMarglik({
      model,
      batch,
      examples: N,
      batchSize: N,
      epochs: 300,
      seed: 0,
      lr: 0.05,
      approx: 'expand',
      fisher: 'type-2',
      initialSigma: sigma,
      learnSigma: false,
      hyperSteps: 10,
      keepBestLaplace: true,
    });
    const laplace = result.laplace!;
    try {
      const delta = result.hyper.precision[0];
      const s = hessianScale(laplace.spectrum, sigma);
      const gamma = Array.from(laplace.spectrum.layers[0].weightSpectrum).reduce((sum, d) => sum + (s * d) / (s * d + delta), 0);
      const w = Array.from(await model.linears[0].layer.weight.value.read());
      const norm = w.reduce((sum, v) => sum + v * v, 0);
      expect(Math.abs(delta - gamma / norm) / delta).toBeLessThan(1e-3);
      // The same δ maximises the closed-form evidence (golden-section search on log δ).
      let [lo, hi] = [Math.log(1e-3), Math.log(1e3)];
      for (let i = 0; i < 100; i++) {
        const m1 = hi - (hi - lo) / 1.618;
        const m2 = lo + (hi - lo) / 1.618;
        if (closedFormEvidence(X, Y, sigma, Math.exp(m1)) > closedFormEvidence(X, Y, sigma, Math.exp(m2))) hi = m2;
        else lo = m1;
      }
      expect(Math.abs(delta - Math.exp(lo)) / delta).toBeLessThan(1e-3);
      expect(result.fits.length).toBe(300);
      expect(result.best!.terms.logMarglik).toBeCloseTo(closedFormEvidence(X, Y, sigma, delta), 3);
    } finally {
      laplace.dispose();
      model.dispose();
    }
  }, 60_000);
});

/** Dense inverse of an SPD matrix (Gauss–Jordan), row-major. */
function inverse(M: Float64Array, n: number): Float64Array {
  const a = Array.from({ length: n }, (_, i) => [
    ...Array.from(M.subarray(i * n, (i + 1) * n)),
    ...Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)),
  ]);
  for (let k = 0; k < n; k++) {
    let p = k;
    for (let i = k + 1; i < n; i++) if (Math.abs(a[i][k]) > Math.abs(a[p][k])) p = i;
    [a[k], a[p]] = [a[p], a[k]];
    const pivot = a[k][k];
    for (let j = 0; j < 2 * n; j++) a[k][j] /= pivot;
    for (let i = 0; i < n; i++) {
      if (i === k) continue;
      const f = a[i][k];
      if (f !== 0) for (let j = 0; j < 2 * n; j++) a[i][j] -= f * a[k][j];
    }
  }
  return Float64Array.from(a.flatMap((row) => row.slice(n)));
}

describe('GLM predictive', () => {
  for (const bias of ['folded', 'separate'] as const) {
    it(`bias ${bias}: diag(J P⁻¹ Jᵀ) equals the dense product with finite-difference Jacobians; MC sampling agrees with sampling N(f, J P⁻¹ Jᵀ)`, async () => {
      const cpu: CpuBackend = b.cpu;
      const rng = new Rng(7);
      const N = 6;
      const R = 2;
      const C = 3;
      const model = new LayerStack(
        { backend: cpu, seed: 0, precision: 'float64' },
        { layers: randomStack(rng, [3, 4, C], true, 'tanh'), setting: 'reduce' },
      );
      const xValues = rng.uniformArray(N * R * 3, -2, 2);
      const x = cpu.tensor(xValues, [N, R, 3], 'float64');
      const y = cpu.tensor([0, 1, 2, 2, 1, 0], [N], 'int32');
      const forward = () => model.forward(constant(x));
      const data = batchList([{ forward, loss: { spec: lossSpec('ce', 'mean'), targets: y } }]);
      const laplace = await fitLaplace(model, data, { approx: 'reduce', fisher: 'type-2', bias });
      const hyper = { precision: [0.4, 0.9] };
      try {
        const result = await glmPredictive(laplace, data, hyper, { mcSamples: 20000, seed: 3 });
        // Dense posterior precision, layer by layer in the kron layout (vec row-major [dOut, width], then a separate bias).
        const s = hessianScale(laplace.spectrum);
        const params: { values: Float64Array; variable: (typeof model.linears)[number]['layer']['weight'] }[] = [];
        const blocks: Float64Array[] = [];
        for (const [k, l] of laplace.curvature.layers.entries()) {
          const A = await l.A.read();
          const G = await l.G.read();
          const [dOut, width] = [l.dOut, l.width];
          const n = dOut * width + (bias === 'separate' ? dOut : 0);
          const P = new Float64Array(n * n);
          for (let i = 0; i < dOut; i++)
            for (let j = 0; j < width; j++)
              for (let a = 0; a < dOut; a++)
                for (let c = 0; c < width; c++) P[(i * width + j) * n + a * width + c] = s * G[i * dOut + a] * A[j * width + c];
          if (bias === 'separate')
            for (let i = 0; i < dOut; i++)
              for (let a = 0; a < dOut; a++) P[(dOut * width + i) * n + dOut * width + a] = s * G[i * dOut + a];
          for (let i = 0; i < n; i++) P[i * n + i] += hyper.precision[k];
          blocks.push(inverse(P, n));
          expect(Number.isFinite(choleskyLogDet(P, n))).toBe(true);
          params.push({ values: new Float64Array(0), variable: model.linears[k].layer.weight });
        }
        // Finite-difference Jacobian of the outputs [N·C] for each parameter in that layout.
        const outputsAt = () => Float64Array.from(cpu.dataOf(forward().value) as Float64Array);
        const base = outputsAt();
        const cov = new Float64Array(N * C * C);
        for (const [k, l] of laplace.curvature.layers.entries()) {
          const layer = model.linears[k].layer;
          const [dOut, dIn] = [layer.dOut, layer.dIn];
          const width = l.width;
          const slots: { variable: typeof layer.weight; at: number }[] = [];
          for (let i = 0; i < dOut; i++)
            for (let j = 0; j < width; j++)
              slots.push(j < dIn ? { variable: layer.weight, at: i * dIn + j } : { variable: layer.bias!, at: i });
          if (bias === 'separate') for (let i = 0; i < dOut; i++) slots.push({ variable: layer.bias!, at: i });
          const h = 1e-6;
          const J = slots.map(({ variable, at }) => {
            const values = Float64Array.from(cpu.dataOf(variable.value) as Float64Array);
            const shift = (d: number) => {
              const v = Float64Array.from(values);
              v[at] += d;
              variable.assign(cpu.tensor(v, variable.shape, 'float64'));
              return outputsAt();
            };
            const up = shift(h);
            const down = shift(-h);
            variable.assign(cpu.tensor(values, variable.shape, 'float64'));
            return up.map((u, e) => (u - down[e]) / (2 * h));
          });
          const n = slots.length;
          const inv = blocks[k];
          for (let e = 0; e < N; e++)
            for (let c1 = 0; c1 < C; c1++)
              for (let c2 = 0; c2 < C; c2++) {
                let sum = 0;
                for (let p = 0; p < n; p++) for (let q = 0; q < n; q++) sum += J[p][e * C + c1] * inv[p * n + q] * J[q][e * C + c2];
                cov[(e * C + c1) * C + c2] += sum;
              }
        }
        for (let e = 0; e < N; e++) {
          for (let c = 0; c < C; c++) {
            const dense = cov[(e * C + c) * C + c];
            expect(Math.abs(result.variance[e * C + c] - dense)).toBeLessThan(1e-7 * dense + 1e-12);
            expect(Math.abs(result.logits[e * C + c] - base[e * C + c])).toBeLessThan(1e-12);
          }
        }
        // Sampling f ~ N(f, Σ) with Σ = J P⁻¹ Jᵀ (Cholesky per example), many samples.
        const reference = new Float64Array(N * C);
        const draws = 100000;
        const sampler = new Rng(99);
        for (let e = 0; e < N; e++) {
          const S = cov.subarray(e * C * C, (e + 1) * C * C);
          const L = new Float64Array(C * C);
          for (let j = 0; j < C; j++) {
            let d = S[j * C + j];
            for (let k = 0; k < j; k++) d -= L[j * C + k] ** 2;
            L[j * C + j] = Math.sqrt(Math.max(d, 0));
            for (let i = j + 1; i < C; i++) {
              let v = S[i * C + j];
              for (let k = 0; k < j; k++) v -= L[i * C + k] * L[j * C + k];
              L[i * C + j] = L[j * C + j] > 0 ? v / L[j * C + j] : 0;
            }
          }
          const z = new Float64Array(C);
          const f = new Float64Array(C);
          for (let t = 0; t < draws; t++) {
            for (let c = 0; c < C; c++) z[c] = sampler.normal();
            for (let i = 0; i < C; i++) {
              let v = base[e * C + i];
              for (let k = 0; k <= i; k++) v += L[i * C + k] * z[k];
              f[i] = v;
            }
            const p = softmax(f);
            for (let c = 0; c < C; c++) reference[e * C + c] += p[c] / draws;
          }
        }
        let mcGap = 0;
        let probitGap = 0;
        let mapGap = 0;
        for (let i = 0; i < N * C; i++) {
          mcGap = Math.max(mcGap, Math.abs(result.mc![i] - reference[i]));
          probitGap += Math.abs(result.probit[i] - reference[i]) / (N * C);
          mapGap += Math.abs(result.map[i] - reference[i]) / (N * C);
        }
        // 20,000 joint samples in parameter space: sampling error ≈ 0.5/√20000 ≈ 0.004 at worst.
        expect(mcGap).toBeLessThan(0.012);
        // The probit approximation is an approximation (diagonal, no correlations between classes):
        // close, and closer than the MAP softmax.
        expect(probitGap).toBeLessThan(0.03);
        expect(probitGap).toBeLessThan(mapGap);
        const variance = Array.from(result.variance);
        expect(Math.max(...variance)).toBeGreaterThan(0.5); // a real test of the spread, not a near-MAP one
      } finally {
        laplace.dispose();
        model.dispose();
        x.dispose();
        y.dispose();
      }
    }, 60_000);
  }
});

describe('GLM predictive on WebGPU', () => {
  it('matches the float64 CPU reference on awkward shapes (dIn 17, hidden 3, R 5, C 7), folded and separate bias', async () => {
    const rng = new Rng(21);
    const layers = randomStack(rng, [17, 3, 7], true, 'tanh');
    const N = 13;
    const R = 5;
    const xValues = rng.uniformArray(N * R * 17, -1, 1);
    const labels = Array.from({ length: N }, () => rng.int(7));
    for (const bias of ['folded', 'separate'] as const) {
      const results = [];
      for (const [backend, precision] of [
        [b.cpu, 'float64'],
        [b.gpu, 'float32'],
      ] as const) {
        const model = new LayerStack({ backend, seed: 0, precision }, { layers, setting: 'reduce' });
        const x = backend.tensor(xValues, [N, R, 17], precision);
        const y = backend.tensor(labels, [N], 'int32');
        const data = batchList([{ forward: () => model.forward(constant(x)), loss: { spec: lossSpec('ce', 'mean'), targets: y } }]);
        const laplace = await fitLaplace(model, data, { approx: 'reduce', fisher: 'type-2', bias });
        try {
          results.push(await glmPredictive(laplace, data, { precision: [0.3, 2] }));
        } finally {
          laplace.dispose();
          model.dispose();
          x.dispose();
          y.dispose();
        }
      }
      const [cpu, gpu] = results;
      for (let i = 0; i < N * 7; i++) {
        expect(Math.abs(gpu.variance[i] - cpu.variance[i]), `variance ${i}`).toBeLessThan(2e-4 * cpu.variance[i] + 1e-6);
        expect(Math.abs(gpu.probit[i] - cpu.probit[i]), `probit ${i}`).toBeLessThan(1e-4);
      }
    }
  }, 60_000);
});
