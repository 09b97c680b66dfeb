// The curvature panel's snapshot: the host eigenvalue solver against matrices with a known spectrum,
// block averaging on awkward sizes, the Kronecker spectrum, and curvatureSnapshot on both backends
// (device eigh and the host path agree; the factors are read before the optimizer can replace them).
import { describe, expect, it } from 'vitest';
import type { Backend } from '../../src/engine/backend/backend.ts';
import { parameter } from '../../src/engine/autograd/variable.ts';
import type { KfacLayerInfo } from '../../src/engine/nn/curvature-hook.ts';
import type { LayerFactors } from '../../src/engine/curvature/factors.ts';
import { KfacOptimizer } from '../../src/engine/optim/kfac/kfac-optimizer.ts';
import { blockAverage, curvatureSnapshot, KRON_LIMIT, kronEigenvalues } from '../../src/engine/curvature/snapshot.ts';
import { hostEigenvalues } from '../../src/engine/linalg/host-eigh.ts';
import { Rng } from '../../src/engine/random.ts';
import { keep } from '../../src/engine/tensor.ts';
import { useBackends } from '../helpers/backends.ts';

const b = useBackends();

/** Q diag(values) Qᵀ for a random orthogonal Q (a product of Householder reflections), row-major float64. */
function withSpectrum(values: readonly number[], seed: number): Float64Array {
  const n = values.length;
  const m = new Float64Array(n * n);
  values.forEach((v, i) => (m[i * n + i] = v));
  const rng = new Rng(seed);
  for (let r = 0; r < 3; r++) {
    const v = Float64Array.from({ length: n }, () => rng.uniform(-1, 1));
    const vv = v.reduce((s, x) => s + x * x, 0);
    if (vv === 0) continue;
    // M ← H M H with H = I − 2 v vᵀ / vᵀv.
    const apply = (left: boolean) => {
      for (let k = 0; k < n; k++) {
        let dot = 0;
        for (let i = 0; i < n; i++) dot += v[i] * (left ? m[i * n + k] : m[k * n + i]);
        const f = (2 * dot) / vv;
        for (let i = 0; i < n; i++) {
          if (left) m[i * n + k] -= f * v[i];
          else m[k * n + i] -= f * v[i];
        }
      }
    };
    apply(true);
    apply(false);
  }
  // Exactly symmetric, as K-FAC's factor kernels produce.
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) m[j * n + i] = m[i * n + j];
  return m;
}

const desc = (xs: readonly number[]) => Float64Array.from([...xs].sort((x, y) => y - x));

function expectAllClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number): void {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
  expect(worst).toBeLessThanOrEqual(tolerance);
}

function spectrum(n: number, seed: number): number[] {
  const rng = new Rng(seed);
  // Decades apart, like real factors, with a repeated value.
  return Array.from({ length: n }, (_, i) => (i === 1 && n > 2 ? 0.5 : 10 ** rng.uniform(-4, 1)));
}

describe('hostEigenvalues (host, float64)', () => {
  it('small known matrices', () => {
    expectAllClose(hostEigenvalues([4], 1), [4], 0);
    expectAllClose(hostEigenvalues([2, 1, 1, 2], 2), [3, 1], 1e-15);
    expectAllClose(hostEigenvalues([1, 0, 0, 0, 3, 0, 0, 0, 2], 3), [3, 2, 1], 1e-15);
    // Tridiagonal Toeplitz (2, −1): λ_k = 2 − 2 cos(kπ/(n+1)).
    const n = 9;
    const t = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      t[i * n + i] = 2;
      if (i > 0) t[i * n + i - 1] = t[(i - 1) * n + i] = -1;
    }
    expectAllClose(
      hostEigenvalues(t, n),
      desc(Array.from({ length: n }, (_, k) => 2 - 2 * Math.cos(((k + 1) * Math.PI) / (n + 1)))),
      1e-14,
    );
    expectAllClose(hostEigenvalues(new Float64Array(16), 4), [0, 0, 0, 0], 0);
    expect(hostEigenvalues([], 0)).toHaveLength(0);
  });

  it.each([3, 17, 65, 130])('a %i×%i matrix with a known spectrum (and trace = sum)', (n) => {
    const values = spectrum(n, n);
    const m = withSpectrum(values, 7 * n);
    const eig = hostEigenvalues(m, n);
    const max = Math.max(...values);
    expectAllClose(eig, desc(values), 1e-12 * max);
    let trace = 0;
    for (let i = 0; i < n; i++) trace += m[i * n + i];
    expect(eig.reduce((s, x) => s + x, 0)).toBeCloseTo(trace, 10);
  });

  it('reads only the lower triangle and reports NaN for a non-finite matrix', () => {
    expectAllClose(hostEigenvalues([2, 99, 1, 2], 2), [3, 1], 1e-15);
    expect(Array.from(hostEigenvalues([1, 0, Number.NaN, 1], 2)).every(Number.isNaN)).toBe(true);
  });
});

