// Influence scores (docs/curvature-tools.md §3) against their oracles: K-FAC = exact GGN where the GGN
// is Kronecker-factored; EK-FAC = exact GGN where K-FAC's eigenbasis diagonalises it (and K-FAC then is
// not); λ → ∞ makes every method ∝ the gradient dot product; exact-GGN influence tracks true
// leave-one-out ridge retraining; LDS on closed-form ridge retrains orders exact > K-FAC > identity;
// the device pipeline (WASM, WebGPU) against the float64 reference on awkward shapes.
import { describe, expect, it } from 'vitest';
import { constant } from '../../src/engine/autograd/variable.ts';
import type { Backend } from '../../src/engine/backend/backend.ts';
import type { CurvatureData } from '../../src/engine/curvature/data.ts';
import { fitCurvature } from '../../src/engine/curvature/toolkit.ts';
import { Mlp } from '../../src/engine/nn/models/mlp.ts';
import { lossSpec } from '../../src/engine/nn/losses.ts';
import { Rng } from '../../src/engine/random.ts';
import { halfSubsets, ldsPredictions, ldsScore, pearson, spearman, ldsCeiling, ranks } from '../../src/engine/tools/influence/lds.ts';
import { influenceScores, meanCurvatureEigenvalue, topInfluences, type InfluenceMethod } from '../../src/engine/tools/influence/scores.ts';
import { useBackends } from '../helpers/backends.ts';
import { relativeError } from '../helpers/compare.ts';
import { queryLosses, regressionModel, regressionProblem, ridgeFit, type RegressionProblem } from './influence-problems.ts';

const b = useBackends();

async function scoresOf(p: RegressionProblem, theta: number[][], method: InfluenceMethod, damping: number, batchSize = 7) {
  const m = regressionModel(b.cpu, p, theta, { batchSize });
  try {
    return await influenceScores({ model: m.model, train: m.train, queries: m.queries, method, damping });
  } finally {
    m.dispose();
  }
}

