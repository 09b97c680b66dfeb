// Influence of training points on generated samples (src/engine/diffusion/influence.ts on the
// influence tool's scorer, docs/curvature-tools.md §3): identity equals the gradient dot product of
// the per-point losses over their draws worked out by hand (simple and ELBO measurement); on a
// linear denoiser K-FAC-expand over the draws is exact, so its scores equal the dense GGN's.
import { describe, expect, it } from 'vitest';
import { grad } from '../../src/engine/autograd/backward.ts';
import { mse } from '../../src/engine/nn/losses.ts';
import { scope } from '../../src/engine/tensor.ts';
import {
  diffusionInfluence,
  drawBatch,
  influenceDraws,
  makeSchedule,
  MlpDenoiser,
  pointCloud,
  selectDraws,
  type Draws,
} from '../../src/engine/diffusion/index.ts';
import { useBackends } from '../helpers/backends.ts';

const backends = useBackends();

/** ∇_θ of Σ_r w_r ‖ε_r − ε_θ(x_r, t_r)‖² for one point and its draws, all parameters flattened, float64. */
function pointGradient(
  model: MlpDenoiser,
  schedule: ReturnType<typeof makeSchedule>,
  x0: Float32Array,
  draws: Draws,
  elbo: boolean,
): Float64Array {
  return scope(() => {
    const batch = drawBatch(model, schedule, x0, draws, { weighting: elbo ? 'elbo' : 'simple', reduction: 'sum' });
    const params = model.parameters().map((p) => p.variable);
    const grads = grad(mse(batch.forward(), batch.loss.targets, 'sum'), params);
    const out = grads.flatMap((g) => Array.from(backends.cpu.dataOf(g) as Float64Array));
    batch.dispose();
    return Float64Array.from(out);
  });
}

describe('diffusion influence', () => {
  for (const measurement of ['loss', 'elbo'] as const) {
    it(`identity is the gradient dot product over the draws, divided by λ (${measurement}; float64 CPU)`, async () => {
      const cpu = backends.cpu;
      const schedule = makeSchedule({ steps: 12 });
      const model = new MlpDenoiser({ backend: cpu, seed: 3, precision: 'float64' }, { hidden: [3], embedDim: 2, activation: 'tanh' });
      const points = pointCloud({ id: 'spirals', count: 4, seed: 2 });
      const samples = Float32Array.from([0.3, -0.2, -0.5, 0.9]);
      const settings = { trainDraws: 3, queryDraws: 5, drawSeed: 7 };
      const damping = 0.5;
      const result = await diffusionInfluence({
        model,
        schedule,
        points,
        samples,
        methods: ['identity'],
        damping,
        measurement,
        batchSize: 3,
        ...settings,
      });
      const draws = influenceDraws(schedule, 4, 2, settings);
      const [scores] = result.methods.map((m) => m.scores);
      expect(result.methods[0].method).toBe('identity');
      for (let q = 0; q < 2; q++) {
        const gq = pointGradient(
          model,
          schedule,
          samples.subarray(2 * q, 2 * q + 2),
          selectDraws(draws.queries, Int32Array.of(q)),
          measurement === 'elbo',
        );
        for (let n = 0; n < 4; n++) {
          const gn = pointGradient(model, schedule, points.subarray(2 * n, 2 * n + 2), selectDraws(draws.train, Int32Array.of(n)), false);
          let dot = 0;
          for (let i = 0; i < gq.length; i++) dot += gq[i] * gn[i];
          expect(scores[q * 4 + n]).toBeCloseTo(dot / damping, 10);
        }
      }
      model.dispose();
    });
  }

  it('on a linear denoiser K-FAC-expand over the draws is exact: kfac scores equal the dense GGN’s (float64 CPU)', async () => {
    const cpu = backends.cpu;
    const schedule = makeSchedule({ steps: 12 });
    const model = new MlpDenoiser({ backend: cpu, seed: 4, precision: 'float64' }, { hidden: [], embedDim: 4 });
    const points = pointCloud({ id: 'checkerboard', count: 7, seed: 3 });
    const samples = Float32Array.from([0.1, 0.2, -0.7, 0.4, 0.9, -0.9]);
    const result = await diffusionInfluence({
      model,
      schedule,
      points,
      samples,
      methods: ['kfac', 'ggn', 'ekfac', 'identity'],
      relativeDamping: 0.05,
      trainDraws: 4,
      queryDraws: 6,
      batchSize: 3,
    });
    const by = (m: string) => result.methods.find((x) => x.method === m)!.scores;
    const scale = Math.max(...Array.from(by('ggn'), Math.abs));
    for (let i = 0; i < by('ggn').length; i++) {
      expect(Math.abs(by('kfac')[i] - by('ggn')[i]) / scale).toBeLessThan(1e-9);
      // Exact K-FAC is diagonal in its own eigenbasis, so EK-FAC's Λ is κμ and it agrees too.
      expect(Math.abs(by('ekfac')[i] - by('ggn')[i]) / scale).toBeLessThan(1e-9);
    }
    // The identity scores are not proportional to the exact ones here (the check above can fail).
    const id = by('identity');
    const ratio = id[0] / by('ggn')[0];
    expect(Array.from(id).some((v, i) => Math.abs(v - ratio * by('ggn')[i]) > 1e-3 * Math.abs(ratio) * scale)).toBe(true);
    expect(result.damping).toBeGreaterThan(0);
    expect(result.meanEigenvalue).not.toBeNull();
    model.dispose();
  });
});
