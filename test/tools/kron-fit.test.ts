// The fit of a diagonal in a Kronecker eigenbasis (curvature-report/kron-fit.ts) against the dense
// product (Q_G⊗Q_A) diag(d) (Q_G⊗Q_A)ᵀ formed entry by entry, on awkward sizes.
import { describe, expect, it } from 'vitest';
import { kron } from '../../src/engine/curvature/exact-ggn.ts';
import { hostEigh } from '../../src/engine/linalg/host-eigh.ts';
import { Rng } from '../../src/engine/random.ts';
import { kronDiagonalFit, kronDiagonalMatrix, relativeFrobenius } from '../../src/engine/tools/curvature-report/kron-fit.ts';
import { relativeError } from '../helpers/compare.ts';

/** A random symmetric positive semi-definite n×n matrix (X Xᵀ) and its eigenvectors. */
function randomPsd(rng: Rng, n: number): { M: Float64Array; Q: Float64Array; values: Float64Array } {
  const X = rng.uniformArray(n * (n + 1));
  const M = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) for (let k = 0; k <= n; k++) M[i * n + j] += X[i * (n + 1) + k] * X[j * (n + 1) + k];
  const { values, vectors } = hostEigh(M, n);
  return { M, Q: vectors, values };
}

function denseReference(QG: Float64Array, dG: number, QA: Float64Array, dA: number, d: Float64Array): Float64Array {
  const P = dG * dA;
  const Q = kron(QG, QA).values; // column (i·dA + j) = q_G,i ⊗ q_A,j
  const out = new Float64Array(P * P);
  for (let p = 0; p < P; p++) for (let q = 0; q < P; q++) for (let c = 0; c < P; c++) out[p * P + q] += Q[p * P + c] * d[c] * Q[q * P + c];
  return out;
}

describe('kronDiagonalMatrix', () => {
  for (const [dG, dA] of [
    [1, 1],
    [1, 3],
    [3, 1],
    [3, 4],
    [5, 2],
  ]) {
    it(`equals the dense product, dG = ${dG}, dA = ${dA}`, () => {
      const rng = new Rng(dG * 10 + dA);
      const G = randomPsd(rng, dG);
      const A = randomPsd(rng, dA);
      const d = rng.uniformArray(dG * dA, 0, 2);
      expect(relativeError(kronDiagonalMatrix(G.Q, dG, A.Q, dA, d), denseReference(G.Q, dG, A.Q, dA, d))).toBeLessThan(1e-12);
      // With d = κμᵀ the product is G ⊗ A itself: K-FAC's fit to its own G ⊗ A is 0.
      const kappaMu = new Float64Array(dG * dA);
      for (let i = 0; i < dG; i++) for (let j = 0; j < dA; j++) kappaMu[i * dA + j] = G.values[i] * A.values[j];
      expect(kronDiagonalFit(kron(G.M, A.M).values, G.Q, dG, A.Q, dA, kappaMu)).toBeLessThan(1e-12);
    });
  }

  it('relativeFrobenius and a zero diagonal: the fit of 0 is 1', () => {
    const rng = new Rng(5);
    const G = randomPsd(rng, 3);
    const A = randomPsd(rng, 2);
    const F = kron(G.M, A.M).values;
    expect(kronDiagonalFit(F, G.Q, 3, A.Q, 2, new Float64Array(6))).toBeCloseTo(1, 14);
    expect(relativeFrobenius([3, 4], [0, 0])).toBe(1);
    expect(relativeFrobenius([3, 4], [3, 0])).toBeCloseTo(0.8, 14);
    expect(() => kronDiagonalMatrix(G.Q, 3, A.Q, 2, new Float64Array(5))).toThrow(/do not fit/);
  });
});
