// The host float64 symmetric eigensolver (src/engine/linalg/host-eigh.ts): closed-form spectra,
// random symmetric matrices of awkward sizes (reconstruction ‖QΛQᵀ − M‖ and orthogonality ‖QᵀQ − I‖
// relative to ‖M‖, at float64 precision), repeated eigenvalues, its conventions (descending order,
// column vectors, deterministic signs, lower triangle only, NaN for non-finite input) and bad input.
import { describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/engine/backend/cpu/cpu-backend.ts';
import { hostEigenvalues, hostEigh } from '../../src/engine/linalg/host-eigh.ts';
import { Rng } from '../../src/engine/random.ts';
import { fromSpectrum, randomOrthogonal, randomSymmetric } from '../helpers/matrices.ts';

const EPS = 2 ** -52;

function frobenius(m: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < m.length; i++) s += m[i] * m[i];
  return Math.sqrt(s);
}

/** ‖Q Λ Qᵀ − M‖_F / ‖M‖_F and ‖QᵀQ − I‖_F (vectors as columns of the row-major q). */
function residuals(
  m: ArrayLike<number>,
  values: Float64Array,
  q: Float64Array,
  n: number,
): { reconstruction: number; orthogonality: number } {
  const diff = new Float64Array(n * n);
  const gram = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      let g = 0;
      for (let k = 0; k < n; k++) {
        s += q[i * n + k] * values[k] * q[j * n + k];
        g += q[k * n + i] * q[k * n + j];
      }
      diff[i * n + j] = s - m[i * n + j];
      gram[i * n + j] = g - (i === j ? 1 : 0);
    }
  }
  return { reconstruction: frobenius(diff) / Math.max(frobenius(m), Number.MIN_VALUE), orthogonality: frobenius(gram) };
}

function expectDescending(values: Float64Array): void {
  for (let k = 1; k < values.length; k++) expect(values[k], `values[${k}] ≤ values[${k - 1}]`).toBeLessThanOrEqual(values[k - 1]);
}

