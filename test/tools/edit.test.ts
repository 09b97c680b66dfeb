// The `edit` tool (docs/curvature-tools.md §4) against its oracles: ρ = 1 returns W exactly; the
// pairwise selection equals a brute-force sort of all products; the projection is orthogonal
// (‖W‖² = ‖W'‖² + ‖W − W'‖²); on a linear model with quadratic loss ½(Wx − y)ᵀ S (Wx − y), whose
// Hessian is S ⊗ Σ x xᵀ, the loss increase of the edit equals ½ Σ_removed κ_i μ_j C_ij²; the
// rectangle is Q_G,r Q_G,rᵀ W Q_A,r Q_A,rᵀ; the SVD baseline is Eckart–Young's best rank-r matrix.
// Everything in float64 on the CPU backend.
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/engine/random.ts';
import { CaseError } from '../../src/engine/tools/case.ts';
import { computeEdit, parseEditCase } from '../../src/engine/tools/edit/edit.ts';
import {
  bandEnergyShares,
  curvatureBands,
  editWeight,
  eigenCoefficients,
  numericalRank,
  selectPairwise,
  selectRectangle,
  singularValues,
  sumOfSquares,
  truncatedSvd,
  type LayerBasis,
} from '../../src/engine/tools/edit/kronecker-edit.ts';
import { findTool } from '../../src/engine/tools/registry.ts';
import { useBackends } from '../helpers/backends.ts';
import { randomOrthogonal } from '../helpers/matrices.ts';

const b = useBackends();

function randomBasis(rng: Rng, dOut: number, dIn: number): LayerBasis {
  const desc = (n: number) => Float64Array.from({ length: n }, () => Math.exp(rng.uniform(-4, 2))).sort((x, y) => y - x);
  return { kappa: desc(dOut), mu: desc(dIn), vectorsG: randomOrthogonal(rng, dOut), vectorsA: randomOrthogonal(rng, dIn) };
}

const randomMatrix = (rng: Rng, n: number) => Float64Array.from({ length: n }, () => rng.uniform(-1, 1));

describe('pairwise selection', () => {
  it('equals a brute-force sort of all products, for every ρ', () => {
    const rng = new Rng(3);
    for (const [dOut, dIn] of [
      [1, 1],
      [3, 5],
      [17, 4],
    ]) {
      const { kappa, mu } = randomBasis(rng, dOut, dIn);
      const all: { q: number; p: number }[] = [];
      for (let i = 0; i < dOut; i++) for (let j = 0; j < dIn; j++) all.push({ q: i * dIn + j, p: kappa[i] * mu[j] });
      all.sort((x, y) => y.p - x.p);
      const total = all.reduce((s, x) => s + x.p, 0);
      for (const rho of [0.05, 0.3, 0.5, 0.77, 0.9, 0.999, 1]) {
        // Brute force: the smallest k whose top-k sum reaches ρ·total (all of them at ρ = 1).
        let k = 0;
        let mass = 0;
        while (rho < 1 && mass < rho * total) mass += all[k++].p;
        if (rho === 1) k = all.length;
        const expected = new Set(all.slice(0, k).map((x) => x.q));
        const s = selectPairwise(kappa, mu, rho);
        const kept = new Set([...s.mask].flatMap((m, q) => (m ? [q] : [])));
        expect(kept).toEqual(expected);
        expect(s.keptPairs).toBe(k);
        expect(s.keptMass).toBeGreaterThanOrEqual(rho - 1e-12);
        // Minimal: one pair fewer would not reach ρ.
        if (rho < 1 && k > 0) expect((mass - all[k - 1].p) / total).toBeLessThan(rho);
      }
    }
  });

  it('rejects ρ outside (0, 1]', () => {
    expect(() => selectPairwise([1], [1], 0)).toThrow(/\(0, 1\]/);
    expect(() => selectPairwise([1], [1], 1.5)).toThrow(/\(0, 1\]/);
  });
});

