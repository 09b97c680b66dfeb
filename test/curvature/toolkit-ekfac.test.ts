// EK-FAC's Λ (docs/curvature-tools.md §1) against the dense exact curvature of all K-FAC parameters:
// Λ = diag((Q_G⊗Q_A)ᵀ F (Q_G⊗Q_A)) for the exact GGN (type-2) and the empirical Fisher, in both
// settings, folded and separate bias; and EK-FAC's fit is never worse than K-FAC's in that basis.
import { describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/engine/backend/cpu/cpu-backend.ts';
import { exactGgnBlock, kron } from '../../src/engine/curvature/exact-ggn.ts';
import {
  batchList,
  exactCurvatureMatrix,
  fitCurvature,
  fitEkfac,
  type BiasMode,
  type EkfacBlock,
  type FisherType,
  type KfacApprox,
  type LossSetting,
} from '../../src/engine/curvature/toolkit.ts';
import type { LossKind, Reduction } from '../../src/engine/nn/losses.ts';
import * as ops from '../../src/engine/autograd/ops.ts';
import { constant, type Variable } from '../../src/engine/autograd/variable.ts';
import { Linear } from '../../src/engine/nn/linear.ts';
import { lossSpec } from '../../src/engine/nn/losses.ts';
import { Module, type LayerContext } from '../../src/engine/nn/module.ts';
import { Rng } from '../../src/engine/random.ts';
import type { Tensor } from '../../src/engine/tensor.ts';
import {
  addIdentity,
  diagInBasis,
  fromBasis,
  frobenius,
  logDetDense,
  matVec,
  placeProblem,
  scaledMaxError,
  solveDense,
  stackProblem,
  subBlock,
} from './toolkit-helpers.ts';

const cpu = new CpuBackend();

interface Case {
  setting: LossSetting;
  approx: KfacApprox;
  loss: LossKind;
  reduction: Reduction;
}

const CASES: Case[] = [
  { setting: 'expand', approx: 'expand', loss: 'mse', reduction: 'sum' },
  { setting: 'expand', approx: 'reduce', loss: 'ce', reduction: 'mean' },
  { setting: 'reduce', approx: 'reduce', loss: 'ce', reduction: 'mean' },
  { setting: 'reduce', approx: 'expand', loss: 'mse', reduction: 'mean' },
];

describe('EK-FAC Λ against the dense exact curvature (CPU, float64)', () => {
  for (const c of CASES) {
    for (const fisher of ['type-2', 'empirical'] as FisherType[]) {
      for (const bias of ['folded', 'separate'] as BiasMode[]) {
        it(`${c.setting} setting, ${c.approx} basis, ${c.loss}/${c.reduction}, ${fisher}, bias ${bias}`, async () => {
          const rng = new Rng(41);
          const p = stackProblem(rng, { widths: [3, 4, 3], N: 3, R: 2, ignore: true, ...c });
          const placed = placeProblem(cpu, p);
          const curvature = await fitCurvature(placed.model, batchList([placed.full]), { approx: c.approx, fisher, bias });
          const ekfac = await fitEkfac(curvature, placed.model, batchList([placed.full]));
          try {
            const dense = exactCurvatureMatrix(placed.model, placed.full.forward, placed.full.loss, {
              bias,
              kind: fisher === 'type-2' ? 'ggn' : 'empirical',
            });
            expect(dense.layers.map((l) => l.name)).toEqual(curvature.layers.map((l) => l.name));
            for (const [k, layer] of curvature.layers.entries()) {
              const at = dense.layers[k];
              const P = at.dOut * at.width;
              const block = subBlock(dense.values, dense.size, at.offset, P);
              const eig = await layer.eigenHost();
              const Q = kron(eig.G.vectors, eig.A.vectors).values;
              const expected = diagInBasis(block, Q, P);
              const lambda = await ekfac.layers[k].spectrum();
              expect(scaledMaxError(lambda, expected), `layer ${k} Λ`).toBeLessThan(1e-10);
              expect(Math.max(...expected)).toBeGreaterThan(1e-3); // not a vacuous comparison

              // EK-FAC's fit ≤ K-FAC's fit in the same basis.
              const kfacFit = frobenius(subtract(block, fromBasis(Q, await layer.spectrum(), P)));
              const ekfacFit = frobenius(subtract(block, fromBasis(Q, lambda, P)));
              expect(ekfacFit).toBeLessThanOrEqual(kfacFit * (1 + 1e-12) + 1e-14);

              if (bias === 'separate') {
                expect(at.biasOffset).not.toBeNull();
                const biasBlock = subBlock(dense.values, dense.size, at.biasOffset!, at.dOut);
                const expectedBias = diagInBasis(biasBlock, eig.G.vectors, at.dOut);
                const lambdaBias = await ekfac.layers[k].biasBlock!.spectrum();
                expect(scaledMaxError(lambdaBias, expectedBias), `layer ${k} bias Λ`).toBeLessThan(1e-10);
              } else expect(ekfac.layers[k].biasBlock).toBeNull();
            }
          } finally {
            ekfac.dispose();
            curvature.dispose();
            placed.dispose();
          }
        });
      }
    }
  }
});

describe('EK-FAC block operations against the dense Q diag(Λ) Qᵀ (CPU, float64)', () => {
  it('multiply, inverseApply (one and a batch), logDet, inverseDiagonal, trace; separate bias block', async () => {
    const p = stackProblem(new Rng(12), { widths: [3, 4, 3], N: 4, R: 2, setting: 'reduce', loss: 'ce', reduction: 'mean' });
    const placed = placeProblem(cpu, p);
    const curvature = await fitCurvature(placed.model, batchList([placed.full]), { approx: 'reduce', bias: 'separate' });
    const ekfac = await fitEkfac(curvature, placed.model, batchList([placed.full]));
    const rng = new Rng(1);
    const damping = 0.05;
    try {
      for (const [k, layer] of ekfac.layers.entries()) {
        const eig = await curvature.layers[k].eigenHost();
        const blocks: [EkfacBlock, Float64Array][] = [[layer, kron(eig.G.vectors, eig.A.vectors).values]];
        if (layer.biasBlock) blocks.push([layer.biasBlock, eig.G.vectors]);
        for (const [block, Q] of blocks) {
          const P = block.dOut * block.width;
          const dense = fromBasis(Q, await block.spectrum(), P);
          const damped = addIdentity(dense, P, damping);
          const vs = rng.uniformArray(2 * P);
          const batch = cpu.tensor(vs, [2, block.dOut, block.width], 'float64');
          const read = (t: Tensor) => {
            const out = Float64Array.from(cpu.readSync(t));
            t.dispose();
            return out;
          };
          const twice = (f: (v: Float64Array) => Float64Array) => Float64Array.from([...f(vs.slice(0, P)), ...f(vs.slice(P))]);
          expect(
            scaledMaxError(
              read(block.multiply(batch)),
              twice((v) => matVec(dense, v)),
            ),
          ).toBeLessThan(1e-12);
          expect(
            scaledMaxError(
              read(await block.inverseApply(batch, { damping })),
              twice((v) => solveDense(damped, v)),
            ),
          ).toBeLessThan(1e-10);
          expect(Math.abs((await block.logDet({ damping, scale: 3 })) - logDetDense(addIdentity(dense, P, damping, 3), P))).toBeLessThan(
            1e-10,
          );
          const diag = Float64Array.from(
            { length: P },
            (_, j) =>
              solveDense(
                damped,
                Float64Array.from({ length: P }, (_, i) => (i === j ? 1 : 0)),
              )[j],
          );
          expect(scaledMaxError(read(await block.inverseDiagonal(damping)), diag)).toBeLessThan(1e-10);
          const trace = Array.from({ length: P }, (_, i) => dense[i * P + i]).reduce((a, b) => a + b, 0);
          expect(Math.abs((await block.trace()) - trace) / trace).toBeLessThan(1e-12);
          batch.dispose();
        }
      }
    } finally {
      ekfac.dispose();
      curvature.dispose();
      placed.dispose();
    }
  });
});

describe('exactCurvatureMatrix', () => {
  for (const bias of ['folded', 'separate'] as BiasMode[]) {
    it(`its diagonal blocks equal exactGgnBlock of each layer (bias ${bias})`, () => {
      const p = stackProblem(new Rng(6), { widths: [2, 3, 2], N: 3, R: 2, setting: 'expand', loss: 'ce', reduction: 'mean', ignore: true });
      const placed = placeProblem(cpu, p);
      try {
        const dense = exactCurvatureMatrix(placed.model, placed.full.forward, placed.full.loss, { bias });
        expect(dense.size).toBe(bias === 'folded' ? 3 * 3 + 2 * 4 : 3 * 2 + 3 + 2 * 3 + 2);
        placed.model.linears.forEach(({ layer }, k) => {
          const one = exactGgnBlock(placed.full.forward, placed.full.loss, layer.weight, layer.bias, { bias });
          const at = dense.layers[k];
          expect(scaledMaxError(subBlock(dense.values, dense.size, at.offset, at.dOut * at.width), one.weight.values)).toBeLessThan(1e-13);
          if (one.bias)
            expect(scaledMaxError(subBlock(dense.values, dense.size, at.biasOffset!, at.dOut), one.bias.values)).toBeLessThan(1e-13);
          else expect(at.biasOffset).toBeNull();
        });
      } finally {
        placed.dispose();
      }
    });
  }
});

/** Linear → tanh → a fixed R×R mixing of positions → Linear: each loss term depends on every position. */
class Mixer extends Module {
  readonly first: Linear;
  readonly second: Linear;
  constructor(
    ctx: LayerContext,
    private readonly mix: Variable,
  ) {
    super(ctx);
    this.first = this.addModule('first', new Linear(ctx, 'first', 3, 4, { sharedDims: ['positions'] }));
    this.second = this.addModule('second', new Linear(ctx, 'second', 4, 2, { sharedDims: ['positions'] }));
  }
  forward(x: Variable): Variable {
    return this.second.forward(ops.matmul(this.mix, ops.tanh(this.first.forward(x))));
  }
}

describe('EK-FAC Λ in a model that mixes positions (expand setting, per-term passes)', () => {
  for (const fisher of ['type-2', 'empirical'] as FisherType[]) {
    for (const bias of ['folded', 'separate'] as BiasMode[]) {
      it(`${fisher}, bias ${bias}`, async () => {
        const rng = new Rng(3);
        const [N, R] = [2, 3];
        const mix = constant(cpu.tensor(rng.uniformArray(R * R), [R, R], 'float64'));
        const model = new Mixer({ backend: cpu, seed: 4, precision: 'float64' } as LayerContext, mix);
        const x = cpu.tensor(rng.normalArray(N * R * 3), [N, R, 3], 'float64');
        const y = cpu.tensor(rng.uniformArray(N * R * 2), [N, R, 2], 'float64');
        const batch = { forward: () => model.forward(constant(x)), loss: { spec: lossSpec('mse', 'mean'), targets: y } };
        const curvature = await fitCurvature(model, batchList([batch]), { approx: 'expand', fisher, bias });
        const ekfac = await fitEkfac(curvature, model, batchList([batch]));
        try {
          const dense = exactCurvatureMatrix(model, batch.forward, batch.loss, { bias, kind: fisher === 'type-2' ? 'ggn' : 'empirical' });
          for (const [k, layer] of curvature.layers.entries()) {
            const at = dense.layers[k];
            const P = at.dOut * at.width;
            const eig = await layer.eigenHost();
            const expected = diagInBasis(subBlock(dense.values, dense.size, at.offset, P), kron(eig.G.vectors, eig.A.vectors).values, P);
            expect(scaledMaxError(await ekfac.layers[k].spectrum(), expected), `layer ${k} Λ`).toBeLessThan(1e-10);
            if (bias === 'separate') {
              const expectedBias = diagInBasis(subBlock(dense.values, dense.size, at.biasOffset!, at.dOut), eig.G.vectors, at.dOut);
              expect(scaledMaxError(await ekfac.layers[k].biasBlock!.spectrum(), expectedBias)).toBeLessThan(1e-10);
            }
          }
        } finally {
          ekfac.dispose();
          curvature.dispose();
          [x, y, mix.value].forEach((t) => t.dispose());
          model.dispose();
        }
      });
    }
  }
});

function subtract(a: ArrayLike<number>, b: ArrayLike<number>): Float64Array {
  return Float64Array.from(a, (v, i) => v - b[i]);
}