describe('hostEigh / hostEigenvalues', () => {
  it('known small matrices: values descending, vectors as columns with positive largest component', () => {
    expect(Array.from(hostEigh([4], 1).values)).toEqual([4]);
    expect(Array.from(hostEigh([4], 1).vectors)).toEqual([1]);
    expect(Array.from(hostEigh([-3], 1).vectors)).toEqual([1]);

    const two = hostEigh([2, 1, 1, 2], 2);
    expect(Math.abs(two.values[0] - 3)).toBeLessThan(8 * EPS);
    expect(Math.abs(two.values[1] - 1)).toBeLessThan(8 * EPS);
    const s = Math.SQRT1_2;
    // Column 0 ∝ (1, 1) for λ = 3, column 1 ∝ (1, −1) for λ = 1, largest (first on ties) positive.
    const expected = [s, s, s, -s];
    two.vectors.forEach((v, i) => expect(Math.abs(v - expected[i]), `vectors[${i}]`).toBeLessThan(8 * EPS));

    const diagonal = hostEigh([1, 0, 0, 0, 3, 0, 0, 0, 2], 3);
    expect(Array.from(diagonal.values)).toEqual([3, 2, 1]);
    expect(Array.from(diagonal.vectors)).toEqual([0, 0, 1, 1, 0, 0, 0, 1, 0]);

    expect(hostEigh([], 0)).toEqual({ values: new Float64Array(0), vectors: new Float64Array(0) });
    expect(hostEigenvalues([], 0)).toHaveLength(0);
  });

  it('the [-1, 2, -1] tridiagonal: λ_k = 2 − 2cos(kπ/(n+1)) to 1e-14, vectors sin(jkπ/(n+1)) up to sign', () => {
    for (const n of [1, 2, 9, 50]) {
      const t = new Float64Array(n * n);
      for (let i = 0; i < n; i++) {
        t[i * n + i] = 2;
        if (i > 0) t[i * n + i - 1] = t[(i - 1) * n + i] = -1;
      }
      const closed = Array.from({ length: n }, (_, k) => 2 - 2 * Math.cos(((n - k) * Math.PI) / (n + 1))); // descending
      const { values, vectors } = hostEigh(t, n);
      const only = hostEigenvalues(t, n);
      for (let k = 0; k < n; k++) {
        expect(Math.abs(values[k] - closed[k]), `n=${n} k=${k}`).toBeLessThan(1e-14);
        expect(Math.abs(only[k] - closed[k]), `eigenvalues only, n=${n} k=${k}`).toBeLessThan(1e-14);
        // Eigenvector of λ for index m = n − k: components sin(j m π/(n+1)), normalised.
        const m = n - k;
        const exact = Array.from({ length: n }, (_, j) => Math.sin(((j + 1) * m * Math.PI) / (n + 1)));
        const norm = frobenius(exact);
        const dot = exact.reduce((acc, x, j) => acc + (x / norm) * vectors[j * n + k], 0);
        expect(Math.abs(Math.abs(dot) - 1), `n=${n} vector ${k}`).toBeLessThan(1e-12);
      }
    }
  });

  it.each([1, 2, 3, 17, 65, 130])('random symmetric n = %i: ‖QΛQᵀ − M‖ and ‖QᵀQ − I‖ at float64 precision', (n) => {
    const rng = new Rng(1000 + n);
    const m = randomSymmetric(rng, n);
    const { values, vectors } = hostEigh(m, n);
    expectDescending(values);
    const { reconstruction, orthogonality } = residuals(m, values, vectors, n);
    // Backward-stable: O(n·ε) in the worst case, far less in practice (measured ≈ 1e-15 at n = 130).
    expect(reconstruction).toBeLessThan(n * EPS * 20 + 1e-15);
    expect(orthogonality).toBeLessThan(n * EPS * 20 + 1e-15);
    // The values-only path runs the same reduction and QR steps: identical to the last bit.
    expect(Array.from(hostEigenvalues(m, n))).toEqual(Array.from(values));
    // Each column is a unit vector whose largest-magnitude component is positive.
    for (let k = 0; k < n; k++) {
      let best = 0;
      for (let i = 1; i < n; i++) if (Math.abs(vectors[i * n + k]) > Math.abs(vectors[best * n + k])) best = i;
      expect(vectors[best * n + k], `column ${k} sign`).toBeGreaterThan(0);
    }
  });

  it.each([3, 17, 65, 130])('n = %i, a known spectrum over 1e-6..1e3: values to 1e-12 relative to ‖M‖', (n) => {
    const rng = new Rng(2000 + n);
    const w = Array.from({ length: n }, (_, k) => (n === 1 ? 1 : 1e-6 * 1e9 ** (k / (n - 1))));
    const m = fromSpectrum(randomOrthogonal(rng, n), w, n);
    const values = hostEigenvalues(m, n);
    const sorted = [...w].sort((x, y) => y - x);
    let worst = 0;
    for (let k = 0; k < n; k++) worst = Math.max(worst, Math.abs(values[k] - sorted[k]));
    expect(worst / 1e3).toBeLessThan(1e-12);
  });

  it('degenerate eigenvalues: exact multiplicities, and the vectors still span an orthonormal basis', () => {
    const rng = new Rng(7);
    for (const n of [9, 33]) {
      // Multiplicities 4, 2, 3 (and zeros for the rest when n = 33).
      const w = Array.from({ length: n }, (_, k) => (k < 4 ? 2 : k < 6 ? -1 : k < 9 ? 5 : 0));
      const m = fromSpectrum(randomOrthogonal(rng, n), w, n);
      const { values, vectors } = hostEigh(m, n);
      const sorted = [...w].sort((x, y) => y - x);
      for (let k = 0; k < n; k++) expect(Math.abs(values[k] - sorted[k]), `n=${n} k=${k}`).toBeLessThan(1e-13);
      const { reconstruction, orthogonality } = residuals(m, values, vectors, n);
      expect(reconstruction).toBeLessThan(1e-13);
      expect(orthogonality).toBeLessThan(1e-13);
    }
    // Zero and identity: exact, with identity vectors.
    const n = 5;
    const eye = Array.from({ length: n * n }, (_, i) => (i % (n + 1) === 0 ? 1 : 0));
    expect(Array.from(hostEigh(new Float64Array(n * n), n).values)).toEqual(new Array(n).fill(0));
    expect(Array.from(hostEigh(new Float64Array(n * n), n).vectors)).toEqual(eye);
    expect(Array.from(hostEigh(eye, n).values)).toEqual(new Array(n).fill(1));
    expect(Array.from(hostEigh(eye, n).vectors)).toEqual(eye);
  });

  it('scale invariance: huge and tiny matrices do not overflow or underflow', () => {
    const rng = new Rng(9);
    const n = 17;
    const base = randomSymmetric(rng, n);
    const ref = hostEigh(base, n);
    for (const scale of [1e150, 1e-150]) {
      const { values, vectors } = hostEigh(
        base.map((x) => x * scale),
        n,
      );
      for (let k = 0; k < n; k++) expect(Math.abs(values[k] / scale - ref.values[k])).toBeLessThan(1e-12 * Math.abs(ref.values[0]));
      expect(residuals(base, ref.values, vectors, n).reconstruction).toBeLessThan(1e-12);
    }
  });

  it('reads only the lower triangle; a non-finite entry there gives NaN, one above is ignored', () => {
    expect(Array.from(hostEigenvalues([2, 99, 1, 2], 2)).map((v) => Math.round(v * 1e12) / 1e12)).toEqual([3, 1]);
    expect(Array.from(hostEigh([2, Number.NaN, 1, 2], 2).values)).toEqual(Array.from(hostEigh([2, 1, 1, 2], 2).values));
    const bad = hostEigh([1, 0, Number.NaN, 1], 2);
    expect(Array.from(bad.values).every(Number.isNaN)).toBe(true);
    expect(Array.from(bad.vectors).every(Number.isNaN)).toBe(true);
    expect(Array.from(hostEigenvalues([Number.POSITIVE_INFINITY, 0, 0, 1], 2)).every(Number.isNaN)).toBe(true);
  });

  it('bad sizes get a clear message', () => {
    expect(() => hostEigh([1, 2, 3], 2)).toThrow('hostEigh: 3 values do not form a 2×2 matrix');
    expect(() => hostEigenvalues([1, 2, 3, 4], 3)).toThrow('hostEigenvalues: 4 values do not form a 3×3 matrix');
    expect(() => hostEigh([1], 1.5)).toThrow(/n = 1.5 is not a size/);
    expect(() => hostEigh([], -1)).toThrow(/n = -1 is not a size/);
  });
});

