// Pruning with second-order information (docs/curvature-tools.md §5) against independent oracles:
// the Woodbury recursion against the dense inverse of the blocks it approximates; the OBS score
// against the brute-force constrained minimum of ½ δwᵀ H δw, and the compensated loss increase on an
// exactly quadratic loss against the score; large damping against magnitude's ranking; K-FAC-OBS's
// inverse diagonal and compensation against the dense (G ⊗ A + λI)⁻¹; WoodFisher end to end against
// the dense empirical Fisher; masks through fine-tuning; the device path on awkward shapes.
import { describe, expect, it } from 'vitest';
import type { Backend } from '../../src/engine/backend/backend.ts';
import { batchList } from '../../src/engine/curvature/data.ts';
import { exactCurvatureMatrix } from '../../src/engine/curvature/exact-ggn.ts';
import { fitCurvature } from '../../src/engine/curvature/fit.ts';
import { loadTask } from '../../src/engine/lab/tasks.ts';
import { trainModel } from '../../src/engine/lab/train-model.ts';
import { Rng } from '../../src/engine/random.ts';
import { buildCaseModel } from '../../src/engine/tools/case.ts';
import { estimatePruneCurvature, prunableLayers } from '../../src/engine/tools/prune/curvature.ts';
import { finetunePruned } from '../../src/engine/tools/prune/prune-experiment.ts';
import { computePrune, parsePruneCase, type PruneOutput } from '../../src/engine/tools/prune/prune-tool.ts';
import { pruneStep, readPruneState, selectMasks, writeWeights } from '../../src/engine/tools/prune/prune.ts';
import { BlockWoodburyInverse } from '../../src/engine/tools/prune/woodbury.ts';
import { useBackends } from '../helpers/backends.ts';
import { relativeError } from '../helpers/compare.ts';
import { denseInverse } from '../helpers/matrices.ts';
import { randomCase } from './cases.ts';

const b = useBackends();

function matVec(m: ArrayLike<number>, v: ArrayLike<number>, n: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) out[i] += m[i * n + j] * v[j];
  return out;
}

function randomMatrix(rng: Rng, rows: number, cols: number): Float64Array {
  return Float64Array.from({ length: rows * cols }, () => rng.uniform(-1, 1));
}

/** The dense block-diagonal (λI + (1/N) Σ g gᵀ)⁻¹ restricted to blocks of B coordinates. */
function blockDiagonalInverse(grads: Float64Array, N: number, P: number, B: number, damping: number): Float64Array {
  const out = new Float64Array(P * P);
  for (let start = 0; start < P; start += B) {
    const n = Math.min(B, P - start);
    const f = new Float64Array(n * n);
    for (let i = 0; i < n; i++) f[i * n + i] = damping;
    for (let e = 0; e < N; e++)
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) f[i * n + j] += (grads[e * P + start + i] * grads[e * P + start + j]) / N;
    const inv = denseInverse(f, n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) out[(start + i) * P + start + j] = inv[i * n + j];
  }
  return out;
}

async function woodbury(
  be: Backend,
  grads: Float64Array,
  o: { N: number; P: number; B: number; damping: number; chunk: number; split: number },
) {
  const dtype = be.supportsFloat64 ? 'float64' : 'float32';
  const w = new BlockWoodburyInverse(be, { size: o.P, blockSize: o.B, examples: o.N, damping: o.damping, chunk: o.chunk, dtype });
  // Two batches of examples, as the curvature data arrives.
  for (const [from, to] of [
    [0, o.split],
    [o.split, o.N],
  ]) {
    const t = be.tensor(grads.subarray(from * o.P, to * o.P), [to - from, o.P], dtype);
    w.add(t);
    t.dispose();
  }
  return w;
}

