// The K-FAC optimizer (docs/kfac.md §4) on both backends: an exact Newton step where the curvature
// is exactly Kronecker, the batched padded inverses against per-matrix ones, π-damping and exact
// eigen damping against hand-computed cases, Cholesky retries and non-finite detection, the
// registration in the optimizer factory, the host copy of its state, and faster training than SGD on two small tasks.
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Backend } from '../../src/engine/backend/backend.ts';
import { constant, parameter, type Variable } from '../../src/engine/autograd/variable.ts';
import * as ops from '../../src/engine/autograd/ops.ts';
import { Linear } from '../../src/engine/nn/linear.ts';
import { computeLoss, lossSpec, type LossSpec } from '../../src/engine/nn/losses.ts';
import type { KfacLayerInfo } from '../../src/engine/nn/curvature-hook.ts';
import type { Module } from '../../src/engine/nn/module.ts';
import { Mlp } from '../../src/engine/nn/models/mlp.ts';
import { Vit } from '../../src/engine/nn/models/vit.ts';
import { makeSpirals } from '../../src/engine/data/toys.ts';
import { loadMnist } from '../../src/engine/data/mnist.ts';
import { createOptimizer } from '../../src/engine/optim/factory.ts';
import type { Optimizer } from '../../src/engine/optim/optimizer.ts';
import { defaults } from '../../src/engine/optim/schema.ts';
import { Rng } from '../../src/engine/random.ts';
import { keep, scope, type Tensor } from '../../src/engine/tensor.ts';
import type { LayerFactors } from '../../src/engine/curvature/factors.ts';
import { KfacOptimizer } from '../../src/engine/optim/kfac/kfac-optimizer.ts';
import { KFAC_PHASES, KfacNumericalError, type KfacSettings } from '../../src/engine/optim/kfac/types.ts';
import { choleskyInverseBatch, eighBatch, InverseWorkspace, padStack, sizeGroups, unpad } from '../../src/engine/curvature/inverses.ts';
import { adaptDamping, piDamping, reductionRatio } from '../../src/engine/curvature/damping.ts';
import { eigenPrecondition } from '../../src/engine/curvature/preconditioner.ts';
import { useBackends } from '../helpers/backends.ts';
import { expectClose, relativeError } from '../helpers/compare.ts';
import { denseInverse, hostMatmul } from '../helpers/matrices.ts';

const b = useBackends();
const BACKENDS = ['cpu', 'gpu'] as const;

afterEach(() => vi.restoreAllMocks());

// ---- host helpers (float64) ----------------------------------------------------------------------

/** A random SPD matrix XᵀX/m + shift·I (well conditioned for the sizes used here). */
function randomSpd(rng: Rng, n: number, shift = 0.1): Float64Array {
  const m = n + 3;
  const x = Array.from({ length: m * n }, () => rng.normal());
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let r = 0; r < m; r++) s += x[r * n + i] * x[r * n + j];
      out[i * n + j] = s / m + (i === j ? shift : 0);
    }
  }
  return out;
}

function addDiagonal(m: ArrayLike<number>, n: number, shift: number): Float64Array {
  const out = Float64Array.from(m);
  for (let i = 0; i < n; i++) out[i * n + i] += shift;
  return out;
}

function trace(m: ArrayLike<number>, n: number): number {
  let t = 0;
  for (let i = 0; i < n; i++) t += m[i * n + i];
  return t;
}

/** A stand-in Linear layer for hand-made factors. */
function fakeLayer(be: Backend, name: string, dOut: number, dIn: number, bias = true): KfacLayerInfo {
  const weight = parameter(keep(be.zeros([dOut, dIn])), `${name}.weight`);
  const b0 = bias ? parameter(keep(be.zeros([dOut])), `${name}.bias`) : null;
  return {
    name,
    weight: { name: `${name}.weight`, variable: weight },
    bias: b0 && { name: `${name}.bias`, variable: b0 },
    sharedDims: [],
  };
}

function handFactors(be: Backend, layer: KfacLayerInfo, a: ArrayLike<number>, g: ArrayLike<number>): LayerFactors {
  const dA = Math.round(Math.sqrt(a.length));
  const dG = Math.round(Math.sqrt(g.length));
  return {
    name: layer.name,
    layer,
    A: be.tensor(a, [dA, dA]),
    G: be.tensor(g, [dG, dG]),
    setting: 'expand',
    bias: layer.bias ? 'folded' : 'separate',
  };
}

function disposeFactors(fs: LayerFactors[]): void {
  for (const f of fs) [f.A, f.G].forEach((t) => t.dispose());
}

const kfac = (settings: Partial<KfacSettings>, approx: 'expand' | 'reduce' = 'expand') => new KfacOptimizer(settings, { approx });

async function readAll(t: Tensor): Promise<number[]> {
  return Array.from(await t.read());
}

// ---- exact Kronecker curvature: one step to the minimum ------------------------------------------

