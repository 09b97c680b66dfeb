// The `eigen` tool (docs/curvature-tools.md §1; the curvature toolkit's fitCurvature and fitEkfac)
// against numbers computed independently of it: the factors of `factors`, eigen-equations checked
// directly, and EK-FAC's Λ from the dense exact GGN block of src/engine/curvature/exact-ggn.ts,
// Λ = diag((Q_G⊗Q_A)ᵀ F (Q_G⊗Q_A)) (type-2), or from the loss gradient itself (empirical Fisher of
// one example: F = g gᵀ).
import { describe, expect, it } from 'vitest';
import { grad } from '../../src/engine/autograd/backward.ts';
import { computeLoss } from '../../src/engine/nn/losses.ts';
import { buildCaseModel, computeCaseFactors, parseFactorsCase, type FactorsCase } from '../../src/engine/tools/case.ts';
import { computeEigen, type EigenLayer } from '../../src/engine/tools/eigen/eigen.ts';
import { findTool } from '../../src/engine/tools/registry.ts';
import { relativeError } from '../helpers/compare.ts';
import { useBackends } from '../helpers/backends.ts';
import { exactBlocks } from '../curvature/oracle-helpers.ts';
import { randomCase, smallCase } from './cases.ts';

const b = useBackends();

/** diag(Qᵀ F Q) for the P×P matrix F and Q = Q_G ⊗ Q_A (vec row-major: p = i·dA + j). */
function diagInKronBasis(F: Float64Array, QG: number[][], QA: number[][]): number[] {
  const dG = QG.length;
  const dA = QA.length;
  const P = dG * dA;
  const q = (p: number, i: number, j: number) => QG[Math.floor(p / dA)][i] * QA[p % dA][j];
  const out: number[] = [];
  for (let i = 0; i < dG; i++) {
    for (let j = 0; j < dA; j++) {
      let s = 0;
      for (let p = 0; p < P; p++) {
        const qp = q(p, i, j);
        if (qp === 0) continue;
        for (let r = 0; r < P; r++) s += qp * F[p * P + r] * q(r, i, j);
      }
      out.push(s);
    }
  }
  return out;
}

function checkEigenpairs(M: number[][], e: { values: number[]; vectors: number[][] }) {
  const n = M.length;
  for (let k = 0; k + 1 < n; k++) expect(e.values[k]).toBeGreaterThanOrEqual(e.values[k + 1]);
  const scale = Math.max(...M.flat().map(Math.abs));
  for (let k = 0; k < n; k++) {
    expect(e.values[k]).toBeGreaterThanOrEqual(0);
    for (let i = 0; i < n; i++) {
      let mv = 0;
      for (let j = 0; j < n; j++) mv += M[i][j] * e.vectors[j][k];
      // Clamping only moves values that are ≈ 0 up to 0.
      expect(Math.abs(mv - e.values[k] * e.vectors[i][k])).toBeLessThan(1e-10 * scale);
    }
    for (let l = 0; l < n; l++) {
      let dot = 0;
      for (let i = 0; i < n; i++) dot += e.vectors[i][k] * e.vectors[i][l];
      expect(dot).toBeCloseTo(k === l ? 1 : 0, 10);
    }
  }
}

function parse(json: Record<string, unknown>): FactorsCase {
  return parseFactorsCase(JSON.parse(JSON.stringify(json)));
}

describe('eigen: factors and eigenbases', () => {
  it('A and G are the factors of `factors`; eigA and eigG satisfy the eigen-equations, descending, orthonormal', async () => {
    const c = parse(smallCase());
    const out = await computeEigen(c, b.cpu);
    const factors = await computeCaseFactors(c, b.cpu);
    expect(out.layers.map((l) => l.index)).toEqual([0, 2]);
    out.layers.forEach((l, i) => {
      // The toolkit sums its batches (one here) with weights: equal up to the last bits.
      expect(relativeError(l.A.flat(), factors.layers[i].A.flat())).toBeLessThan(1e-14);
      expect(relativeError(l.G.flat(), factors.layers[i].G.flat())).toBeLessThan(1e-14);
      checkEigenpairs(l.A, l.eigA);
      checkEigenpairs(l.G, l.eigG);
      expect(l.ekfac).toHaveLength(l.G.length);
      for (const row of l.ekfac) expect(row).toHaveLength(l.A.length);
    });
    // Layer 0 has a bias (folded: A is 3×3), layer 2 none (A is 3×3 from its 3 inputs).
    expect(out.layers[0].A).toHaveLength(3);
    expect(out.layers[0].ekfacBias).toBeUndefined();
  });

  it('the registry tool runs the same function and validates its case', async () => {
    const tool = findTool('eigen')!;
    expect(await tool.run(smallCase(), { backend: b.cpu })).toEqual(await computeEigen(parse(smallCase()), b.cpu));
    await expect(tool.run({ ...smallCase(), approx: 'full' }, { backend: b.cpu })).rejects.toThrow(
      /^approx: expected "expand" or "reduce"/,
    );
  });
});