describe('editWeight', () => {
  it('ρ = 1 returns W exactly; the full projection also equals W to rounding', () => {
    const rng = new Rng(5);
    const basis = randomBasis(rng, 6, 9);
    const w = randomMatrix(rng, 54);
    for (const variant of ['pairwise', 'rectangle'] as const) {
      const e = editWeight(w, basis, variant, 1);
      expect(Array.from(e.weight)).toEqual(Array.from(w));
      expect(e.selection.keptPairs).toBe(54);
      expect(e.selection.keptMass).toBe(1);
    }
    // The coefficients are a rotation of W: ‖C‖ = ‖W‖.
    expect(sumOfSquares(eigenCoefficients(w, basis))).toBeCloseTo(sumOfSquares(w), 12);
  });

  it('the projection is orthogonal: ‖W‖² = ‖W_kept‖² + ‖W_removed‖², both variants, every ρ', () => {
    const rng = new Rng(7);
    for (const [dOut, dIn] of [
      [3, 17],
      [13, 4],
    ]) {
      const basis = randomBasis(rng, dOut, dIn);
      const w = randomMatrix(rng, dOut * dIn);
      for (const variant of ['pairwise', 'rectangle'] as const) {
        for (const rho of [0.2, 0.6, 0.95]) {
          const e = editWeight(w, basis, variant, rho);
          const removed = w.map((x, q) => x - e.weight[q]);
          const total = sumOfSquares(w);
          expect(Math.abs(sumOfSquares(e.weight) + sumOfSquares(removed) - total)).toBeLessThan(1e-12 * total);
          expect(Math.abs(sumOfSquares(e.weight) - e.energy.kept)).toBeLessThan(1e-12 * total);
          expect(Math.abs(sumOfSquares(removed) - e.energy.removed)).toBeLessThan(1e-12 * total);
          // Idempotent: editing the edited weight again changes nothing.
          const again = editWeight(e.weight, basis, variant, rho);
          for (let q = 0; q < w.length; q++) expect(again.weight[q]).toBeCloseTo(e.weight[q], 12);
        }
      }
    }
  });

  it('rectangle = Q_G,r Q_G,rᵀ W Q_A,r Q_A,rᵀ with the top eigenvectors reaching ρ of Σκ and of Σμ', () => {
    const rng = new Rng(11);
    const dOut = 5;
    const dIn = 7;
    const basis = randomBasis(rng, dOut, dIn);
    const w = randomMatrix(rng, dOut * dIn);
    const rho = 0.8;
    const rank = (v: ArrayLike<number>) => {
      const total = Array.from(v).reduce((s, x) => s + x, 0);
      let r = 0;
      let m = 0;
      while (m < rho * total) m += v[r++];
      return r;
    };
    const rg = rank(basis.kappa);
    const ra = rank(basis.mu);
    const s = selectRectangle(basis.kappa, basis.mu, rho);
    expect(s.ranks).toEqual({ g: rg, a: ra });
    const projector = (q: ArrayLike<number>, n: number, r: number) =>
      Float64Array.from({ length: n * n }, (_, t) => {
        let x = 0;
        for (let k = 0; k < r; k++) x += q[Math.floor(t / n) * n + k] * q[(t % n) * n + k];
        return x;
      });
    const pg = projector(basis.vectorsG, dOut, rg);
    const pa = projector(basis.vectorsA, dIn, ra);
    const e = editWeight(w, basis, 'rectangle', rho);
    for (let i = 0; i < dOut; i++)
      for (let j = 0; j < dIn; j++) {
        let x = 0;
        for (let k = 0; k < dOut; k++) for (let l = 0; l < dIn; l++) x += pg[i * dOut + k] * w[k * dIn + l] * pa[l * dIn + j];
        expect(e.weight[i * dIn + j]).toBeCloseTo(x, 12);
      }
  });
});