describe('one K-FAC step on a quadratic with exactly Kronecker curvature', () => {
  // One Linear layer, MSE: the GGN is 2c I ⊗ Σ a aᵀ, and K-FAC's G ⊗ A equals it (docs/kfac.md §6)
  // without weight sharing, with sharing in the expand setting (a loss term per position, K-FAC-
  // expand) and in the reduce setting (outputs averaged over the positions, K-FAC-reduce). So with
  // lr 1, no momentum and vanishing damping one step is Newton's and lands on the least-squares
  // solution — here an exact fit, loss 0, weights W*, b*.
  const [N, R, dIn, dOut] = [16, 3, 4, 3];
  const rng = new Rng(3);
  const inputs = Array.from({ length: N * R * dIn }, () => rng.normal());
  const wStar = Array.from({ length: dOut * dIn }, () => rng.normal());
  const bStar = Array.from({ length: dOut }, () => rng.normal());
  const affine = (a: ArrayLike<number>) =>
    bStar.map((bo, o) => bo + wStar.slice(o * dIn, (o + 1) * dIn).reduce((s, w, i) => s + w * a[i], 0));
  const row = (n: number, r: number) => inputs.slice((n * R + r) * dIn, (n * R + r + 1) * dIn);
  const meanRow = (n: number) => row(n, 0).map((_, i) => (row(n, 0)[i] + row(n, 1)[i] + row(n, 2)[i]) / R);

  type Sharing = 'none' | 'expand' | 'reduce';
  const cases: {
    sharing: Sharing;
    method: 'cholesky' | 'eigen';
    approx: 'expand' | 'reduce';
    reduction: 'sum' | 'mean';
    control?: true;
    /** A separate bias block: exact only when the inputs have zero mean (no weight-bias curvature). */
    separateBias?: true;
  }[] = [
    { sharing: 'none', method: 'cholesky', approx: 'expand', reduction: 'sum' },
    { sharing: 'none', method: 'eigen', approx: 'reduce', reduction: 'mean' },
    { sharing: 'expand', method: 'cholesky', approx: 'expand', reduction: 'mean' },
    { sharing: 'expand', method: 'eigen', approx: 'expand', reduction: 'sum' },
    { sharing: 'reduce', method: 'cholesky', approx: 'reduce', reduction: 'sum' },
    { sharing: 'reduce', method: 'eigen', approx: 'reduce', reduction: 'mean' },
    { sharing: 'none', method: 'cholesky', approx: 'expand', reduction: 'mean', separateBias: true },
    { sharing: 'none', method: 'eigen', approx: 'expand', reduction: 'sum', separateBias: true },
    // Control: K-FAC-expand in the reduce setting is not exact (different rows per position), so the step misses.
    { sharing: 'reduce', method: 'eigen', approx: 'expand', reduction: 'mean', control: true },
  ];
  for (const which of BACKENDS) {
    for (const c of cases) {
      const setting = c.sharing === 'none' ? 'no weight sharing' : `${c.sharing} setting`;
      const title = c.control
        ? `control: K-FAC-${c.approx} in the ${c.sharing} setting misses the minimum`
        : `${c.method}, K-FAC-${c.approx}, ${setting}, MSE ${c.reduction}${c.separateBias ? ', separate bias' : ''}`;
      it(`${title} on ${which}`, async () => {
        const be = b[which];
        const precision = which === 'cpu' ? 'float64' : 'float32';
        const layer = new Linear({ backend: be, seed: 1, precision }, 'fc', dIn, dOut);
        let x: Tensor;
        let y: Tensor;
        let forward: () => Variable;
        if (c.sharing === 'none') {
          const first = Array.from({ length: N }, (_, n) => row(n, 0));
          if (c.separateBias) {
            const mean = first[0].map((_, i) => first.reduce((acc, r) => acc + r[i], 0) / N);
            first.forEach((r) => r.forEach((_, i) => (r[i] -= mean[i])));
          }
          x = be.tensor(first.flat(), [N, dIn], precision);
          y = be.tensor(first.flatMap(affine), [N, dOut], precision);
          forward = () => layer.forward(constant(x));
        } else {
          x = be.tensor(inputs, [N, R, dIn], precision);
          if (c.sharing === 'expand') {
            y = be.tensor(Array.from({ length: N * R }, (_, k) => affine(row(Math.floor(k / R), k % R))).flat(), [N, R, dOut], precision);
            forward = () => layer.forward(constant(x));
          } else {
            y = be.tensor(Array.from({ length: N }, (_, n) => affine(meanRow(n))).flat(), [N, dOut], precision);
            forward = () => ops.mean(layer.forward(constant(x)), 1);
          }
        }
        const optimizer = kfac(
          {
            lr: 1,
            momentum: 0,
            damping: 1e-8,
            klClip: 0,
            tInv: 1,
            fisherType: 'type-2',
            inverseMethod: c.method,
            foldBias: !c.separateBias,
          },
          c.approx,
        );
        const step = async (i: number) => {
          const { loss } = await optimizer.trainStep({
            params: layer.parameters(),
            forward,
            loss: { spec: lossSpec('mse', c.reduction), targets: y },
            step: i,
          });
          const value = (await loss.read())[0];
          loss.dispose();
          return value;
        };
        const before = await step(0);
        const after = await step(1);
        expect(before).toBeGreaterThan(0.5);
        if (c.control) {
          expect(after / before, `loss ${before} → ${after}`).toBeGreaterThan(1e-3);
          optimizer.dispose();
          layer.dispose();
          [x, y].forEach((t) => t.dispose());
          return;
        }
        expect(after / before, `loss ${before} → ${after}`).toBeLessThan(which === 'cpu' ? 1e-6 : 1e-5); // π-damping with λ = 1e-8 perturbs the step by ~1e-4
        expectClose(await readAll(layer.weight.value), wStar, { rtol: 1e-3, atol: 1e-3 }, 'weight');
        expectClose(await readAll(layer.bias!.value), bStar, { rtol: 1e-3, atol: 1e-3 }, 'bias');
        optimizer.dispose();
        layer.dispose();
        x.dispose();
        y.dispose();
      });
    }
  }
});

