// The Laplace marginal likelihood (docs/curvature-tools.md §2) against closed forms: Bayesian linear
// regression's evidence, the dense exact GGN where K-FAC is exact (and not where it is not), the
// analytic gradient against finite differences.
import { describe, expect, it } from 'vitest';
import { computeMarglik, parseMarglikCase } from '../../src/engine/tools/marglik/marglik.ts';
import { findTool } from '../../src/engine/tools/registry.ts';
import { logMarginalLikelihood, marglikGradient, type LaplaceSpectrum } from '../../src/engine/laplace/marglik.ts';
import { Rng } from '../../src/engine/random.ts';
import { useBackends } from '../helpers/backends.ts';
import { randomStack, nested } from '../curvature/oracle-helpers.ts';
import { closedFormEvidence, regressionProblem } from './regression.ts';

const b = useBackends();

function regressionCase(extra: Record<string, unknown> = {}) {
  const { X, Y, W } = regressionProblem();
  return {
    layers: [{ type: 'linear', weight: W }],
    setting: 'expand',
    inputs: X.map((x) => [x]),
    targets: Y.map((y) => [y]),
    loss: 'mse',
    sigma: 0.5,
    prior: { precision: 2 },
    ...extra,
  };
}

describe('marglik: Bayesian linear regression (the evidence is exact at the MAP)', () => {
  const { X, Y } = regressionProblem();
  const evidence = closedFormEvidence(X, Y, 0.5, 2);

  for (const [hessian, reduction, approx] of [
    ['kron', 'sum', 'expand'],
    ['kron', 'mean', 'expand'],
    ['kron', 'mean', 'reduce'],
    ['full', 'mean', 'expand'],
  ] as const) {
    it(`${hessian}, ${reduction} loss, ${approx}: log q equals Σ_c log N(y_c | 0, σ²I + δ⁻¹XXᵀ) to 1e-10`, async () => {
      const out = await computeMarglik(parseMarglikCase(regressionCase({ hessian, reduction, approx })), b.cpu);
      expect(Math.abs(out.logMarglik - evidence) / Math.abs(evidence)).toBeLessThan(1e-10);
      expect(out.layers).toHaveLength(1);
      expect(out.layers[0].params).toBe(6);
      expect(out.logDetPrior).toBeCloseTo(6 * Math.log(2), 12);
    });
  }

  it('away from the MAP the Laplace value is below the evidence (it is exact only at the mode)', async () => {
    const c = regressionCase();
    c.layers = [{ type: 'linear', weight: (c.layers[0].weight as number[][]).map((r) => r.map((v) => v + 0.1)) }];
    const out = await computeMarglik(parseMarglikCase(c), b.cpu);
    expect(out.logMarglik).toBeLessThan(evidence - 1e-3);
  });
});

/** A case: linear layers of `widths` (bias), `activation` between them, N examples of R positions. */
function stackCase(
  widths: number[],
  options: {
    activation?: 'tanh' | null;
    setting: 'expand' | 'reduce';
    approx: 'expand' | 'reduce';
    bias: 'folded' | 'separate';
    seed: number;
  },
) {
  const rng = new Rng(options.seed);
  const layers = randomStack(rng, widths, true, options.activation ?? undefined);
  const N = 5;
  const R = 3;
  const C = widths[widths.length - 1];
  return {
    layers,
    setting: options.setting,
    approx: options.approx,
    bias: options.bias,
    inputs: nested(rng, [N, R, widths[0]]),
    targets: nested(rng, options.setting === 'expand' ? [N, R, C] : [N, C]),
    loss: 'mse',
    sigma: 0.7,
    prior: { precision: Array.from({ length: widths.length - 1 }, (_, k) => 0.5 + k) },
  };
}