describe('truncated SVD (the baseline at equal rank)', () => {
  it("is Eckart–Young's best rank-r matrix: rank r and ‖W − W_r‖² = Σ_{k>r} σ_k²", () => {
    const rng = new Rng(13);
    for (const [rows, cols] of [
      [4, 9],
      [9, 4],
    ]) {
      const w = randomMatrix(rng, rows * cols);
      const s = singularValues(w, rows, cols);
      for (const r of [0, 1, 3, 4]) {
        const wr = truncatedSvd(w, rows, cols, r);
        expect(numericalRank(wr, rows, cols)).toBe(r);
        const residual = sumOfSquares(w.map((x, q) => x - wr[q]));
        const tail = Array.from(s.slice(r)).reduce((a, x) => a + x * x, 0);
        expect(Math.abs(residual - tail)).toBeLessThan(1e-12 * sumOfSquares(w));
      }
    }
  });
});

describe('curvature bands', () => {
  it('partition the components by the pairwise edit at each level, energy shares summing to 1', () => {
    const rng = new Rng(17);
    const basis = randomBasis(rng, 6, 8);
    const w = randomMatrix(rng, 48);
    const levels = [0.5, 0.9];
    const bands = curvatureBands(basis.kappa, basis.mu, levels);
    const at = (rho: number) => selectPairwise(basis.kappa, basis.mu, rho).mask;
    for (let q = 0; q < 48; q++) expect(bands[q]).toBe(at(0.5)[q] ? 0 : at(0.9)[q] ? 1 : 2);
    const shares = bandEnergyShares(eigenCoefficients(w, basis), bands, 3);
    expect(shares.reduce((s, x) => s + x, 0)).toBeCloseTo(1, 12);
    const removedAt09 = editWeight(w, basis, 'pairwise', 0.9).energy.removed / sumOfSquares(w);
    expect(shares[2]).toBeCloseTo(removedAt09, 12);
  });
});