describe('adaptive damping', () => {
  for (const which of BACKENDS) {
    it(`an exact Newton step has ρ = 1, so Levenberg–Marquardt lowers λ by ω on ${which}`, async () => {
      const be = b[which];
      const rng = new Rng(9);
      const layer = new Linear({ backend: be, seed: 1 }, 'fc', 3, 2);
      const x = be.tensor(rng.normalArray(24), [8, 3]);
      const y = be.tensor(rng.normalArray(16), [8, 2]);
      const optimizer = new KfacOptimizer(
        { lr: 1, momentum: 0, damping: 1e-6, klClip: 0, tInv: 1, fisherType: 'type-2', adaptiveDamping: true },
        { approx: 'expand', adaptiveDampingRule: { interval: 1 } },
      );
      const read = vi.spyOn(be, 'read');
      const { loss } = await optimizer.trainStep({
        params: layer.parameters(),
        forward: () => layer.forward(constant(x)),
        loss: { spec: lossSpec('mse', 'sum'), targets: y },
        step: 0,
      });
      loss.dispose();
      expect(read).toHaveBeenCalledTimes(2); // the inversion's health vector and the three damping scalars
      expect(optimizer.damping).toBeCloseTo(1e-6 * 0.95, 12);
      expect(optimizer.events).toHaveLength(1);
      const event = optimizer.events[0];
      if (event.kind !== 'damping') throw new Error(`expected a damping event, got ${event.kind}`);
      expect(event.rho).toBeCloseTo(1, 2);
      expect(event.message).toMatch(/damping 1\.00e-6 → 9\.50e-7/);
      optimizer.dispose();
      layer.dispose();
      [x, y].forEach((t) => t.dispose());
    });
  }
});

// ---- batched inverses ----------------------------------------------------------------------------

describe('padded single-dispatch inverses', () => {
  const sizes = [3, 17, 1, 9];
  for (const which of BACKENDS) {
    it(`one cholesky + choleskyInverse of the padded stack equals per-matrix inverses on ${which}`, async () => {
      const be = b[which];
      const rng = new Rng(11);
      const hosts = sizes.map((n) => randomSpd(rng, n));
      const ws = new InverseWorkspace(be);
      const cholesky = vi.spyOn(be, 'cholesky');
      const inverse = vi.spyOn(be, 'choleskyInverse');
      const { inverses, parts, report } = await (async () => {
        const padded = scope(() => {
          const p = padStack(
            ws,
            hosts.map((h, i) => be.tensor(h, [sizes[i], sizes[i]])),
          );
          // The padding corner must be SPD for the padded matrix to be: identity there.
          return { ...p, stack: keep(be.binary('add', p.stack, ws.mask('outer', p.sizes, p.n, 'float32'))) };
        });
        expect(padded.stack.shape).toEqual([4, 17, 17]);
        const r = await choleskyInverseBatch(ws, padded);
        padded.stack.dispose();
        return { ...r, parts: scope(() => unpad(be, r.inverses, sizes).map((t) => keep(t))) };
      })();
      expect(cholesky).toHaveBeenCalledTimes(1);
      expect(inverse).toHaveBeenCalledTimes(1);
      expect(report).toEqual({ nonFiniteInput: [], nonFiniteOutput: [], retries: [], extra: [] });
      for (let i = 0; i < sizes.length; i++) {
        const got = await readAll(parts[i]);
        expect(relativeError(got, denseInverse(hosts[i], sizes[i])), `matrix ${i} (${sizes[i]}×${sizes[i]})`).toBeLessThan(1e-4);
        parts[i].dispose();
      }
      inverses.dispose();
      ws.dispose();
    });

    it(`one eigh of the padded stack gives each matrix's own eigenpairs on ${which}`, async () => {
      const be = b[which];
      const rng = new Rng(12);
      // Eigenvalues near 1 would tie with an identity padding; the eigen path pads below the spectrum.
      const hosts = sizes.map((n, i) => (i === 1 ? addDiagonal(randomSpd(rng, n, 0), n, 1 - 1e-3) : randomSpd(rng, n)));
      const ws = new InverseWorkspace(be);
      const eigh = vi.spyOn(be, 'eigh');
      const padded = padStack(
        ws,
        hosts.map((h, i) => be.tensor(h, [sizes[i], sizes[i]])),
      );
      const { pairs, report } = await eighBatch(ws, padded);
      expect(eigh).toHaveBeenCalledTimes(1);
      expect(report.nonFiniteInput).toEqual([]);
      expect(report.nonFiniteOutput).toEqual([]);
      for (let i = 0; i < sizes.length; i++) {
        const n = sizes[i];
        const q = await readAll(pairs[i].vectors);
        const w = await readAll(pairs[i].values);
        // Q diag(w) Qᵀ rebuilds the matrix, and the values ascend.
        const qw = q.map((v, k) => v * w[k % n]);
        const qt = new Float64Array(n * n);
        for (let r = 0; r < n; r++) for (let c = 0; c < n; c++) qt[c * n + r] = q[r * n + c];
        expect(relativeError(hostMatmul(qw, qt, n, n, n), hosts[i]), `matrix ${i}`).toBeLessThan(1e-4);
        for (let k = 1; k < n; k++) expect(w[k]).toBeGreaterThanOrEqual(w[k - 1]);
        pairs[i].values.dispose();
        pairs[i].vectors.dispose();
      }
      padded.stack.dispose();
      ws.dispose();
    });
  }
});