describe('marglik: kron against the dense exact GGN (full)', () => {
  const compare = async (c: Record<string, unknown>) => {
    const kron = await computeMarglik(parseMarglikCase({ ...c, hessian: 'kron' }), b.cpu);
    const full = await computeMarglik(parseMarglikCase({ ...c, hessian: 'full' }), b.cpu);
    return { kron, full };
  };

  for (const setting of ['expand', 'reduce'] as const) {
    it(`deep linear network, ${setting} setting with K-FAC-${setting}, bias folded: every layer's log det P_l agrees (K-FAC is exact)`, async () => {
      const { kron, full } = await compare(stackCase([3, 4, 2], { setting, approx: setting, bias: 'folded', seed: 11 }));
      for (const [k, l] of kron.layers.entries())
        expect(Math.abs(l.logDet - full.layers[k].logDet)).toBeLessThan(1e-9 * Math.abs(l.logDet) + 1e-10);
    });
  }

  it('a separate bias drops the weight–bias coupling of the exact block, so the layer log dets differ', async () => {
    const { kron, full } = await compare(stackCase([3, 4, 2], { setting: 'reduce', approx: 'reduce', bias: 'separate', seed: 11 }));
    expect(Math.abs(kron.layers[0].logDet - full.layers[0].logDet)).toBeGreaterThan(0.05);
  });

  it('one linear layer: the whole log q agrees (no cross-layer blocks)', async () => {
    const { kron, full } = await compare(stackCase([3, 2], { setting: 'reduce', approx: 'reduce', bias: 'folded', seed: 12 }));
    expect(Math.abs(kron.logMarglik - full.logMarglik)).toBeLessThan(1e-9 * Math.abs(full.logMarglik));
  });

  it('where K-FAC is not exact (the mismatched approximation, or tanh between the layers) they differ', async () => {
    const mismatched = await compare(stackCase([3, 4, 2], { setting: 'reduce', approx: 'expand', bias: 'folded', seed: 11 }));
    expect(Math.abs(mismatched.kron.layers[0].logDet - mismatched.full.layers[0].logDet)).toBeGreaterThan(0.05);
    const nonlinear = await compare(
      stackCase([3, 4, 2], { setting: 'expand', approx: 'expand', bias: 'folded', activation: 'tanh', seed: 11 }),
    );
    expect(Math.abs(nonlinear.kron.layers[0].logDet - nonlinear.full.layers[0].logDet)).toBeGreaterThan(0.01);
  });

  it('cross-entropy, one example, one layer (type-2 K-FAC is exact there): kron = full, sum and mean', async () => {
    for (const reduction of ['sum', 'mean']) {
      const c = {
        layers: [
          {
            type: 'linear',
            weight: [
              [0.5, -1],
              [1, 0.25],
              [0, 2],
            ],
            bias: [0.1, -0.2, 0.3],
          },
        ],
        setting: 'reduce',
        inputs: [[[1, 2]]],
        targets: [2],
        loss: 'ce',
        reduction,
        prior: { precision: 0.7 },
      };
      const { kron, full } = await compare(c);
      expect(Math.abs(kron.logMarglik - full.logMarglik)).toBeLessThan(1e-10 * Math.abs(full.logMarglik));
    }
  });

  it('cross-entropy: the registry tool runs a kron and a full case', async () => {
    const rng = new Rng(5);
    const c = {
      layers: randomStack(rng, [3, 4, 3], true, 'tanh'),
      setting: 'reduce',
      inputs: nested(rng, [6, 2, 3]),
      targets: [0, 1, 2, 1, 0, 2],
      loss: 'ce',
      prior: { precision: 0.3 },
    };
    const tool = findTool('marglik')!;
    const kron = (await tool.run({ ...c, hessian: 'kron' }, { backend: b.cpu })) as unknown as { logMarglik: number; logLik: number };
    const full = (await tool.run({ ...c, hessian: 'full' }, { backend: b.cpu })) as unknown as { logMarglik: number; logLik: number };
    expect(kron.logLik).toBe(full.logLik);
    expect(Number.isFinite(kron.logMarglik) && Number.isFinite(full.logMarglik)).toBe(true);
  });
});

describe('marglik: the gradient with respect to log δ_l and log σ', () => {
  const spectrum = (likelihood: 'classification' | 'regression'): LaplaceSpectrum => {
    const rng = new Rng(2);
    const layer = (index: number, n: number, bias: boolean) => ({
      index,
      name: `l${index}`,
      params: n + (bias ? 3 : 0),
      weightSpectrum: Float64Array.from({ length: n }, () => rng.uniform(0, 5) ** 2),
      biasSpectrum: bias ? Float64Array.from({ length: 3 }, () => rng.uniform(0, 3)) : null,
      squaredNorm: rng.uniform(0.5, 4),
    });
    return { likelihood, layers: [layer(0, 12, true), layer(1, 8, false)], curvatureScale: 7, lossSum: 13.5, outputs: 40 };
  };

  for (const likelihood of ['classification', 'regression'] as const) {
    it(`${likelihood}: analytic = central finite differences`, () => {
      const s = spectrum(likelihood);
      const at = { precision: [0.7, 2.5], sigma: 0.8 };
      const g = marglikGradient(s, at);
      const h = 1e-5;
      const value = (logD: number[], logS: number) =>
        logMarginalLikelihood(s, { precision: logD.map(Math.exp), sigma: Math.exp(logS) }).logMarglik;
      const logD = at.precision.map(Math.log);
      for (let k = 0; k < 2; k++) {
        const up = [...logD];
        const down = [...logD];
        up[k] += h;
        down[k] -= h;
        const fd = (value(up, Math.log(0.8)) - value(down, Math.log(0.8))) / (2 * h);
        expect(Math.abs(g.logPrecision[k] - fd)).toBeLessThan(1e-7 * Math.max(1, Math.abs(fd)));
      }
      const fdSigma = (value(logD, Math.log(0.8) + h) - value(logD, Math.log(0.8) - h)) / (2 * h);
      if (likelihood === 'regression') expect(Math.abs(g.logSigma - fdSigma)).toBeLessThan(1e-7 * Math.max(1, Math.abs(fdSigma)));
      else expect(g.logSigma).toBe(0);
    });
  }
});
