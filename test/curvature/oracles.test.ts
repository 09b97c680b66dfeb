// K-FAC against the exact GGN (docs/kfac.md §6): deep linear networks with weight sharing are the
// case where K-FAC-expand (expand setting) and K-FAC-reduce (reduce setting) are exact; the
// mismatched flavour is not. Plus the sanity values, cross-entropy, and the shapes and positive
// semidefiniteness of the Conv2d and attention factors. The exact GGN itself is checked first
// against a finite-difference Hessian (for models linear in the parameters the two coincide).
import { describe, expect, it } from 'vitest';
import { grad } from '../../src/engine/autograd/backward.ts';
import { constant } from '../../src/engine/autograd/variable.ts';
import type { Backend } from '../../src/engine/backend/backend.ts';
import { exactGgnBlock, kron } from '../../src/engine/curvature/exact-ggn.ts';
import {
  computeKfacFactors,
  type BiasMode,
  type FisherType,
  type KfacApprox,
  type LayerFactors,
  type LossSetting,
} from '../../src/engine/curvature/factors.ts';
import { LayerStack, type StackLayerSpec } from '../../src/engine/nn/models/layer-stack.ts';
import { computeLoss, lossSpec, type Reduction } from '../../src/engine/nn/losses.ts';
import { Cnn } from '../../src/engine/nn/models/cnn.ts';
import { Vit } from '../../src/engine/nn/models/vit.ts';
import { Rng } from '../../src/engine/random.ts';
import { scope } from '../../src/engine/tensor.ts';
import { useBackends } from '../helpers/backends.ts';
import { expectClose, relativeError } from '../helpers/compare.ts';
import { exactBlocks, kfacError, nested, randomStack, type OracleProblem } from './oracle-helpers.ts';

const b = useBackends();

interface FactorRun {
  approx: KfacApprox;
  bias?: BiasMode;
  fisher?: FisherType;
  mcSamples?: number;
  seed?: number;
}

/** K-FAC factors of a layer-stack problem on a backend, read back as [A, G] per linear layer. */
async function stackFactors(
  backend: Backend,
  p: OracleProblem,
  run: FactorRun,
): Promise<{ A: Float64Array; G: Float64Array; f: LayerFactors }[]> {
  const precision = backend.name === 'cpu' ? 'float64' : 'float32';
  const model = new LayerStack({ backend, seed: 0, precision }, { layers: p.layers, setting: p.setting });
  const x = backend.tensor(p.inputs.values, p.inputs.shape, precision);
  const targets = backend.tensor(p.targets.values, p.targets.shape, p.loss === 'ce' ? 'int32' : precision);
  try {
    const factors = computeKfacFactors(
      () => model.forward(constant(x)),
      { spec: lossSpec(p.loss, p.reduction), targets },
      { fisher: 'type-2', setting: p.setting, ...run },
    );
    const out = [];
    for (const { layer } of model.linears) {
      const f = factors.find((g) => g.layer === layer.kfacInfo)!;
      out.push({ A: Float64Array.from(await f.A.read()), G: Float64Array.from(await f.G.read()), f });
    }
    for (const f of factors) {
      f.A.dispose();
      f.G.dispose();
    }
    return out;
  } finally {
    x.dispose();
    targets.dispose();
    model.dispose();
  }
}

function mseProblem(
  rng: Rng,
  widths: number[],
  N: number,
  R: number,
  setting: LossSetting,
  reduction: Reduction,
  bias: boolean,
): OracleProblem {
  const C = widths[widths.length - 1];
  const targetShape = setting === 'expand' ? [N, R, C] : [N, C];
  return {
    layers: randomStack(rng, widths, bias),
    setting,
    loss: 'mse',
    reduction,
    inputs: { values: Array.from(rng.normalArray(N * R * widths[0])), shape: [N, R, widths[0]] },
    targets: { values: (nested(rng, targetShape) as unknown[]).flat(3) as number[], shape: targetShape },
  };
}