// ---- damping -------------------------------------------------------------------------------------

describe('inverses grouped by size', () => {
  it('sizeGroups: a matrix joins a stack while padding costs at most 2× its own n³, or the stack is small (≤ 64)', () => {
    // A CNN: fc1's 785-wide A apart from the conv factors, which share one stack.
    expect(sizeGroups([26, 10, 785, 10, 21, 8, 785, 1])).toEqual([
      [2, 6],
      [0, 1, 3, 4, 5, 7],
    ]);
    // 100³ ≤ 2·90³ shares; 100³ > 2·70³ does not; 70³ > 2·40³ does not; 40 ≤ 64 takes 3.
    expect(sizeGroups([100, 70, 90, 40, 3])).toEqual([[0, 2], [1], [3, 4]]);
    expect(sizeGroups([5, 5, 5])).toEqual([[0, 1, 2]]);
    expect(sizeGroups([4, 3], 1, 0)).toEqual([[0], [1]]);
    expect(sizeGroups([])).toEqual([]);
  });

  for (const which of BACKENDS) {
    for (const method of ['cholesky', 'eigen'] as const) {
      it(`layers of very different sizes: each factor's damped inverse (${method}) as if alone, one read, on ${which}`, async () => {
        const be = b[which];
        const rng = new Rng(31);
        // A: 100 (wide layer, folded bias) and 3; G: 2 and 4 → stacks {100}, {4, 3, 2}.
        const wide = fakeLayer(be, 'wide', 2, 99);
        const small = fakeLayer(be, 'small', 4, 2);
        const hostA = [randomSpd(rng, 100), randomSpd(rng, 3)];
        const hostG = [randomSpd(rng, 2), randomSpd(rng, 4)];
        const lambda = 0.05;
        const optimizer = kfac({ damping: lambda, inverseMethod: method });
        const factors = [handFactors(be, wide, hostA[0], hostG[0]), handFactors(be, small, hostA[1], hostG[1])];
        optimizer.updateFactors(factors);
        disposeFactors(factors);
        const read = vi.spyOn(be, 'read');
        const cholesky = vi.spyOn(be, 'cholesky');
        const eigh = vi.spyOn(be, 'eigh');
        await optimizer.updateInverses(0);
        expect(read).toHaveBeenCalledTimes(1);
        expect((method === 'cholesky' ? cholesky : eigh).mock.calls.length).toBe(2);
        const tol = which === 'cpu' ? 1e-5 : 2e-4; // float32 factors on both
        for (const [i, name] of ['wide', 'small'].entries()) {
          const [dA, dG] = [Math.round(Math.sqrt(hostA[i].length)), Math.round(Math.sqrt(hostG[i].length))];
          const inv = optimizer.inverseOf(name)!;
          if (inv.kind === 'cholesky') {
            const pi = Math.sqrt(trace(hostA[i], dA) / dA / (trace(hostG[i], dG) / dG));
            const wantA = denseInverse(addDiagonal(hostA[i], dA, pi * Math.sqrt(lambda)), dA);
            const wantG = denseInverse(addDiagonal(hostG[i], dG, Math.sqrt(lambda) / pi), dG);
            expect(relativeError(await readAll(inv.A), wantA), `${name} A⁻¹`).toBeLessThan(tol);
            expect(relativeError(await readAll(inv.G), wantG), `${name} G⁻¹`).toBeLessThan(tol);
          } else if (inv.kind === 'eigen') {
            for (const [pair, host, d] of [
              [inv.A, hostA[i], dA],
              [inv.G, hostG[i], dG],
            ] as const) {
              // Q diag(μ) Qᵀ rebuilds the factor.
              const q = await readAll(pair.vectors);
              const mu = await readAll(pair.values);
              const rebuilt = hostMatmul(
                q.map((v, k) => v * mu[k % d]),
                Array.from({ length: d * d }, (_, k) => q[(k % d) * d + Math.floor(k / d)]),
                d,
                d,
                d,
              );
              expect(relativeError(rebuilt, host), `${name} ${d}×${d}`).toBeLessThan(tol);
            }
          }
        }
        optimizer.dispose();
      });
    }
  }
});