describe('WoodFisher: the Woodbury recursion in diagonal blocks', () => {
  it('equals the dense inverse of every block (float64, < 1e-10), as the rank-1 recursion and in chunks, with a padded last block', async () => {
    const rng = new Rng(3);
    const [N, P, B, damping] = [7, 10, 4, 0.3];
    const grads = randomMatrix(rng, N, P).map((x) => 3 * x);
    const expected = blockDiagonalInverse(grads, N, P, B, damping);
    const v = randomMatrix(rng, 1, P);
    for (const chunk of [1, 3, 16]) {
      const w = await woodbury(b.cpu, grads, { N, P, B, damping, chunk, split: 4 });
      try {
        const blocks = await w.blockInverse.read();
        expect(w.blockInverse.shape).toEqual([3, 4, 4]);
        let worst = 0;
        for (let blk = 0; blk < 3; blk++)
          for (let i = 0; i < B; i++)
            for (let j = 0; j < B; j++) {
              const [r, c] = [blk * B + i, blk * B + j];
              // The padding coordinates never see a gradient: their block stays I/λ.
              const want = r < P && c < P ? expected[r * P + c] : r === c ? 1 / damping : 0;
              worst = Math.max(worst, Math.abs(blocks[blk * B * B + i * B + j] - want));
            }
        expect(worst, `chunk ${chunk}`).toBeLessThan(1e-10);
        expect(relativeError(await w.apply(v), matVec(expected, v, P))).toBeLessThan(1e-10);
        const diag = await w.diagonal();
        expect(
          relativeError(
            diag,
            Array.from({ length: P }, (_, q) => expected[q * P + q]),
          ),
        ).toBeLessThan(1e-10);
      } finally {
        w.dispose();
      }
    }
  });

  it('refuses more examples than the mean was set up for, and bad sizes', () => {
    const w = new BlockWoodburyInverse(b.cpu, { size: 3, blockSize: 2, examples: 1, damping: 1, dtype: 'float64' });
    const t = b.cpu.tensor([1, 2, 3, 4, 5, 6], [2, 3], 'float64');
    expect(() => w.add(t)).toThrow(/more than the 1 of the mean/);
    expect(() => w.add(b.cpu.tensor([1, 2], [1, 2], 'float64'))).toThrow(/expected gradients \[n, 3\]/);
    t.dispose();
    w.dispose();
    expect(() => new BlockWoodburyInverse(b.cpu, { size: 3, blockSize: 2, examples: 1, damping: 0 })).toThrow(/damping/);
  });

  it('runs on the WASM and WebGPU backends as on the float64 reference, on awkward shapes', async () => {
    const shapes = [
      { N: 3, P: 17, B: 5, chunk: 2, split: 1 },
      { N: 17, P: 65, B: 63, chunk: 16, split: 9 },
      { N: 5, P: 130, B: 17, chunk: 1, split: 3 },
      { N: 1, P: 1, B: 3, chunk: 4, split: 1 },
    ];
    const rng = new Rng(11);
    for (const s of shapes) {
      const grads = randomMatrix(rng, s.N, s.P);
      const v = randomMatrix(rng, 1, s.P);
      const o = { ...s, damping: 0.5 };
      const reference = await woodbury(b.cpu, grads, o);
      const want = { diag: await reference.diagonal(), apply: await reference.apply(v) };
      reference.dispose();
      for (const be of [b.wasm, b.gpu]) {
        const w = await woodbury(be, grads, o);
        try {
          expect(relativeError(await w.diagonal(), want.diag), `${be.name} ${JSON.stringify(s)}`).toBeLessThan(1e-5);
          expect(relativeError(await w.apply(v), want.apply), `${be.name} ${JSON.stringify(s)}`).toBeLessThan(1e-4);
        } finally {
          w.dispose();
        }
      }
    }
  });
});

/** One linear layer, MSE summed, targets exactly W x: the loss is ½δwᵀHδw-quadratic with its minimum 0 at W. */
function quadraticCase(method: string, sparsity: number) {
  const rng = new Rng(5);
  const W = [
    [0.5, -1, 0.3],
    [1, 0.25, -0.7],
  ];
  const xs = Array.from({ length: 5 }, () => [Array.from({ length: 3 }, () => rng.uniform(-1, 1))]);
  const ys = xs.map(([x]) => [W.map((row) => row.reduce((s, w, j) => s + w * x[j], 0))]);
  return {
    layers: [{ type: 'linear', weight: W }],
    setting: 'expand',
    inputs: xs,
    targets: ys,
    loss: 'mse',
    reduction: 'sum',
    method,
    sparsity,
    damping: 0,
  };
}