function ceProblem(
  rng: Rng,
  widths: number[],
  N: number,
  R: number,
  setting: LossSetting,
  reduction: Reduction,
  bias = true,
): OracleProblem {
  const C = widths[widths.length - 1];
  const targetShape = setting === 'expand' ? [N, R] : [N];
  return {
    layers: randomStack(rng, widths, bias),
    setting,
    loss: 'ce',
    reduction,
    inputs: { values: Array.from(rng.normalArray(N * R * widths[0])), shape: [N, R, widths[0]] },
    targets: { values: Array.from({ length: targetShape.reduce((a, d) => a * d, 1) }, () => rng.int(C)), shape: targetShape },
  };
}

describe('exact GGN (the oracle itself)', () => {
  it('kron follows the row-major vec convention: (G ⊗ A)[i·dA + j, k·dA + l] = G[i, k] A[j, l]', () => {
    const G = [1, 2, 3, 4];
    const A = [5, 6, 7, 8, 9, 10, 11, 12, 13];
    const { size, values } = kron(G, A);
    expect(size).toBe(6);
    for (let i = 0; i < 2; i++)
      for (let k = 0; k < 2; k++)
        for (let j = 0; j < 3; j++)
          for (let l = 0; l < 3; l++) expect(values[(i * 3 + j) * 6 + k * 3 + l]).toBe(G[i * 2 + k] * A[j * 3 + l]);
    expect(() => kron([1, 2, 3], A)).toThrow(/not a square matrix/);
  });

  // A one-layer model is linear in its parameters, so its loss Hessian is exactly the GGN.
  for (const [loss, setting, bias] of [
    ['mse', 'expand', 'folded'],
    ['mse', 'reduce', 'separate'],
    ['ce', 'expand', 'separate'],
    ['ce', 'reduce', 'folded'],
  ] as const) {
    it(`equals the finite-difference Hessian of a one-layer model (${loss}, ${setting}, bias ${bias})`, () => {
      const rng = new Rng(11);
      const p = loss === 'mse' ? mseProblem(rng, [3, 2], 3, 2, setting, 'mean', true) : ceProblem(rng, [3, 4], 3, 2, setting, 'mean');
      const [{ block }] = exactBlocks(b.cpu, p, bias);
      const model = new LayerStack({ backend: b.cpu, seed: 0, precision: 'float64' }, { layers: p.layers, setting });
      const x = b.cpu.tensor(p.inputs.values, p.inputs.shape, 'float64');
      const targets = b.cpu.tensor(p.targets.values, p.targets.shape, loss === 'ce' ? 'int32' : 'float64');
      const layer = model.linears[0].layer;
      const [dOut, dIn] = layer.weight.shape;
      const folded = bias === 'folded';
      // θ in the oracle's order: vec([W | b]) when folded, else vec(W) followed by b.
      const pack = (w: ArrayLike<number>, v: ArrayLike<number>): number[] => {
        const rows = Array.from({ length: dOut }, (_, i) => Array.from(w).slice(i * dIn, (i + 1) * dIn));
        return folded ? rows.flatMap((row, i) => [...row, v[i]]) : [...rows.flat(), ...Array.from(v)];
      };
      const unpack = (t: number[]): { w: number[]; v: number[] } => {
        if (!folded) return { w: t.slice(0, dOut * dIn), v: t.slice(dOut * dIn) };
        const rows = Array.from({ length: dOut }, (_, i) => t.slice(i * (dIn + 1), (i + 1) * (dIn + 1)));
        return { w: rows.flatMap((row) => row.slice(0, dIn)), v: rows.map((row) => row[dIn]) };
      };
      const lossGradient = (t: number[]): number[] =>
        scope(() => {
          const { w, v } = unpack(t);
          layer.weight.assign(b.cpu.tensor(w, [dOut, dIn], 'float64'));
          layer.bias!.assign(b.cpu.tensor(v, [dOut], 'float64'));
          const L = computeLoss(lossSpec(loss, 'mean'), model.forward(constant(x)), targets);
          const [gW, gB] = grad(L, [layer.weight, layer.bias!]);
          return pack(b.cpu.dataOf(gW), b.cpu.dataOf(gB));
        });
      const theta = pack(b.cpu.dataOf(layer.weight.value), b.cpu.dataOf(layer.bias!.value));
      const P = theta.length;
      const h = 1e-5;
      const hessian = new Float64Array(P * P);
      for (let k = 0; k < P; k++) {
        const plus = lossGradient(theta.map((v, i) => (i === k ? v + h : v)));
        const minus = lossGradient(theta.map((v, i) => (i === k ? v - h : v)));
        for (let i = 0; i < P; i++) hessian[i * P + k] = (plus[i] - minus[i]) / (2 * h);
      }
      // The oracle's blocks in the full [P, P] layout; a separate bias has no weight–bias cross block.
      const full = new Float64Array(P * P);
      const nw = block.weight.size;
      for (let i = 0; i < nw; i++) for (let j = 0; j < nw; j++) full[i * P + j] = block.weight.values[i * nw + j];
      if (block.bias) {
        const nb = block.bias.size;
        for (let i = 0; i < nb; i++) for (let j = 0; j < nb; j++) full[(nw + i) * P + nw + j] = block.bias.values[i * nb + j];
        for (let i = 0; i < nw; i++) for (let j = nw; j < P; j++) hessian[i * P + j] = hessian[j * P + i] = 0;
      }
      expect(relativeError(full, hessian)).toBeLessThan(1e-7);
      x.dispose();
      targets.dispose();
      model.dispose();
    });
  }

  it('rejects float32 parameters and non-CPU backends', () => {
    const model = new LayerStack({ backend: b.cpu, seed: 0 }, { layers: [{ type: 'linear', weight: [[1, 2]] }], setting: 'expand' });
    const x = b.cpu.tensor([1, 2], [1, 1, 2]);
    const loss = { spec: lossSpec('mse', 'sum'), targets: b.cpu.tensor([0], [1, 1, 1]) };
    const layer = model.linears[0].layer;
    expect(() => exactGgnBlock(() => model.forward(constant(x)), loss, layer.weight, null)).toThrow(/float64/);
    const gpuModel = new LayerStack({ backend: b.gpu, seed: 0 }, { layers: [{ type: 'linear', weight: [[1, 2]] }], setting: 'expand' });
    expect(() => exactGgnBlock(() => gpuModel.forward(constant(x)), loss, gpuModel.linears[0].layer.weight, null)).toThrow(/CPU backend/);
    gpuModel.dispose();
    model.dispose();
  });
});