describe('damping', () => {
  for (const which of BACKENDS) {
    it(`π-damping matches the hand-computed split on ${which}`, async () => {
      const be = b[which];
      const rng = new Rng(21);
      // Layer "l": weight [2, 3] with a folded bias → A 4×4, G 2×2.
      const layer = fakeLayer(be, 'l', 2, 3);
      const a = randomSpd(rng, 4);
      const g = randomSpd(rng, 2);
      const lambda = 1e-2;
      const pi = Math.sqrt(trace(a, 4) / 4 / (trace(g, 2) / 2));
      const optimizer = kfac({ damping: lambda, inverseMethod: 'cholesky' });
      const factors = [handFactors(be, layer, a, g)];
      optimizer.updateFactors(factors);
      disposeFactors(factors);
      await optimizer.updateInverses();
      const inv = optimizer.inverseOf('l');
      if (inv?.kind !== 'cholesky') throw new Error('expected Cholesky inverses');
      expect(relativeError(await readAll(inv.A), denseInverse(addDiagonal(a, 4, pi * Math.sqrt(lambda)), 4))).toBeLessThan(1e-5);
      expect(relativeError(await readAll(inv.G), denseInverse(addDiagonal(g, 2, Math.sqrt(lambda) / pi), 2))).toBeLessThan(1e-5);
      // The device π itself, including the guard for an all-zero factor.
      const traces = be.tensor([4, 2, 0], [3]);
      const pis = piDamping(be, traces, [1, 2, 3], be.tensor([1, 0, 5], [3]), [1, 1, 1]);
      expectClose(await readAll(pis), [2, 1, 1], { rtol: 1e-6 }, 'π');
      [traces, pis].forEach((t) => t.dispose());
      optimizer.dispose();
    });

    it(`eigen damping is exact: P((G ⊗ A + λI) V) = V on ${which}`, async () => {
      const be = b[which];
      const rng = new Rng(22);
      const [dOut, dIn] = [5, 6];
      const layer = fakeLayer(be, 'e', dOut, dIn);
      const dA = dIn + 1;
      const a = randomSpd(rng, dA, 0);
      const g = randomSpd(rng, dOut, 0);
      const lambda = 0.05;
      const optimizer = kfac({ damping: lambda, inverseMethod: 'eigen' });
      const factors = [handFactors(be, layer, a, g)];
      optimizer.updateFactors(factors);
      disposeFactors(factors);
      await optimizer.updateInverses();
      const inv = optimizer.inverseOf('e');
      if (inv?.kind !== 'eigen') throw new Error('expected eigenpairs');
      const v = Array.from({ length: dOut * dA }, () => rng.normal());
      // (G ⊗ A + λI) vec V = vec(G V A + λ V) for row-major vec.
      const curved = hostMatmul(hostMatmul(g, v, dOut, dOut, dA), a, dOut, dA, dA).map((x, i) => x + lambda * v[i]);
      const m = be.tensor(curved, [dOut, dA]);
      const basis = { vectorsA: inv.A.vectors, valuesA: inv.A.values, vectorsG: inv.G.vectors, valuesG: inv.G.values };
      const back = eigenPrecondition(be, m, basis, lambda);
      expect(relativeError(await readAll(back), v)).toBeLessThan(which === 'cpu' ? 1e-5 : 2e-4);
      // The eigenvalues are clamped at 0 (A and G here are PSD but rank-deficient in exact arithmetic: none is).
      for (const t of [inv.A.values, inv.G.values]) expect(Math.min(...(await readAll(t)))).toBeGreaterThanOrEqual(0);
      [m, back].forEach((t) => t.dispose());
      optimizer.dispose();
    });
  }

  it('the Levenberg–Marquardt rule raises λ after poor steps and lowers it after good ones', () => {
    const rule = { interval: 5, decay: 0.95, min: 1e-8, max: 10 };
    const omega = 0.95 ** 5;
    expect(reductionRatio(2, 1, -1)).toBe(1);
    expect(reductionRatio(2, 2.5, -1)).toBe(-0.5);
    expect(reductionRatio(2, Number.NaN, -1)).toBe(-Infinity);
    expect(reductionRatio(2, 1, 0.1)).toBeNull();
    expect(adaptDamping(1e-3, 0.9, rule)).toBeCloseTo(1e-3 * omega, 12);
    expect(adaptDamping(1e-3, 0.1, rule)).toBeCloseTo(1e-3 / omega, 12);
    expect(adaptDamping(1e-3, 0.5, rule)).toBe(1e-3);
    expect(adaptDamping(1e-3, null, rule)).toBe(1e-3);
    expect(adaptDamping(9.9, -Infinity, rule)).toBe(10);
  });
});

// ---- robustness ------------------------------------------------------------------------------------