describe('influence scores: exactness oracles (CPU float64)', () => {
  it('kfac = ggn on weighted multi-output linear regression (K-FAC exact)', async () => {
    const p = regressionProblem(1, { N: 23, Q: 4, dIn: 3, C: 3, weights: 'per-example' });
    const theta = ridgeFit(p, Int32Array.from(p.x.keys()), 0.5);
    for (const damping of [0.1, 3]) {
      const ggn = await scoresOf(p, theta, 'ggn', damping);
      const kfac = await scoresOf(p, theta, 'kfac', damping);
      expect(kfac.scores.length).toBe(4 * 23);
      expect(relativeError(kfac.scores, ggn.scores)).toBeLessThan(1e-10);
      expect(Array.from(kfac.queryLoss)).toEqual(Array.from(ggn.queryLoss));
    }
  });

  it('ekfac = ggn where K-FAC eigenbasis diagonalises the GGN, while kfac differs', async () => {
    // One-hot inputs (no bias) and per-output weights: GGN = Σ_n 2 D_n² ⊗ e_j e_jᵀ is diagonal, A and G
    // are diagonal with distinct entries, so Q_G ⊗ Q_A is a permutation that diagonalises the GGN.
    const rng = new Rng(3);
    const dIn = 3;
    const C = 2;
    const counts = [3, 5, 8];
    const x: number[][] = [];
    counts.forEach((k, j) => {
      for (let i = 0; i < k; i++) x.push(Array.from({ length: dIn }, (_, t) => (t === j ? 1 : 0)));
    });
    const w = x.map((_, n) => [1 + ((n * 7) % 5), 0.2 + (n % 3)]);
    const y = x.map(() => [rng.normal(), rng.normal()]);
    const p: RegressionProblem = {
      dIn,
      C,
      bias: false,
      x,
      y,
      w,
      qx: [
        [0.3, -1, 2],
        [1, 0.5, 0],
      ],
      qy: [
        [1, 0],
        [0, 1],
      ],
      qw: [
        [1, 2],
        [0.5, 1],
      ],
      weightsInInputs: false,
    };
    const theta = ridgeFit(p, Int32Array.from(x.keys()), 0.1);
    const ggn = await scoresOf(p, theta, 'ggn', 0.3, 4);
    const ekfac = await scoresOf(p, theta, 'ekfac', 0.3, 4);
    const kfac = await scoresOf(p, theta, 'kfac', 0.3, 4);
    expect(relativeError(ekfac.scores, ggn.scores)).toBeLessThan(1e-10);
    expect(relativeError(kfac.scores, ggn.scores)).toBeGreaterThan(1e-2);
  });

  it('λ → ∞ makes every method proportional to the gradient dot product', async () => {
    const p = regressionProblem(2, { N: 19, Q: 3, dIn: 2, C: 2, weights: 'per-output' });
    const theta = ridgeFit(p, Int32Array.from(p.x.keys()), 0.5);
    const lambda = 1e9;
    const identity = await scoresOf(p, theta, 'identity', lambda);
    for (const method of ['kfac', 'ekfac', 'ggn'] as const) {
      const s = await scoresOf(p, theta, method, lambda);
      expect(relativeError(s.scores, identity.scores), method).toBeLessThan(1e-6);
      // and at a moderate λ they are not (the test can fail)
      const moderate = await scoresOf(p, theta, method, 1);
      const idModerate = await scoresOf(p, theta, 'identity', 1);
      expect(relativeError(moderate.scores, idModerate.scores), method).toBeGreaterThan(1e-2);
    }
  });

  it('exact-GGN influence tracks true leave-one-out ridge retraining (Pearson > 0.95)', async () => {
    // First-order influence ignores each example's leverage (the 1/(1 − h_n) of exact LOO), so the
    // problem has enough examples per parameter for that to be small (at N = 30 some queries fall to 0.86).
    const p = regressionProblem(4, { N: 120, Q: 5, dIn: 3, C: 2, weights: 'per-output' });
    const alpha = 10;
    const all = Int32Array.from(p.x.keys());
    const theta = ridgeFit(p, all, alpha);
    const base = queryLosses(p, theta);
    const { scores } = await scoresOf(p, theta, 'ggn', alpha);
    const N = p.x.length;
    for (let q = 0; q < p.qx.length; q++) {
      const actual = new Float64Array(N);
      for (let n = 0; n < N; n++)
        actual[n] =
          queryLosses(
            p,
            ridgeFit(
              p,
              all.filter((i) => i !== n),
              alpha,
            ),
          )[q] - base[q];
      const r = pearson(scores.subarray(q * N, (q + 1) * N), actual);
      expect(r, `query ${q}`).toBeGreaterThan(0.95);
    }
  });

  it('LDS on closed-form ridge retraining orders exact > K-FAC > identity', async () => {
    const p = regressionProblem(5, { N: 60, Q: 8, dIn: 3, C: 2, weights: 'per-output' });
    const alpha = 1;
    const all = Int32Array.from(p.x.keys());
    const theta = ridgeFit(p, all, alpha);
    const subsets = halfSubsets(p.x.length, 100, 11);
    const measured = { queries: p.qx.length, subsets: subsets.length, seeds: [new Float64Array(p.qx.length * subsets.length)] };
    subsets.forEach((s, k) => queryLosses(p, ridgeFit(p, s, alpha)).forEach((l, q) => (measured.seeds[0][q * subsets.length + k] = l)));
    const lds: Record<string, number> = {};
    for (const method of ['ggn', 'kfac', 'identity'] as const) {
      const { scores } = await scoresOf(p, theta, method, alpha, 16);
      lds[method] = ldsScore(ldsPredictions(scores, p.qx.length, p.x.length, subsets), measured).mean;
    }
    expect(lds.ggn).toBeGreaterThan(lds.kfac);
    expect(lds.kfac).toBeGreaterThan(lds.identity);
    expect(lds.ggn).toBeGreaterThan(0.8);
  });

  it('rejects what it cannot compute, with a clear message', async () => {
    const p = regressionProblem(6, { N: 5, Q: 2, dIn: 2, C: 1, weights: 'none' });
    const theta = ridgeFit(p, Int32Array.from(p.x.keys()), 1);
    await expect(scoresOf(p, theta, 'identity', 0)).rejects.toThrow(/identity method needs damping > 0/);
    await expect(scoresOf(p, theta, 'kfac', -1)).rejects.toThrow(/damping must be a finite number/);
    const m = regressionModel(b.wasm, p, theta, { precision: 'float32' });
    try {
      await expect(influenceScores({ model: m.model, train: m.train, queries: m.queries, method: 'ggn', damping: 1 })).rejects.toThrow(
        /CPU backend/,
      );
    } finally {
      m.dispose();
    }
  });
});