describe('deep linear networks, MSE, type-2: K-FAC is exact in its own setting (§6)', () => {
  const sizes = [
    [4, 3],
    [2, 5],
  ] as const;
  const depths = [
    [3, 2],
    [3, 4, 2],
  ];
  for (const setting of ['expand', 'reduce'] as const) {
    const other: KfacApprox = setting === 'expand' ? 'reduce' : 'expand';
    for (const widths of depths) {
      for (const reduction of ['sum', 'mean'] as const) {
        for (const bias of ['folded', 'separate'] as const) {
          it(`${setting} setting, ${widths.length - 1} layer(s), ${reduction}, bias ${bias}`, async () => {
            const errors: string[] = [];
            for (const [N, R] of sizes) {
              const p = mseProblem(new Rng(100 * N + R), widths, N, R, setting, reduction, true);
              const exact = exactBlocks(b.cpu, p, bias);
              const matched = await stackFactors(b.cpu, p, { approx: setting, bias });
              const mismatched = await stackFactors(b.cpu, p, { approx: other, bias });
              exact.forEach(({ block }, l) => {
                const errMatched = kfacError(matched[l].A, matched[l].G, block);
                const errMismatched = kfacError(mismatched[l].A, mismatched[l].G, block);
                errors.push(`N=${N} R=${R} layer ${l}: ${errMatched.toExponential(2)} / ${errMismatched.toExponential(2)}`);
                expect(errMatched, `K-FAC-${setting}, N=${N} R=${R}, layer ${l}`).toBeLessThan(1e-9);
                expect(errMismatched, `K-FAC-${other}, N=${N} R=${R}, layer ${l}`).toBeGreaterThan(1e-2);
                expect(matched[l].f.setting).toBe(setting);
                expect(matched[l].f.bias).toBe(bias);
              });
            }
            console.log(`[oracle] ${setting} ${widths.join('-')} ${reduction} ${bias}: matched / mismatched error ${errors.join('; ')}`);
          });
        }
      }
    }
  }

  it.each(['gpu', 'wasm'] as const)('on %s (float32) K-FAC matches the float64 exact GGN to < 1e-3 in both settings', async (fast) => {
    for (const setting of ['expand', 'reduce'] as const) {
      for (const bias of ['folded', 'separate'] as const) {
        const p = mseProblem(new Rng(7), [3, 4, 2], 4, 3, setting, 'mean', true);
        const exact = exactBlocks(b.cpu, p, bias);
        const factors = await stackFactors(b[fast], p, { approx: setting, bias });
        exact.forEach(({ block }, l) => {
          const err = kfacError(factors[l].A, factors[l].G, block);
          console.log(`[oracle ${fast}] ${setting} bias ${bias} layer ${l}: ${err.toExponential(2)}`);
          expect(err, `${setting} ${bias} layer ${l}`).toBeLessThan(1e-3);
        });
      }
    }
  });

  it('per-term rule (§3): K-FAC-reduce in the expand setting keeps the expand G of a position-wise model', async () => {
    const p = mseProblem(new Rng(3), [3, 4, 2], 2, 5, 'expand', 'sum', true);
    const expand = await stackFactors(b.cpu, p, { approx: 'expand' });
    const reduce = await stackFactors(b.cpu, p, { approx: 'reduce' });
    for (let l = 0; l < 2; l++) expect(relativeError(reduce[l].G, expand[l].G)).toBeLessThan(1e-12);
  });
});