describe('robustness', () => {
  /** A 4×4 input factor diag(1, 1, 1, −x): x = 1e-3 needs jitter to factor; x = 1 cannot be rescued. */
  const indefinite = (x: number) => {
    const a = new Float64Array(16);
    [1, 1, 1, -x].forEach((d, i) => (a[i * 4 + i] = d));
    return a;
  };
  const identity2 = [1, 0, 0, 1];

  for (const which of BACKENDS) {
    it(`a failed Cholesky is retried with more jitter and reported on ${which}`, async () => {
      const be = b[which];
      const good = fakeLayer(be, 'good', 2, 3);
      const bad = fakeLayer(be, 'bad', 2, 3);
      const optimizer = kfac({ damping: 1e-8, inverseMethod: 'cholesky' });
      const factors = [handFactors(be, good, randomSpd(new Rng(5), 4), identity2), handFactors(be, bad, indefinite(1e-3), identity2)];
      optimizer.updateFactors(factors);
      disposeFactors(factors);
      await optimizer.updateInverses(7);
      expect(optimizer.events).toHaveLength(1);
      const event = optimizer.events[0];
      expect(event).toMatchObject({ kind: 'cholesky-retry', step: 7, layer: 'bad', factor: 'A', attempts: 3, succeeded: true });
      expect(event.message).toMatch(/input factor A of layer "bad" failed; succeeded on retry 3/);
      const inv = optimizer.inverseOf('bad');
      if (inv?.kind !== 'cholesky') throw new Error('expected Cholesky inverses');
      expect((await readAll(inv.A)).every(Number.isFinite)).toBe(true);
      optimizer.dispose();
    });

    it(`a Cholesky that jitter cannot rescue stops the run with KfacNumericalError on ${which}`, async () => {
      const be = b[which];
      const layer = fakeLayer(be, 'blocks.0.fc2', 2, 3);
      const optimizer = kfac({ damping: 1e-8, inverseMethod: 'cholesky' });
      const factors = [handFactors(be, layer, indefinite(1), identity2)];
      optimizer.updateFactors(factors);
      disposeFactors(factors);
      const error = await optimizer.updateInverses(3).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(KfacNumericalError);
      expect((error as KfacNumericalError).layer).toBe('blocks.0.fc2');
      expect((error as Error).message).toMatch(
        /step 3: damped input factor A of layer "blocks.0.fc2" is not positive definite: Cholesky failed after 4 retries/,
      );
      expect(optimizer.events.map((e) => e.kind)).toEqual(['cholesky-retry']);
      optimizer.dispose();
    });

    for (const method of ['cholesky', 'eigen'] as const) {
      it(`a NaN factor stops the run with KfacNumericalError naming the layer (${method}) on ${which}`, async () => {
        const be = b[which];
        const first = fakeLayer(be, 'first', 2, 3);
        const second = fakeLayer(be, 'second', 3, 2);
        const g = Float64Array.from(randomSpd(new Rng(6), 3));
        g[4] = Number.NaN;
        const optimizer = kfac({ inverseMethod: method });
        const factors = [handFactors(be, first, randomSpd(new Rng(7), 4), identity2), handFactors(be, second, randomSpd(new Rng(8), 3), g)];
        optimizer.updateFactors(factors);
        disposeFactors(factors);
        const error = await optimizer.updateInverses(0).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(KfacNumericalError);
        expect((error as KfacNumericalError).layer).toBe('second');
        expect((error as Error).message).toMatch(/gradient factor G of layer "second" has non-finite entries/);
        optimizer.dispose();
      });
    }

    it(`NaN inputs stop a training run at the first inversion, and a NaN update at the next one, on ${which}`, async () => {
      const be = b[which];
      const layer = new Linear({ backend: be, seed: 2 }, 'fc', 3, 2);
      const spec = lossSpec('mse', 'mean');
      const clean = be.tensor([0.5, -1, 2, 1, 0, -0.5, 0.3, 0.2, 0.1], [3, 3]);
      const poisoned = be.tensor([0.5, -1, Number.NaN, 1, 0, -0.5, 0.3, 0.2, 0.1], [3, 3]);
      const goodTargets = be.zeros([3, 2]);
      const nanTargets = be.fill([3, 2], Number.NaN);
      const run = async (optimizer: KfacOptimizer, x: Tensor, y: Tensor, steps: number) => {
        for (let step = 0; step < steps; step++) {
          const { loss } = await optimizer.trainStep({
            params: layer.parameters(),
            forward: () => layer.forward(constant(x)),
            loss: { spec, targets: y },
            step,
          });
          loss.dispose();
        }
      };
      const a = kfac({ fisherType: 'type-2' });
      const inputError = await run(a, poisoned, goodTargets, 1).catch((e: unknown) => e);
      expect(inputError).toBeInstanceOf(KfacNumericalError);
      expect((inputError as Error).message).toMatch(/step 0: input factor A of layer "fc" has non-finite entries/);
      a.dispose();
      // Targets do not enter the type-2 factors, only the gradient: the update goes bad at step 0 and
      // is caught at the next inversion (step 2 with T_inv = 2).
      const u = kfac({ fisherType: 'type-2', tInv: 2, inverseWarmup: 0 });
      const updateError = await run(u, clean, nanTargets, 4).catch((e: unknown) => e);
      expect(updateError).toBeInstanceOf(KfacNumericalError);
      expect((updateError as Error).message).toMatch(
        /step 2: update \(preconditioned gradient\) of layer "fc" became non-finite between steps 0 and 1/,
      );
      expect(u.stepsTaken).toBe(2);
      u.dispose();
      layer.dispose();
      [clean, poisoned, goodTargets, nanTargets].forEach((t) => t.dispose());
    });
  }
});

// ---- the optimizer API ----------------------------------------------------------------------------

