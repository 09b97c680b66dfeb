import { describe, expect, it } from 'vitest';
import type { CurvatureSnapshot } from '../../src/engine/curvature/snapshot.ts';
import {
  buildFactorFigure,
  buildSpectrumFigure,
  curvatureSummary,
  factorTable,
  matrixRows,
  matrixSizeNote,
  spectrumStats,
  spectrumTable,
  symmetricLimit,
  thinByLogRank,
} from '../../src/ui/charts/curvature-figures.ts';

function snapshot(overrides: Partial<CurvatureSnapshot> = {}): CurvatureSnapshot {
  const eigA = Float64Array.from([4, 1, 0.01]);
  const eigG = Float64Array.from([2, 0.1]);
  const kron = Float64Array.from([8, 2, 0.4, 0.1, 0.02, 0.001]);
  return {
    layer: 'fc1',
    approx: 'reduce',
    inputFactor: { n: 3, cells: 2, data: Float64Array.from([1, -0.5, -0.5, 2]) },
    gradFactor: { n: 2, cells: 2, data: Float64Array.from([0.3, 0.1, 0.1, 0.2]) },
    eigA,
    eigG,
    kron,
    damping: 0.05,
    ...overrides,
  };
}

describe('factor heatmaps', () => {
  it('reshapes the row-major view and centres the colour scale on 0', () => {
    const s = snapshot();
    expect(matrixRows(s.inputFactor)).toEqual([
      [1, -0.5],
      [-0.5, 2],
    ]);
    expect(symmetricLimit(Float64Array.from([0.5, -3, 2]))).toBe(3);
    expect(symmetricLimit(Float64Array.from([0, 0]))).toBe(1);
    const trace = buildFactorFigure(s.inputFactor, 'A').data[0] as { type: string; zmin: number; zmax: number };
    expect(trace).toMatchObject({ type: 'heatmap', zmin: -2, zmax: 2 });
  });

  it('notes block averaging', () => {
    expect(matrixSizeNote({ n: 65, cells: 48, data: new Float64Array(48 * 48) })).toBe('65×65 shown as 48×48 (block averages)');
    expect(matrixSizeNote({ n: 10, cells: 10, data: new Float64Array(100) })).toBe('10×10');
    expect(factorTable(snapshot().inputFactor, 'A').rows).toEqual([
      ['row 0', '1', '-0.5'],
      ['row 1', '-0.5', '2'],
    ]);
  });
});

describe('spectrum', () => {
  it('counts eigenvalues of G ⊗ A below the damping from the factors exactly', () => {
    // products: 8, 2, 0.02, 0.4, 0.1, 0.001 → below 0.05: 0.02, 0.001
    expect(spectrumStats(snapshot())).toEqual({ top: 8, smallest: 0.001, conditionNumber: 8000, belowDamping: 2, total: 6 });
    const indefinite = spectrumStats(snapshot({ eigA: Float64Array.from([1, -1e-9]) }));
    expect(indefinite.conditionNumber).toBeNull();
  });

  it('plots positive eigenvalues on log-y, with A, G and a damping line', () => {
    const { data, layout } = buildSpectrumFigure(snapshot({ kron: Float64Array.from([8, 2, 0, -1e-9]) }));
    const traces = data as unknown as { name: string; x: number[]; y: number[] }[];
    expect(traces.map((t) => t.name)).toEqual(['G ⊗ A', 'A', 'G']);
    expect(traces[0]).toMatchObject({ x: [1, 2], y: [8, 2] });
    expect(traces[1].y).toEqual([4, 1, 0.01]);
    expect(layout.yaxis?.type).toBe('log');
    expect(layout.shapes?.[0]).toMatchObject({ y0: 0.05, y1: 0.05, yref: 'y' });
  });

  it('summarises condition number, top eigenvalue and the count below λ', () => {
    expect(curvatureSummary(snapshot(), 'K-FAC-reduce', 40)).toBe(
      'G ⊗ A of layer fc1 (K-FAC-reduce, step 40): top eigenvalue 8, condition number 8000, 2 of 6 eigenvalues below the damping λ = 0.05.',
    );
  });

  it('tabulates ranks and says when G ⊗ A was cut', () => {
    const table = spectrumTable(snapshot({ kron: Float64Array.from([8, 2]) }));
    expect(table.rows[0]).toEqual(['1', '8', '4', '2']);
    expect(table.rows[2]).toEqual(['3', '', '0.01', '']);
    expect(table.note).toMatch(/largest 2/);
  });
});

describe('thinByLogRank', () => {
  it('keeps short spectra whole and thins long ones to the limit, keeping the ends and the top ranks', () => {
    const short = { x: [1, 2, 3], y: [3, 2, 1] };
    expect(thinByLogRank(short, 8)).toBe(short);
    const n = 2048;
    const long = { x: Array.from({ length: n }, (_, i) => i + 1), y: Array.from({ length: n }, (_, i) => n - i) };
    const thin = thinByLogRank(long, 256);
    expect(thin.x.length).toBeLessThanOrEqual(256);
    expect(thin.x.length).toBeGreaterThan(128);
    expect(thin.x[0]).toBe(1);
    expect(thin.x.at(-1)).toBe(n);
    expect(thin.x.slice(0, 10)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    // Ranks ascend strictly and every y is the y of its rank.
    for (let i = 1; i < thin.x.length; i++) expect(thin.x[i]).toBeGreaterThan(thin.x[i - 1]);
    thin.x.forEach((x, i) => expect(thin.y[i]).toBe(n - x + 1));
    expect(buildSpectrumFigure(snapshot({ kron: Float64Array.from(long.y) })).data[0]).toMatchObject({ type: 'scatter' });
  });
});