/** The reference: row r belongs to the last block whose first row is ≤ r. */
function referenceBlockAverage(m: ArrayLike<number>, n: number, cells: number): Float64Array {
  const starts = Array.from({ length: cells }, (_, i) => Math.floor((i * n) / cells));
  const blockOf = (r: number) => starts.findLastIndex((s) => s <= r);
  const sums = new Float64Array(cells * cells);
  const counts = new Float64Array(cells * cells);
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < n; c++) {
      const k = blockOf(r) * cells + blockOf(c);
      sums[k] += m[r * n + c];
      counts[k]++;
    }
  }
  return sums.map((s, k) => s / counts[k]);
}

describe('blockAverage', () => {
  it.each([1, 7, 48, 49, 65, 130])('n = %i with maxCells 48', (n) => {
    const rng = new Rng(n);
    const m = Float64Array.from({ length: n * n }, () => rng.uniform(-1, 1));
    const view = blockAverage(m, n, 48);
    const cells = Math.min(n, 48);
    expect(view.n).toBe(n);
    expect(view.cells).toBe(cells);
    expect(view.data).toHaveLength(cells * cells);
    expectAllClose(view.data, referenceBlockAverage(m, n, cells), 1e-12);
    if (n <= 48) expectAllClose(view.data, m, 0); // nothing to average
    // Every block holds ⌊n/cells⌋ or ⌈n/cells⌉ rows: a constant matrix stays constant.
    expect(Array.from(blockAverage(new Float64Array(n * n).fill(3), n, 48).data).every((x) => x === 3)).toBe(true);
  });

  it('a matrix of row indices averages to the block means', () => {
    const n = 65;
    const m = Float64Array.from({ length: n * n }, (_, k) => Math.floor(k / n));
    const view = blockAverage(m, n, 48);
    // Rows: 65 over 48 blocks, so 17 blocks of two rows and 31 of one; each cell is its rows' mean.
    const firstColumn = Array.from({ length: 48 }, (_, i) => view.data[i * 48]);
    expect(firstColumn[0]).toBe(0);
    expect(firstColumn[47]).toBeGreaterThanOrEqual(63.5); // the last block ends at row 64
    for (let i = 1; i < 48; i++) expect(firstColumn[i]).toBeGreaterThan(firstColumn[i - 1]);
    const twoRowBlocks = firstColumn.filter((x) => !Number.isInteger(x)).length;
    expect(twoRowBlocks).toBe(65 - 48);
  });
});

describe('kronEigenvalues', () => {
  it('all products, descending', () => {
    const eigG = [3, 1, 0.5];
    const eigA = [2, 0.1];
    expectAllClose(kronEigenvalues(eigG, eigA), [6, 2, 1, 0.3, 0.1, 0.05], 1e-15);
  });

  it(`keeps the ${KRON_LIMIT} largest of many`, () => {
    const rng = new Rng(3);
    const eigG = desc(Array.from({ length: 70 }, () => rng.uniform(0, 2)));
    const eigA = desc(Array.from({ length: 65 }, () => rng.uniform(0, 2)));
    const all = desc(Array.from(eigG).flatMap((g) => Array.from(eigA, (a) => g * a)));
    const kron = kronEigenvalues(eigG, eigA);
    expect(kron).toHaveLength(KRON_LIMIT);
    expectAllClose(kron, all.subarray(0, KRON_LIMIT), 0);
    expect(kronEigenvalues([1, 2], [3], 1)).toEqual(Float64Array.from([6]));
  });
});

/** A stand-in Linear layer (weight [dOut, dIn], bias folded into A). */
function fakeLayer(be: Backend, name: string, dOut: number, dIn: number): KfacLayerInfo {
  const weight = parameter(keep(be.zeros([dOut, dIn])), `${name}.weight`);
  const bias = parameter(keep(be.zeros([dOut])), `${name}.bias`);
  return { name, weight: { name: `${name}.weight`, variable: weight }, bias: { name: `${name}.bias`, variable: bias }, sharedDims: [] };
}