describe('optimizer API', () => {
  it('createOptimizer builds K-FAC-expand and K-FAC-reduce with validated settings and the fallback', () => {
    const expand = createOptimizer('kfac-expand', { damping: 0.01 });
    const reduce = createOptimizer('kfac-reduce', { fallback: 'sgd' }, { clip: { maxNorm: 1 } });
    expect(expand).toBeInstanceOf(KfacOptimizer);
    expect(reduce).toBeInstanceOf(KfacOptimizer);
    if (!(expand instanceof KfacOptimizer) || !(reduce instanceof KfacOptimizer)) return;
    expect(expand.name).toBe('kfac-expand');
    expect(expand.approx).toBe('expand');
    expect(reduce.approx).toBe('reduce');
    expect(expand.settings).toEqual({ ...defaults('kfac-expand'), damping: 0.01 });
    expect(expand.damping).toBe(0.01);
    expect(() => createOptimizer('kfac-reduce', { tInv: 0 })).toThrow(/kfac-reduce.tInv: 0 is out of range/);
    expect('step' in expand).toBe(false); // one step for every optimizer: trainStep
    expand.dispose();
    reduce.dispose();
  });

  for (const which of BACKENDS) {
    it(`timing, one batched inversion per T_inv, fallback for uncovered parameters, and no leaks on ${which}`, async () => {
      const be = b[which];
      const model = new Vit(
        { backend: be, seed: 3 },
        { inChannels: 1, height: 8, width: 8, patch: 4, dim: 8, depth: 1, heads: 2, classes: 3 },
      );
      const x = constant(be.tensor(new Rng(4).normalArray(4 * 64), [4, 1, 8, 8]));
      const y = be.tensor([0, 1, 2, 1], [4], 'int32');
      const params = model.parameters();
      scope(() => computeLoss(lossSpec('ce', 'mean'), model.forward(x), y)); // warms the loss's constant caches
      const baseline = be.memory().liveTensors;
      const optimizer = createOptimizer('kfac-reduce', { tInv: 2, inverseWarmup: 2, adaptiveDamping: true }) as KfacOptimizer;
      optimizer.timing = true;
      const cholesky = vi.spyOn(be, 'cholesky');
      const positionBefore = await readAll(model.position.value);
      const headBefore = await readAll(model.head.weight.value);
      const stepOnce = async (step: number) => {
        const { loss, phaseMs } = await optimizer.trainStep({
          params,
          forward: () => model.forward(x),
          loss: { spec: lossSpec('ce', 'mean'), targets: y },
          step,
        });
        loss.dispose();
        return phaseMs;
      };
      const first = await stepOnce(0);
      // Step 0 moved the positional embedding (no K-FAC layer) by the fallback Adam's first step:
      // lr · g / (|g| + ε) per entry, i.e. by the fallback lr wherever the gradient is not tiny.
      const fallbackLr = optimizer.settings.fallbackLr;
      const moved = (await readAll(model.position.value)).map((v, i) => Math.abs(v - positionBefore[i]));
      expect(Math.max(...moved)).toBeLessThanOrEqual(fallbackLr * (1 + 1e-3));
      expect(moved.filter((d) => Math.abs(d - fallbackLr) < 1e-2 * fallbackLr).length).toBeGreaterThan(0.9 * moved.length);
      const live = be.memory().liveTensors;
      for (let step = 1; step < 5; step++) await stepOnce(step);
      // Steady state: the optimizer's state does not grow with the steps.
      expect(be.memory().liveTensors).toBe(live);
      // Warm start: steps 0, 1; then every T_inv: 2, 4. Each inversion factors its stacks of similar size.
      const stacks = sizeGroups(
        optimizer.layerNames.flatMap((n) => [optimizer.factorsOf(n)!.A.shape[0], optimizer.factorsOf(n)!.G.shape[0]]),
      );
      expect(stacks.length).toBeLessThan(5);
      expect(cholesky).toHaveBeenCalledTimes(4 * stacks.length);
      expect(optimizer.layerNames).toEqual([
        'patch',
        'blocks.0.attn.q',
        'blocks.0.attn.k',
        'blocks.0.attn.v',
        'blocks.0.attn.o',
        'blocks.0.fc1',
        'blocks.0.fc2',
        'head',
      ]);
      expect(optimizer.timedSteps).toBe(5);
      for (const p of KFAC_PHASES) expect(first?.[p], p).toBeGreaterThanOrEqual(0);
      expect(first!.factors).toBeGreaterThan(0);
      expect(first!.inverses).toBeGreaterThan(0);
      expect(optimizer.phaseMs.backward).toBeGreaterThan(0);
      // The head (a K-FAC layer) moved by K-FAC: by more than rounding, and not Adam's ±lr pattern.
      const headMoved = (await readAll(model.head.weight.value)).map((v, i) => Math.abs(v - headBefore[i]));
      expect(relativeError(await readAll(model.head.weight.value), headBefore)).toBeGreaterThan(1e-3);
      expect(new Set(headMoved.map((d) => d.toPrecision(2))).size).toBeGreaterThan(headMoved.length / 2);
      optimizer.dispose();
      expect(be.memory().liveTensors, 'after dispose').toBe(baseline);
      model.dispose();
      x.value.dispose();
      y.dispose();
    });
  }
});