describe('optimal brain surgeon', () => {
  it('the score is the brute-force constrained minimum of ½ δwᵀ H δw with δw_q = −w_q (exact GGN and K-FAC, exact here)', async () => {
    const c = quadraticCase('ggn-obs', 0);
    const xs = (c.inputs as number[][][]).map((r) => r[0]);
    const W = c.layers[0].weight as number[][];
    const [dOut, dIn] = [2, 3];
    const P = dOut * dIn;
    // H of Σ_n ‖W x_n − y_n‖²: 2 Σ_n x_n x_nᵀ on each output row (vec row-major, q = i·dIn + j).
    const H = new Float64Array(P * P);
    for (const x of xs)
      for (let i = 0; i < dOut; i++)
        for (let j = 0; j < dIn; j++) for (let l = 0; l < dIn; l++) H[(i * dIn + j) * P + i * dIn + l] += 2 * x[j] * x[l];
    const w = W.flat();
    const bruteForce = w.map((wq, q) => {
      const rest = Array.from({ length: P }, (_, i) => i).filter((i) => i !== q);
      const Hrr = new Float64Array(rest.length ** 2);
      rest.forEach((r, a) => rest.forEach((s, bb) => (Hrr[a * rest.length + bb] = H[r * P + s])));
      // Minimise over the free coordinates: H_rr δ_r = −H_rq δ_q.
      const rhs = rest.map((r) => H[r * P + q] * wq);
      const dr = matVec(denseInverse(Hrr, rest.length), rhs, rest.length);
      const delta = new Float64Array(P);
      delta[q] = -wq;
      rest.forEach((r, a) => (delta[r] = dr[a]));
      const Hd = matVec(H, delta, P);
      return 0.5 * delta.reduce((s, d, i) => s + d * Hd[i], 0);
    });
    for (const method of ['ggn-obs', 'kfac-obs'] as const) {
      const out = await computePrune(parsePruneCase({ ...c, method }), b.cpu);
      expect(relativeError(out.layers[0].scores.flat(), bruteForce), method).toBeLessThan(1e-10);
      expect(out.removed).toBe(0);
    }
  });

  it('on a quadratic, pruning one weight with compensation raises the loss by exactly its score', async () => {
    for (const method of ['ggn-obs', 'kfac-obs'] as const) {
      const scores = (await computePrune(parsePruneCase(quadraticCase(method, 0)), b.cpu)).layers[0].scores.flat();
      const out = await computePrune(parsePruneCase(quadraticCase(method, 1 / 6)), b.cpu);
      const removed = out.layers[0].mask.flat().indexOf(0);
      expect(out.removed).toBe(1);
      expect(scores[removed]).toBe(Math.min(...scores));
      expect(out.lossBefore).toBeLessThan(1e-25);
      expect(Math.abs(out.lossAfter - out.lossBefore - scores[removed]) / scores[removed], method).toBeLessThan(1e-10);
      expect(out.predictedIncrease).toBeCloseTo(scores[removed], 12);
      // Without compensation the increase is ½ w_q² H_qq, larger.
      const plain = await computePrune(parsePruneCase({ ...quadraticCase(method, 1 / 6), compensate: false }), b.cpu);
      expect(plain.lossAfter).toBeGreaterThan(out.lossAfter * 1.01);
    }
  });

  it('large damping turns every method into magnitude pruning (same masks, same ranking); small damping does not', async () => {
    const base = randomCase(7, { widths: [4, 5, 3], N: 12, R: 1, setting: 'expand', loss: 'ce', activation: 'tanh' });
    const run = (method: string, damping: number, scope: string) =>
      computePrune(parsePruneCase({ ...base, method, sparsity: 0.5, damping, scope, blockSize: 7 }), b.cpu);
    const order = (o: PruneOutput) =>
      o.layers
        .flatMap((l) => l.scores.flat())
        .map((s, i) => [s, i])
        .sort((x, y) => x[0] - y[0])
        .map((x) => x[1]);
    const masks = (o: PruneOutput) => o.layers.map((l) => l.mask);
    for (const scope of ['global', 'layer']) {
      const magnitude = await run('magnitude', 1e-4, scope);
      for (const method of ['diag-fisher', 'woodfisher', 'kfac-obs', 'ggn-obs']) {
        const damped = await run(method, 1e7, scope);
        expect(masks(damped), `${method} ${scope}`).toEqual(masks(magnitude));
        expect(order(damped), `${method} ${scope}`).toEqual(order(magnitude));
      }
    }
    const small = await Promise.all(['woodfisher', 'kfac-obs', 'ggn-obs'].map((m) => run(m, 1e-3, 'global')));
    const magnitude = await run('magnitude', 1e-4, 'global');
    small.forEach((o, i) => expect(order(o), ['woodfisher', 'kfac-obs', 'ggn-obs'][i]).not.toEqual(order(magnitude)));
  });

  it('kfac-obs: the inverse diagonal and the compensation equal the dense (G ⊗ A + λI)⁻¹ of the fitted factors', async () => {
    const c = parsePruneCase({
      ...randomCase(9, { widths: [3, 4, 2], N: 4, R: 2, setting: 'expand', loss: 'mse', activation: 'tanh' }),
      method: 'kfac-obs',
      sparsity: 0.5,
    });
    const m = buildCaseModel(c, b.cpu);
    const damping = 0.05;
    try {
      const data = batchList([{ forward: m.forward, loss: m.loss }]);
      const layers = prunableLayers(m.model, m.forward);
      const curvature = await estimatePruneCurvature('kfac-obs', m.model, data, layers, {
        damping,
        examples: 4,
        approx: 'expand',
        fisher: 'type-2',
      });
      const fitted = await fitCurvature(m.model, data, { approx: 'expand', fisher: 'type-2', bias: 'separate' });
      try {
        const rng = new Rng(2);
        for (const [k, l] of layers.entries()) {
          const A = await fitted.layers[k].A.read();
          const G = await fitted.layers[k].G.read();
          const [dA, dG] = [l.dIn, l.dOut];
          expect(fitted.layers[k].width).toBe(dA);
          const P = dA * dG;
          const dense = new Float64Array(P * P);
          for (let i = 0; i < dG; i++)
            for (let j = 0; j < dA; j++)
              for (let kk = 0; kk < dG; kk++)
                for (let ll = 0; ll < dA; ll++)
                  dense[(i * dA + j) * P + kk * dA + ll] = G[i * dG + kk] * A[j * dA + ll] + (i === kk && j === ll ? damping : 0);
          const inverse = denseInverse(dense, P);
          const diag = Array.from({ length: P }, (_, q) => inverse[q * P + q]);
          expect(relativeError(curvature.layers[k].diagonal!, diag)).toBeLessThan(1e-10);
          const v = randomMatrix(rng, 1, P);
          expect(relativeError(await curvature.layers[k].applyInverse!(v), matVec(inverse, v, P))).toBeLessThan(1e-10);
        }
      } finally {
        fitted.dispose();
        curvature.dispose();
      }
    } finally {
      m.dispose();
    }
  });

  it('woodfisher end to end: scores and compensated weights from the dense (λI + empirical Fisher)⁻¹ of the per-example gradients', async () => {
    const damping = 0.02;
    const base = {
      ...randomCase(4, { widths: [3, 4, 3], N: 9, R: 1, setting: 'expand', loss: 'ce', activation: 'tanh' }),
      method: 'woodfisher',
      sparsity: 0.4,
      damping,
      scope: 'layer',
      blockSize: 1000,
    };
    const out = await computePrune(parsePruneCase(base), b.cpu);
    // The empirical Fisher of the mean CE with one term per example is (1/N) Σ_n g_n g_nᵀ.
    const m = buildCaseModel(parsePruneCase(base), b.cpu);
    try {
      const F = exactCurvatureMatrix(m.model, m.forward, m.loss, { bias: 'separate', kind: 'empirical' });
      for (const [k, block] of F.layers.entries()) {
        const P = block.dOut * block.width;
        const f = new Float64Array(P * P);
        for (let i = 0; i < P; i++)
          for (let j = 0; j < P; j++) f[i * P + j] = F.values[(block.offset + i) * F.size + block.offset + j] + (i === j ? damping : 0);
        const inverse = denseInverse(f, P);
        const linears = ((base as Record<string, unknown>).layers as { type: string; weight?: number[][] }[]).filter(
          (l) => l.type === 'linear',
        );
        const w = linears[k].weight!.flat();
        const scores = w.map((x, q) => (x * x) / (2 * inverse[q * P + q]));
        expect(relativeError(out.layers[k].scores.flat(), scores)).toBeLessThan(1e-9);
        const mask = out.layers[k].mask.flat();
        const v = w.map((x, q) => (mask[q] === 0 ? x / inverse[q * P + q] : 0));
        const dw = matVec(inverse, v, P);
        const expected = w.map((x, q) => (mask[q] === 0 ? 0 : x - dw[q]));
        expect(relativeError(out.layers[k].weight.flat(), expected)).toBeLessThan(1e-9);
        expect(mask.filter((x) => x === 0)).toHaveLength(Math.floor(0.4 * P));
      }
    } finally {
      m.dispose();
    }
  });

  it('gradual pruning reaches the sparsity in steps that keep what earlier steps removed', async () => {
    const base = {
      ...randomCase(8, { widths: [4, 6, 3], N: 10, R: 1, setting: 'expand', loss: 'ce', activation: 'relu' }),
      method: 'woodfisher',
      sparsity: 0.6,
      damping: 1e-2,
      scope: 'global',
    };
    const once = await computePrune(parsePruneCase(base), b.cpu);
    const gradual = await computePrune(parsePruneCase({ ...base, steps: 3 }), b.cpu);
    expect(gradual.removed).toBe(once.removed);
    expect(gradual.removed).toBe(Math.floor(0.6 * (4 * 6 + 6 * 3)));
    for (const l of gradual.layers) l.mask.flat().forEach((x, q) => x === 0 && expect(l.weight.flat()[q]).toBe(0));
    expect(gradual.layers.map((l) => l.mask)).not.toEqual(once.layers.map((l) => l.mask));
  });

  it('selectMasks: floor(s·n) per layer or over all layers, ties by index, earlier removals kept', () => {
    const scores = [Float64Array.of(3, 1, 1, 2), Float64Array.of(0.5, 4)];
    const ones = [new Uint8Array(4).fill(1), new Uint8Array(2).fill(1)];
    expect(selectMasks(scores, ones, 0.5, 'layer').map((m) => Array.from(m))).toEqual([
      [1, 0, 0, 1],
      [0, 1],
    ]);
    expect(selectMasks(scores, ones, 0.5, 'global').map((m) => Array.from(m))).toEqual([
      [1, 0, 0, 1],
      [0, 1],
    ]);
    expect(selectMasks(scores, ones, 0.34, 'global').map((m) => Array.from(m))).toEqual([
      [1, 0, 1, 1],
      [0, 1],
    ]);
    // A weight removed earlier counts first, whatever its score now.
    expect(selectMasks(scores, [Uint8Array.of(1, 1, 1, 1), Uint8Array.of(1, 0)], 0.25, 'layer').map((m) => Array.from(m))).toEqual([
      [1, 0, 1, 1],
      [1, 0],
    ]);
  });
});