describe('LDS helpers', () => {
  it('ranks ties by their average and Spearman is Pearson of ranks', () => {
    expect(Array.from(ranks([3, 1, 3, 2]))).toEqual([3.5, 1, 3.5, 2]);
    expect(spearman([1, 2, 3, 4], [10, 20, 30, 1000])).toBeCloseTo(1, 12);
    expect(spearman([1, 2, 3, 4], [4, 3, 2, 1])).toBeCloseTo(-1, 12);
    expect(pearson([1, 2, 3], [5, 5, 5])).toBe(0);
  });

  it('half subsets are seeded, distinct, sorted and of size ⌊N/2⌋; predictions sum the left-out scores', () => {
    const s = halfSubsets(9, 4, 7);
    expect(s.map((x) => Array.from(x))).toEqual(halfSubsets(9, 4, 7).map((x) => Array.from(x)));
    for (const x of s) {
      expect(x.length).toBe(4);
      expect(new Set(x).size).toBe(4);
      expect(Array.from(x)).toEqual(Array.from(x).sort((a, b) => a - b));
    }
    const scores = Float64Array.from({ length: 18 }, (_, i) => i);
    const tau = ldsPredictions(scores, 2, 9, s);
    const leftOut = (q: number, k: number) =>
      [...Array(9).keys()].filter((n) => !s[k].includes(n)).reduce((a, n) => a + scores[q * 9 + n], 0);
    expect(tau[1 * 4 + 2]).toBe(leftOut(1, 2));
  });

  it('the ceiling of identical seeds is 1 and the LDS of the measured values themselves is 1', () => {
    const seedA = Float64Array.from({ length: 2 * 6 }, (_, i) => Math.sin(i * 1.7));
    const m = { queries: 2, subsets: 6, seeds: [seedA, seedA.slice()] };
    expect(ldsCeiling(m).mean).toBeCloseTo(1, 12);
    expect(ldsScore(seedA, m).mean).toBeCloseTo(1, 12);
  });

  it('topInfluences picks the largest and smallest scores per query', () => {
    const top = topInfluences(Float64Array.from([0.1, -2, 3, 0, 5, -1]), 2, 3, 1);
    expect(top[0].helpful[0]).toEqual({ index: 2, score: 3 });
    expect(top[0].harmful[0]).toEqual({ index: 1, score: -2 });
    expect(top[1].helpful[0].index).toBe(1);
    expect(top[1].harmful[0].index).toBe(2);
  });
});

// ---- the device pipeline against the float64 reference ------------------------------------------------

/** A small ReLU MLP classifier and its data (N examples in uneven batches, Q queries) on a backend. */
function mlpProblem(be: Backend, N: number, Q: number, batchSize: number) {
  const rng = new Rng(9);
  const dims = [5, 7, 3];
  const precision = be.supportsFloat64 ? 'float64' : 'float32';
  const model = new Mlp({ backend: be, seed: 4, precision }, { widths: dims, activation: 'relu' });
  const xs = Array.from({ length: N + Q }, () => Array.from({ length: dims[0] }, () => rng.normal()));
  const ys = xs.map(() => rng.int(dims[2]));
  const data = (offset: number, count: number, size: number): CurvatureData => ({
    batches: Math.ceil(count / size),
    batch(i) {
      const rows = Array.from({ length: Math.min(size, count - i * size) }, (_, r) => offset + i * size + r);
      const x = be.tensor(
        rows.flatMap((n) => xs[n]),
        [rows.length, dims[0]],
        precision,
      );
      const y = be.tensor(
        rows.map((n) => ys[n]),
        [rows.length],
        'int32',
      );
      return {
        forward: () => model.forward(constant(x)),
        loss: { spec: lossSpec('ce', 'mean'), targets: y },
        dispose() {
          x.dispose();
          y.dispose();
        },
      };
    },
  });
  return { model, train: data(0, N, batchSize), queries: data(N, Q, 2) };
}

describe('influence scores on the device agree with the float64 reference', () => {
  for (const name of ['wasm', 'gpu'] as const) {
    it(`${name}: identity, kfac and ekfac on N = 17 (batches of 5), Q = 3`, async () => {
      const ref = mlpProblem(b.cpu, 17, 3, 5);
      const dev = mlpProblem(b[name], 17, 3, 5);
      try {
        const curvature = await fitCurvature(ref.model, ref.train, { approx: 'expand', fisher: 'type-2' });
        const damping = 0.1 * (await meanCurvatureEigenvalue(curvature));
        curvature.dispose();
        for (const method of ['identity', 'kfac', 'ekfac'] as const) {
          const want = await influenceScores({ model: ref.model, train: ref.train, queries: ref.queries, method, damping });
          const got = await influenceScores({ model: dev.model, train: dev.train, queries: dev.queries, method, damping });
          expect(got.scores.length).toBe(3 * 17);
          expect(relativeError(got.scores, want.scores), `${name} ${method}`).toBeLessThan(2e-3);
          expect(relativeError(got.queryLoss, want.queryLoss)).toBeLessThan(1e-5);
        }
        const ggn = await influenceScores({ model: ref.model, train: ref.train, queries: ref.queries, method: 'ggn', damping });
        expect(ggn.scores.every(Number.isFinite)).toBe(true);
      } finally {
        ref.model.dispose();
        dev.model.dispose();
      }
    });
  }
});