describe('eigen: EK-FAC Λ against the exact GGN block (type-2, CPU float64)', () => {
  const variants = [
    { setting: 'expand', loss: 'mse', bias: 'folded', reduction: 'mean' },
    { setting: 'reduce', loss: 'mse', bias: 'separate', reduction: 'sum' },
    { setting: 'expand', loss: 'ce', bias: 'separate', reduction: 'mean' },
    { setting: 'reduce', loss: 'ce', bias: 'folded', reduction: 'mean' },
  ] as const;
  for (const v of variants) {
    for (const approx of ['expand', 'reduce'] as const) {
      it(`${v.setting} setting, ${v.loss}, bias ${v.bias}, ${v.reduction}, K-FAC-${approx}: Λ = diag((Q_G⊗Q_A)ᵀ F (Q_G⊗Q_A))`, async () => {
        const json = randomCase(7, { widths: [3, 4, 3], N: 3, R: 2, setting: v.setting, loss: v.loss, activation: 'tanh' });
        const c = parse({ ...json, bias: v.bias, reduction: v.reduction, approx });
        const out = await computeEigen(c, b.cpu);
        const exact = exactBlocks(b.cpu, c, c.bias);
        out.layers.forEach((l: EigenLayer, i) => {
          const expected = diagInKronBasis(exact[i].block.weight.values, l.eigG.vectors, l.eigA.vectors);
          expect(relativeError(l.ekfac.flat(), expected), `layer ${l.index}`).toBeLessThan(1e-10);
          if (v.bias === 'separate') {
            const expectedBias = diagInKronBasis(exact[i].block.bias!.values, l.eigG.vectors, [[1]]);
            expect(relativeError(l.ekfacBias!, expectedBias)).toBeLessThan(1e-10);
          } else expect(l.ekfacBias).toBeUndefined();
          // The trace is basis-free: Σ Λ = tr F, whichever eigenbasis.
          const P = exact[i].block.weight.size;
          let trace = 0;
          for (let p = 0; p < P; p++) trace += exact[i].block.weight.values[p * P + p];
          expect(l.ekfac.flat().reduce((s, x) => s + x, 0)).toBeCloseTo(trace, 10);
        });
      });
    }
  }
});

describe('eigen: EK-FAC Λ of the empirical Fisher', () => {
  it('one example, one layer, summed loss: Λ = (Qᵀ g)² with g the loss gradient', async () => {
    for (const loss of ['mse', 'ce'] as const) {
      const json = randomCase(11, { widths: [3, 4], N: 1, R: 1, setting: 'reduce', loss });
      const c = parse({ ...json, fisher: 'empirical', reduction: 'sum' });
      const [l] = (await computeEigen(c, b.cpu)).layers;
      const m = buildCaseModel(c, b.cpu);
      try {
        const { weight, bias } = m.model.linears[0].layer;
        const [gW, gB] = grad(computeLoss(m.loss.spec, m.forward(), m.loss.targets), [weight, bias!]);
        const w = b.cpu.dataOf(gW);
        const bb = b.cpu.dataOf(gB);
        const g = Array.from({ length: 4 }, (_, i) => [...Array.from(w.subarray(i * 3, i * 3 + 3)), bb[i]]).flat();
        const F = new Float64Array(g.length * g.length);
        for (let p = 0; p < g.length; p++) for (let q = 0; q < g.length; q++) F[p * g.length + q] = g[p] * g[q];
        expect(relativeError(l.ekfac.flat(), diagInKronBasis(F, l.eigG.vectors, l.eigA.vectors)), loss).toBeLessThan(1e-10);
      } finally {
        m.dispose();
      }
    }
  });
});

describe('eigen on WebGPU (float32)', () => {
  it('matches the CPU float64 run', async () => {
    const json = randomCase(12, { widths: [3, 5, 2], N: 4, R: 3, setting: 'reduce', loss: 'ce', activation: 'relu' });
    const cpu = await computeEigen(parse(json), b.cpu);
    const gpu = await computeEigen(parse({ ...json, backend: 'webgpu' }), b.gpu);
    gpu.layers.forEach((l, i) => {
      const ref = cpu.layers[i];
      expect(relativeError(l.A.flat(), ref.A.flat())).toBeLessThan(1e-5);
      expect(relativeError(l.G.flat(), ref.G.flat())).toBeLessThan(1e-5);
      expect(relativeError(l.eigA.values, ref.eigA.values)).toBeLessThan(1e-4);
      expect(relativeError(l.eigG.values, ref.eigG.values)).toBeLessThan(1e-4);
      expect(relativeError(l.ekfac.flat(), ref.ekfac.flat()), `layer ${l.index}`).toBeLessThan(1e-3);
    });
  });
});