describe('read-backs', () => {
  for (const which of BACKENDS) {
    it(`an untimed step reads nothing back except on inversion steps, and ν once per clipped step, on ${which}`, async () => {
      for (const clipped of [false, true]) {
        const counts = await readBacks(b[which], clipped);
        // Warm start: steps 0 and 1 invert; then every T_inv = 3 steps (step 3). ν adds one read per step.
        expect(counts, clipped ? 'clip on' : 'clip off').toEqual([1, 1, 0, 1, 0].map((n) => n + (clipped ? 1 : 0)));
      }
    });
  }

  async function readBacks(be: Backend, clipped: boolean): Promise<number[]> {
    {
      const model = new Mlp({ backend: be, seed: 2 }, { widths: [2, 5, 3] });
      const x = be.tensor(new Rng(3).normalArray(12), [6, 2]);
      const y = be.tensor([0, 1, 2, 0, 1, 2], [6], 'int32');
      const optimizer = createOptimizer('kfac-expand', { tInv: 3, inverseWarmup: 2, klClip: clipped ? 1e-3 : 0 }) as KfacOptimizer;
      const read = vi.spyOn(be, 'read');
      const sync = vi.spyOn(be, 'sync');
      const counts: number[] = [];
      for (let step = 0; step < 5; step++) {
        const before = read.mock.calls.length + sync.mock.calls.length;
        const { loss } = await optimizer.trainStep({
          params: model.parameters(),
          forward: () => model.forward(constant(x)),
          loss: { spec: lossSpec('ce', 'mean'), targets: y },
          step,
        });
        counts.push(read.mock.calls.length + sync.mock.calls.length - before);
        loss.dispose();
      }
      optimizer.dispose();
      model.dispose();
      [x, y].forEach((t) => t.dispose());
      vi.restoreAllMocks();
      return counts;
    }
  }
});

// ---- learning: K-FAC vs SGD -------------------------------------------------------------------------

interface LearningTask {
  name: string;
  steps: number;
  sgdLr: number;
  kfac: { id: 'kfac-expand' | 'kfac-reduce'; settings: Partial<KfacSettings> };
  build(be: Backend): Promise<{ model: Module; forward: () => Variable; spec: LossSpec; targets: Tensor; data: Tensor[] }>;
}

const learningTasks: LearningTask[] = [
  {
    name: 'MLP on two spirals (64 points)',
    steps: 30,
    sgdLr: 0.3,
    kfac: { id: 'kfac-expand', settings: { lr: 0.1, tInv: 5 } },
    async build(be) {
      const d = makeSpirals({ seed: 1, pointsPerArm: 32 });
      const model = new Mlp({ backend: be, seed: 1 }, { widths: [2, 32, 32, 2] });
      const x = be.tensor(d.train.inputs, [d.train.count, 2]);
      const targets = be.tensor(d.train.labels, [d.train.count], 'int32');
      return { model, forward: () => model.forward(constant(x)), spec: lossSpec('ce', 'mean'), targets, data: [x, targets] };
    },
  },
  {
    name: 'tiny ViT on 32 MNIST digits (16 patches of 7×7)',
    steps: 16,
    sgdLr: 0.1,
    kfac: { id: 'kfac-reduce', settings: { lr: 0.1, tInv: 5, fallbackLr: 0.003 } },
    async build(be) {
      const d = await loadMnist({ size: 28, normalize: true, trainLimit: 32 });
      const model = new Vit(
        { backend: be, seed: 1 },
        { inChannels: 1, height: 28, width: 28, patch: 7, dim: 16, depth: 1, heads: 2, classes: 10 },
      );
      const x = be.tensor(d.train.images, [32, 1, 28, 28]);
      const targets = be.tensor(d.train.labels, [32], 'int32');
      return { model, forward: () => model.forward(constant(x)), spec: lossSpec('ce', 'mean'), targets, data: [x, targets] };
    },
  },
];

describe('K-FAC lowers the training loss faster than SGD (same init, same batch)', () => {
  for (const task of learningTasks) {
    for (const which of BACKENDS) {
      it(`${task.name} on ${which}`, async () => {
        const be = b[which];
        // One loop for both: every optimizer takes the same trainStep.
        const run = async (makeOptimizer: () => Optimizer) => {
          const { model, forward, spec, targets, data } = await task.build(be);
          const optimizer = makeOptimizer();
          const params = model.parameters();
          const losses: number[] = [];
          for (let step = 0; step < task.steps; step++) {
            const { loss } = await optimizer.trainStep({ params, step, forward, loss: { spec, targets } });
            losses.push((await loss.read())[0]);
            loss.dispose();
          }
          optimizer.dispose();
          model.dispose();
          data.forEach((t) => t.dispose());
          return losses;
        };
        const sgdLosses = await run(() => createOptimizer('sgd', { lr: task.sgdLr, momentum: 0.9 }));
        const kfacLosses = await run(() => createOptimizer(task.kfac.id, task.kfac.settings));
        const show = (xs: number[]) => xs.map((v) => v.toFixed(3)).join(' ');
        const message = `SGD ${show(sgdLosses)}\nK-FAC ${show(kfacLosses)}`;
        expect(sgdLosses[0], message).toBeCloseTo(kfacLosses[0], 4); // same init, same batch
        expect(kfacLosses.every(Number.isFinite), message).toBe(true);
        expect(kfacLosses[task.steps - 1], message).toBeLessThan(0.6 * sgdLosses[task.steps - 1]);
      });
    }
  }
});