describe('the CPU backend eigh kernel is this solver', () => {
  it('float64: values reversed to ascending and the matching columns, bit for bit (ties keep their order)', async () => {
    const be = new CpuBackend();
    const rng = new Rng(5);
    const n = 17;
    const random = randomSymmetric(rng, n);
    const repeated = fromSpectrum(
      randomOrthogonal(rng, n),
      Array.from({ length: n }, (_, k) => (k < 5 ? 1 : k)),
      n,
    );
    const zero = new Float64Array(n * n);
    const batch = new Float64Array(3 * n * n);
    [random, repeated, zero].forEach((m, i) => batch.set(m, i * n * n));
    const { values, vectors } = be.eigh(be.tensor(batch, [3, n, n], 'float64'));
    const [w, q] = [await values.read(), await vectors.read()];
    for (const [m, matrix] of [random, repeated, zero].entries()) {
      const host = hostEigh(matrix, n);
      // Ascending: position k of the kernel's output is host position n − 1 − k, except that a run of
      // equal values keeps the host's order (so the zero matrix gives I).
      const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => host.values[i] - host.values[j] || i - j);
      for (let k = 0; k < n; k++) {
        expect(w[m * n + k], `matrix ${m} value ${k}`).toBe(host.values[order[k]]);
        for (let i = 0; i < n; i++) expect(q[m * n * n + i * n + k]).toBe(host.vectors[i * n + order[k]]);
      }
    }
    be.destroy();
  });
});