describe('sanity values (§6): one Linear layer, MSE', () => {
  const N = 3;
  const R = 4;
  const C = 2;
  const identity = (d: number, s: number) => Array.from({ length: d * d }, (_, i) => (i % (d + 1) === 0 ? s : 0));
  for (const [setting, reduction, expected] of [
    ['expand', 'sum', 2 * N * R],
    ['reduce', 'sum', 2 * N],
    ['expand', 'mean', 2 / C],
    ['reduce', 'mean', 2 / C],
  ] as const) {
    it(`${setting} setting, ${reduction}: G = ${expected} I, A[last, last] = 1`, async () => {
      const p = mseProblem(new Rng(9), [3, C], N, R, setting, reduction, true);
      const [{ A, G }] = await stackFactors(b.cpu, p, { approx: setting });
      expectClose(G, identity(C, expected), { rtol: 1e-12, atol: 1e-12 }, 'G');
      expect(A.length).toBe(16);
      expect(A[15]).toBeCloseTo(1, 14);
      const [{ A: Asep }] = await stackFactors(b.cpu, p, { approx: setting, bias: 'separate' });
      expect(Asep.length).toBe(9);
    });
  }
});

describe('cross-entropy (§6)', () => {
  for (const [setting, R] of [
    ['expand', 1],
    ['reduce', 4],
  ] as const) {
    for (const reduction of ['sum', 'mean'] as const) {
      for (const bias of ['folded', 'separate'] as const) {
        it(`single example, one layer, type-2: K-FAC equals the exact GGN (${setting} setting, R=${R}, ${reduction}, bias ${bias})`, async () => {
          const p = ceProblem(new Rng(21), [3, 4], 1, R, setting, reduction);
          const [{ block }] = exactBlocks(b.cpu, p, bias);
          const [{ A, G }] = await stackFactors(b.cpu, p, { approx: setting, bias });
          expect(kfacError(A, G, block)).toBeLessThan(1e-9);
        });
      }
    }
  }

  it('a batch of several examples is not exact for CE (the Hessians differ): A, G and the error are the closed forms', async () => {
    const [N, dIn, C] = [6, 3, 4];
    const p = ceProblem(new Rng(22), [dIn, C], N, 1, 'expand', 'mean');
    const [{ block }] = exactBlocks(b.cpu, p, 'folded');
    const [{ A, G }] = await stackFactors(b.cpu, p, { approx: 'expand' });
    // By hand: A = (1/N) Σ ã ãᵀ with ã = [x; 1], G = Σ_n c (diag p_n − p_n p_nᵀ) with c = 1/N, and
    // the exact block Σ_n ã ãᵀ ⊗ c (diag p_n − p_n p_nᵀ), which G ⊗ A only approximates.
    const { weight, bias } = p.layers[0] as unknown as { weight: number[][]; bias: number[] };
    const wantA = new Float64Array((dIn + 1) ** 2);
    const wantG = new Float64Array(C * C);
    const exact = new Float64Array((C * (dIn + 1)) ** 2);
    for (let n = 0; n < N; n++) {
      const a = [...p.inputs.values.slice(n * dIn, (n + 1) * dIn), 1];
      const logits = weight.map((w, o) => bias[o] + w.reduce((acc, v, i) => acc + v * a[i], 0));
      const top = Math.max(...logits);
      const e = logits.map((l) => Math.exp(l - top));
      const prob = e.map((v) => v / e.reduce((x, y) => x + y, 0));
      const hessian = prob.flatMap((pi, i) => prob.map((pj, j) => ((i === j ? pi : 0) - pi * pj) / N));
      a.forEach((ai, i) => a.forEach((aj, j) => (wantA[i * (dIn + 1) + j] += (ai * aj) / N)));
      hessian.forEach((h, k) => (wantG[k] += h));
      const term = kron(
        hessian,
        a.flatMap((ai) => a.map((aj) => ai * aj)),
      ).values;
      term.forEach((v, k) => (exact[k] += v));
    }
    expect(relativeError(A, wantA)).toBeLessThan(1e-13);
    expect(relativeError(G, wantG)).toBeLessThan(1e-13);
    expect(relativeError(block.weight.values, exact), 'the oracle').toBeLessThan(1e-12);
    const err = kfacError(A, G, block);
    expect(Math.abs(err - relativeError(kron(wantG, wantA).values, exact)) / err).toBeLessThan(1e-9);
    expect(err).toBeGreaterThan(1e-2); // not exact: the per-example Hessians differ
  });

  it('MC Fisher converges to type-2 as the samples grow', async () => {
    const p = ceProblem(new Rng(23), [3, 5, 4], 4, 2, 'expand', 'mean');
    const exact = await stackFactors(b.cpu, p, { approx: 'expand' });
    const errorAt = async (mcSamples: number) => {
      const mc = await stackFactors(b.cpu, p, { approx: 'expand', fisher: 'mc', mcSamples, seed: 5 });
      return Math.max(...mc.map((m, l) => relativeError(m.G, exact[l].G)));
    };
    const errors = [await errorAt(20), await errorAt(200), await errorAt(2000)];
    console.log(`[oracle] CE MC vs type-2 G, 20 / 200 / 2000 samples: ${errors.map((e) => e.toExponential(2)).join(' / ')}`);
    expect(errors[2]).toBeLessThan(errors[0]);
    expect(errors[2]).toBeLessThan(0.05);
    // A does not depend on the Fisher type.
    const mc = await stackFactors(b.cpu, p, { approx: 'expand', fisher: 'mc', seed: 1 });
    expect(relativeError(mc[0].A, exact[0].A)).toBeLessThan(1e-14);
  });

  it('MC Fisher for MSE converges to type-2 (ŷ ~ N(f, ½ I))', async () => {
    const p = mseProblem(new Rng(24), [3, 2], 3, 2, 'reduce', 'sum', true);
    const exact = await stackFactors(b.cpu, p, { approx: 'reduce' });
    const mc = await stackFactors(b.cpu, p, { approx: 'reduce', fisher: 'mc', mcSamples: 4000, seed: 2 });
    expect(relativeError(mc[0].G, exact[0].G)).toBeLessThan(0.05);
  });

  it('empirical Fisher matches a hand computation: G = c Σ_m ∇ℓ_m ∇ℓ_mᵀ at the true labels', async () => {
    const N = 2;
    const R = 3;
    const C = 4;
    const p = ceProblem(new Rng(25), [3, C], N, R, 'expand', 'mean');
    const spec = p.layers[0] as Extract<StackLayerSpec, { type: 'linear' }>;
    const [{ A, G }] = await stackFactors(b.cpu, p, { approx: 'expand', fisher: 'empirical' });
    const M = N * R;
    const c = 1 / M;
    const Gh = new Float64Array(C * C);
    const Ah = new Float64Array(16);
    for (let m = 0; m < M; m++) {
      const a = [...p.inputs.values.slice(m * 3, m * 3 + 3), 1];
      const logits = spec.weight.map((row, i) => row.reduce((s, w, j) => s + w * a[j], spec.bias![i]));
      const mx = Math.max(...logits);
      const e = logits.map((z) => Math.exp(z - mx));
      const total = e.reduce((s, v) => s + v, 0);
      const g = e.map((v, k) => v / total - (k === p.targets.values[m] ? 1 : 0));
      for (let i = 0; i < C; i++) for (let j = 0; j < C; j++) Gh[i * C + j] += c * g[i] * g[j];
      for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) Ah[i * 4 + j] += (a[i] * a[j]) / M;
    }
    expectClose(G, Gh, { rtol: 1e-12, atol: 1e-15 }, 'G');
    expectClose(A, Ah, { rtol: 1e-12, atol: 1e-15 }, 'A');
  });

  it('empirical Fisher for MSE: G = c Σ_m (2 (f_m − y_m))(2 (f_m − y_m))ᵀ', async () => {
    const p = mseProblem(new Rng(26), [2, 3], 3, 2, 'reduce', 'mean', false);
    const spec = p.layers[0] as Extract<StackLayerSpec, { type: 'linear' }>;
    const [{ G }] = await stackFactors(b.cpu, p, { approx: 'reduce', fisher: 'empirical' });
    const [N, R] = [3, 2];
    const c = 1 / (N * 3);
    const Gh = new Float64Array(9);
    for (let n = 0; n < N; n++) {
      const mean = [0, 1].map((j) => (p.inputs.values[n * R * 2 + j] + p.inputs.values[n * R * 2 + 2 + j]) / R);
      const r = spec.weight.map((row, i) => 2 * (row[0] * mean[0] + row[1] * mean[1] - p.targets.values[n * 3 + i]));
      for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) Gh[i * 3 + j] += c * r[i] * r[j];
    }
    expectClose(G, Gh, { rtol: 1e-12, atol: 1e-15 }, 'G');
  });
});