describe('the edit tool on a case (float64, cpu)', () => {
  /**
   * A linear model W (edited) followed by a fixed linear map L (not edited), summed MSE against
   * targets L W x: the loss is Σ_n ½ (W'x − Wx)ᵀ S (W'x − Wx) with S = 2 LᵀL, zero at W, and K-FAC
   * of W (type-2, expand, R = 1) is exactly S ⊗ Σ x xᵀ (a deep linear network in its own setting).
   */
  it('loss increase = ½ Σ_removed κ_i μ_j C_ij² on a linear model with quadratic loss', async () => {
    const rng = new Rng(19);
    const dIn = 5;
    const dOut = 4;
    const C = 6;
    const N = 12;
    const W = Array.from({ length: dOut }, () => Array.from(randomMatrix(rng, dIn)));
    const L = Array.from({ length: C }, () => Array.from(randomMatrix(rng, dOut)));
    const X = Array.from({ length: N }, () => Array.from(randomMatrix(rng, dIn)));
    const apply = (M: number[][], x: number[]) => M.map((row) => row.reduce((s, m, j) => s + m * x[j], 0));
    const json = {
      layers: [
        { type: 'linear', weight: W },
        { type: 'linear', weight: L },
      ],
      setting: 'expand',
      inputs: X.map((x) => [x]),
      targets: X.map((x) => [apply(L, apply(W, x))]),
      loss: 'mse',
      reduction: 'sum',
      fisher: 'type-2',
      editLayers: [0],
    };
    const { editLayers: _, ...factorsCase } = json;
    void _;
    const eigen = await findTool('eigen')!.run({ ...factorsCase, bias: 'separate' }, { backend: b.cpu });
    const layer = eigen.layers[0] as unknown as {
      eigA: { values: number[]; vectors: number[][] };
      eigG: { values: number[]; vectors: number[][] };
    };
    const basis: LayerBasis = {
      kappa: layer.eigG.values,
      mu: layer.eigA.values,
      vectorsG: layer.eigG.vectors.flat(),
      vectorsA: layer.eigA.vectors.flat(),
    };
    const coefficients = eigenCoefficients(W.flat(), basis);
    for (const variant of ['pairwise', 'rectangle'] as const) {
      for (const keepMass of [0.3, 0.7, 0.95]) {
        const out = await computeEdit(parseEditCase({ ...json, keepMass, variant }), b.cpu);
        const edited = out.layers[0].weight;
        expect(out.layers[1].edited).toBe(false);
        expect(out.layers[1].weight).toEqual(L);
        // The true loss of the edited model (host arithmetic, nothing of K-FAC).
        let loss = 0;
        for (const x of X) {
          const r = apply(L, apply(edited, x)).map((v, k) => v - apply(L, apply(W, x))[k]);
          loss += r.reduce((s, v) => s + v * v, 0);
        }
        const { mask } = editWeight(W.flat(), basis, variant, keepMass).selection;
        let predicted = 0;
        for (let i = 0; i < dOut; i++)
          for (let j = 0; j < dIn; j++)
            if (!mask[i * dIn + j]) predicted += 0.5 * basis.kappa[i] * basis.mu[j] * coefficients[i * dIn + j] ** 2;
        expect(predicted).toBeGreaterThan(0);
        expect(Math.abs(loss - predicted)).toBeLessThan(1e-10 * Math.max(1, predicted));
        expect(out.layers[0].keptPairs).toBe([...mask].filter((m) => m).length);
      }
    }
  });

  it('ρ = 1 returns every weight exactly; output fields per layer', async () => {
    const rng = new Rng(23);
    const W0 = Array.from({ length: 3 }, () => Array.from(randomMatrix(rng, 2)));
    const W1 = Array.from({ length: 2 }, () => Array.from(randomMatrix(rng, 3)));
    const json = {
      layers: [{ type: 'linear', weight: W0, bias: [0.1, 0.2, 0.3] }, { type: 'tanh' }, { type: 'linear', weight: W1 }],
      setting: 'reduce',
      inputs: [
        [
          [1, 2],
          [0.5, -1],
        ],
        [
          [0, 1],
          [2, 2],
        ],
      ],
      targets: [1, 0],
      loss: 'ce',
      keepMass: 1,
    };
    const out = await computeEdit(parseEditCase(json), b.cpu);
    expect(out.layers.map((l) => l.index)).toEqual([0, 2]);
    expect(out.layers[0].weight).toEqual(W0);
    expect(out.layers[1].weight).toEqual(W1);
    expect(out.layers.map((l) => [l.keptPairs, l.totalPairs, l.keptMass, l.edited])).toEqual([
      [6, 6, 1, true],
      [6, 6, 1, true],
    ]);
  });

  it('bad fields name themselves', () => {
    const good = {
      layers: [{ type: 'linear', weight: [[1, 2]] }, { type: 'tanh' }, { type: 'linear', weight: [[1]] }],
      setting: 'expand',
      inputs: [[[1, 2]]],
      targets: [[[0.5]]],
      loss: 'mse',
    };
    const fails = (extra: Record<string, unknown>, field: RegExp) => {
      try {
        parseEditCase({ ...good, ...extra });
      } catch (e) {
        expect(e).toBeInstanceOf(CaseError);
        expect((e as CaseError).message).toMatch(field);
        return;
      }
      throw new Error(`accepted ${JSON.stringify(extra)}`);
    };
    fails({ keepMass: 0 }, /^keepMass: .*\(0, 1\]/);
    fails({ keepMass: 1.5 }, /^keepMass/);
    fails({ keepMass: 'half' }, /^keepMass/);
    fails({ editLayers: [1] }, /^editLayers\[0\]: .*linear layer.*\(0, 2\)/);
    fails({ editLayers: [] }, /^editLayers/);
    fails({ editLayers: [0, 0] }, /^editLayers: lists a layer twice/);
    fails({ variant: 'square' }, /^variant: expected "pairwise" or "rectangle"/);
    fails({ bias: 'folded' }, /^bias: the edit keeps the bias separate/);
    fails({ keepmass: 0.5 }, /^keepmass: unknown field/);
    expect(parseEditCase({ ...good, editLayers: [2], keepMass: 0.5 }).editLayers).toEqual([2]);
  });
});