function factors(be: Backend, layer: KfacLayerInfo, a: Float64Array, g: Float64Array): LayerFactors {
  const [dA, dG] = [Math.round(Math.sqrt(a.length)), Math.round(Math.sqrt(g.length))];
  return { name: layer.name, layer, A: be.tensor(a, [dA, dA]), G: be.tensor(g, [dG, dG]), setting: 'expand', bias: 'folded' };
}

describe.each(['cpu', 'gpu'] as const)('curvatureSnapshot on %s', (which) => {
  it('reads a layer: heatmaps, eigenvalues against the known spectra, the Kronecker spectrum', async () => {
    const be = b[which];
    const kfac = new KfacOptimizer({ damping: 0.03 }, { approx: 'reduce' });
    const layer = fakeLayer(be, 'fc', 5, 64); // A 65×65 (bias folded), G 5×5
    expect(await curvatureSnapshot(kfac, 'fc')).toBeNull(); // before the first factor update
    const valuesA = spectrum(65, 1);
    const valuesG = [2, 1, 0.25, 0.125, 0.01];
    const [a, g] = [withSpectrum(valuesA, 2), withSpectrum(valuesG, 3)];
    const fs = [factors(be, layer, a, g)];
    kfac.updateFactors(fs);
    fs.forEach((f) => [f.A, f.G].forEach((t) => t.dispose()));
    try {
      const snap = await curvatureSnapshot(kfac, 'fc', { deviceEighMax: 65 }); // both on the device
      expect(snap).not.toBeNull();
      const s = snap!;
      expect(s.layer).toBe('fc');
      expect(s.approx).toBe('reduce');
      expect(s.damping).toBe(0.03);
      expect([s.inputFactor.n, s.inputFactor.cells, s.gradFactor.n, s.gradFactor.cells]).toEqual([65, 48, 5, 5]);
      // float32 storage (and float32 Jacobi on the device): relative to the largest eigenvalue.
      const tolA = 2e-5 * Math.max(...valuesA);
      expectAllClose(s.eigA, desc(valuesA), tolA);
      expectAllClose(s.eigG, desc(valuesG), 2e-5 * 2);
      expectAllClose(s.gradFactor.data, Float32Array.from(g), 0);
      expectAllClose(s.inputFactor.data, blockAverage(Float32Array.from(a), 65, 48).data, 1e-12);
      expect(s.kron).toHaveLength(65 * 5);
      expectAllClose(s.kron, kronEigenvalues(s.eigG, s.eigA), 0);
      for (let i = 1; i < s.kron.length; i++) expect(s.kron[i]).toBeLessThanOrEqual(s.kron[i - 1]);

      // The host path (used above deviceEighMax) agrees with the device eigh.
      const host = (await curvatureSnapshot(kfac, 'fc', { deviceEighMax: 0, maxCells: 7 }))!;
      expectAllClose(host.eigA, s.eigA, tolA);
      expectAllClose(host.eigG, s.eigG, 2e-5 * 2);
      expect([host.inputFactor.cells, host.gradFactor.cells]).toEqual([7, 5]);
      // By default A (65 > 64) is solved on the host, G on the device.
      const mixed = (await curvatureSnapshot(kfac, 'fc'))!;
      expectAllClose(mixed.eigA, host.eigA, 0);
      expectAllClose(mixed.eigG, s.eigG, 0);
    } finally {
      kfac.dispose();
    }
  });

  it('takes the factors as they were when called, even if the optimizer replaces them before the reads finish', async () => {
    const be = b[which];
    const kfac = new KfacOptimizer({ factorDecay: 0 }, { approx: 'expand' });
    const layer = fakeLayer(be, 'head', 2, 2); // A 3×3, G 2×2
    const first = [factors(be, layer, withSpectrum([3, 2, 1], 5), withSpectrum([4, 1], 6))];
    kfac.updateFactors(first);
    try {
      const pending = curvatureSnapshot(kfac, 'head');
      // With decay 0 the next update replaces the averages outright (and disposes the old tensors).
      const second = [factors(be, layer, withSpectrum([30, 20, 10], 5), withSpectrum([40, 10], 6))];
      kfac.updateFactors(second);
      const s = (await pending)!;
      expectAllClose(s.eigA, [3, 2, 1], 1e-5 * 3);
      expectAllClose(s.eigG, [4, 1], 1e-5 * 4);
      const after = (await curvatureSnapshot(kfac, 'head'))!;
      expectAllClose(after.eigA, [30, 20, 10], 1e-5 * 30);
      for (const f of [...first, ...second]) [f.A, f.G].forEach((t) => t.dispose());
    } finally {
      kfac.dispose();
    }
  });
});