describe('Conv2d and attention factors: shapes, symmetry, positive semidefiniteness', () => {
  async function checkSymmetricPsd(backend: Backend, f: LayerFactors): Promise<void> {
    for (const [what, t] of [
      ['A', f.A],
      ['G', f.G],
    ] as const) {
      const d = t.shape[0];
      const v = await t.read();
      let scale = 0;
      for (let i = 0; i < v.length; i++) scale = Math.max(scale, Math.abs(v[i]));
      expect(scale, `${f.name}.${what} is zero`).toBeGreaterThan(0);
      for (let i = 0; i < d; i++) for (let j = 0; j < i; j++) expect(v[i * d + j], `${f.name}.${what} symmetric`).toBe(v[j * d + i]);
      const eig = b.cpu.eigh(b.cpu.tensor(v, [d, d], 'float64'));
      const values = b.cpu.dataOf(eig.values);
      expect(values[0], `${f.name}.${what} smallest eigenvalue`).toBeGreaterThan(-1e-10 * scale * (backend.name === 'cpu' ? 1 : 1e4));
      eig.values.dispose();
      eig.vectors.dispose();
    }
  }

  it('CNN: conv factors are [Cin·k·k + 1]² and [Cout]², symmetric PSD', async () => {
    const rng = new Rng(31);
    const ctx = { backend: b.cpu, seed: 3, precision: 'float64' as const };
    const cnn = new Cnn(ctx, { inChannels: 2, height: 6, width: 6, channels: [3, 4], hidden: 5, classes: 3 });
    const x = b.cpu.tensor(rng.normalArray(2 * 2 * 36), [2, 2, 6, 6], 'float64');
    const y = b.cpu.tensor([0, 2], [2], 'int32');
    for (const approx of ['expand', 'reduce'] as const) {
      const factors = computeKfacFactors(
        () => cnn.forward(constant(x)),
        { spec: lossSpec('ce', 'mean'), targets: y },
        { approx, fisher: 'type-2' },
      );
      const shapes = Object.fromEntries(factors.map((f) => [f.name, [f.A.shape, f.G.shape, f.setting]]));
      expect(shapes).toEqual({
        conv1: [[19, 19], [3, 3], 'reduce'],
        conv2: [[28, 28], [4, 4], 'reduce'],
        fc1: [[4 + 1, 4 + 1], [5, 5], 'expand'],
        fc2: [[6, 6], [3, 3], 'expand'],
      });
      for (const f of factors) {
        await checkSymmetricPsd(b.cpu, f);
        f.A.dispose();
        f.G.dispose();
      }
    }
    cnn.dispose();
  });

  it('ViT: attention and MLP factors have the right shapes and are symmetric PSD (CPU, WebGPU and WASM)', async () => {
    for (const backend of [b.cpu, b.gpu, b.wasm] as Backend[]) {
      const precision = backend.name === 'cpu' ? 'float64' : 'float32';
      const rng = new Rng(32);
      const vit = new Vit(
        { backend, seed: 4, precision },
        { inChannels: 1, height: 4, width: 4, patch: 2, dim: 8, depth: 1, heads: 2, classes: 3 },
      );
      const x = backend.tensor(rng.normalArray(2 * 16), [2, 1, 4, 4], precision);
      const y = backend.tensor([1, 0], [2], 'int32');
      const factors = computeKfacFactors(
        () => vit.forward(constant(x)),
        { spec: lossSpec('ce', 'mean'), targets: y },
        { approx: 'reduce', fisher: 'mc', seed: 1 },
      );
      const byName = new Map(factors.map((f) => [f.name, f]));
      for (const name of ['blocks.0.attn.q', 'blocks.0.attn.k', 'blocks.0.attn.v', 'blocks.0.attn.o']) {
        const f = byName.get(name);
        expect(f, `${name} (have ${[...byName.keys()].join(', ')})`).toBeDefined();
        expect(f!.A.shape).toEqual([9, 9]);
        expect(f!.G.shape).toEqual([8, 8]);
        expect(f!.setting).toBe('reduce');
      }
      expect(byName.get('patch')!.A.shape).toEqual([5, 5]);
      expect(byName.get('head')!.G.shape).toEqual([3, 3]);
      for (const f of factors) {
        await checkSymmetricPsd(backend, f);
        f.A.dispose();
        f.G.dispose();
      }
      vit.dispose();
    }
  });
});