describe('fine-tuning a pruned model', () => {
  it('keeps the removed weights at exactly 0 while the kept ones train (and they would not stay 0 without the hook)', async () => {
    const placed = (await loadTask('mlp-spirals')).place(b.wasm);
    const model = placed.buildModel(2);
    try {
      const first = placed.batch(model, Int32Array.of(0));
      const layers = prunableLayers(model, first.forward);
      first.dispose();
      const state = await readPruneState(layers);
      const magnitude = {
        method: 'magnitude' as const,
        damping: 0,
        layers: layers.map(() => ({ diagonal: null, applyInverse: null })),
        ms: 0,
        dispose: () => undefined,
      };
      const pruned = await pruneStep(state, magnitude, { sparsity: 0.6, scope: 'global' });
      writeWeights(layers, pruned.weights);
      const settings = { steps: 15, optimizer: 'adam' as const, hyper: { lr: 0.05 }, batchSize: 32, examples: 512, seed: 1 };
      const { losses } = await finetunePruned(placed, model, layers, pruned.masks, settings);
      expect(losses.every(Number.isFinite)).toBe(true);
      const after = await readPruneState(layers);
      let moved = 0;
      for (const [k, w] of after.weights.entries()) {
        w.forEach((x, q) => {
          if (pruned.masks[k][q] === 0) expect(Math.abs(x)).toBe(0);
          else if (Math.abs(x - pruned.weights[k][q]) > 1e-4) moved++;
        });
      }
      expect(moved).toBeGreaterThan(10);
      // The control: the same training without re-applying the masks revives removed weights.
      writeWeights(layers, pruned.weights);
      await trainModel({ model, batch: (rows) => placed.batch(model, rows), ...settings });
      const revived = (await readPruneState(layers)).weights.some((w, k) => w.some((x, q) => pruned.masks[k][q] === 0 && x !== 0));
      expect(revived).toBe(true);
    } finally {
      model.dispose();
      placed.dispose();
    }
  });
});
