// Which backward passes the K-FAC factors run (docs/kfac.md §3), and the factors they give:
// one joint pass for MC (unbiased: different terms' sampled gradients are independent with mean
// zero), per-position passes for type-2 / empirical on [N, R, C] outputs, none for positions whose
// targets are all ignored; the expand A over the counted terms' rows (exact for an LM head whose
// only target is the last position); the loss setting inferred for the LM and the GCNs; and a last
// conv with stride = kernel, exactly K-FAC in its setting. Float64 on the CPU backend.
import { describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/engine/backend/cpu/cpu-backend.ts';
import * as ops from '../../src/engine/autograd/ops.ts';
import { constant, type Variable } from '../../src/engine/autograd/variable.ts';
import { computeKfacFactors, positionsWithTargets, type KfacFactorOptions, type LayerFactors } from '../../src/engine/curvature/factors.ts';
import { exactGgnBlock } from '../../src/engine/curvature/exact-ggn.ts';
import { Conv2d } from '../../src/engine/nn/conv2d.ts';
import { Linear } from '../../src/engine/nn/linear.ts';
import { lossSpec, type LossTargets } from '../../src/engine/nn/losses.ts';
import { adjacencyToDevice } from '../../src/engine/nn/gcn.ts';
import { GcnGraphClassifier, GcnNodeClassifier } from '../../src/engine/nn/models/gcn-models.ts';
import { TransformerLm } from '../../src/engine/nn/models/transformer-lm.ts';
import { normalizedAdjacency } from '../../src/engine/data/graph.ts';
import { KfacOptimizer } from '../../src/engine/optim/kfac/kfac-optimizer.ts';
import { Rng } from '../../src/engine/random.ts';
import { useBackends } from '../helpers/backends.ts';
import { relativeError } from '../helpers/compare.ts';
import { kfacError } from './oracle-helpers.ts';

const cpu = new CpuBackend();
const [N, R, D_IN, H, C] = [2, 3, 3, 4, 3];
const rng = new Rng(23);
const ctx = { backend: cpu, seed: 7, precision: 'float64' as const };
const first = new Linear(ctx, 'first', D_IN, H);
const head = new Linear(ctx, 'head', H, C);
const mix = constant(cpu.tensor(rng.uniformArray(R * R), [R, R], 'float64'));
const x = constant(cpu.tensor(rng.normalArray(N * R * D_IN), [N, R, D_IN], 'float64'));

/** A tiny "LM": position-wise Linear, tanh, a fixed mixing of positions, a position-wise head → [N, R, C]. */
function forward(): Variable {
  return head.forward(ops.matmul(mix, ops.tanh(first.forward(x))));
}

const lastOnly = cpu.tensor([-1, -1, 2, -1, -1, 0], [N, R], 'int32');
const allCounted = cpu.tensor([0, 1, 2, 2, 1, 0], [N, R], 'int32');
const ce = (targets: typeof lastOnly, reduction: 'mean' | 'sum' = 'mean'): LossTargets => ({ spec: lossSpec('ce', reduction), targets });

function factorsWithPasses(loss: LossTargets, options: KfacFactorOptions): { factors: LayerFactors[]; passes: (number | null)[] } {
  const passes: (number | null)[] = [];
  const factors = computeKfacFactors(forward, loss, { ...options, onPass: (_, position) => passes.push(position) });
  return { factors, passes };
}

const read = (t: { dtype: string } & object) => Array.from(cpu.readSync(t as never));

describe('backward passes per Fisher type', () => {
  it('MC: one joint pass per sample, whatever the positions', () => {
    for (const approx of ['expand', 'reduce'] as const) {
      const { passes } = factorsWithPasses(ce(allCounted), { approx, fisher: 'mc', mcSamples: 3, setting: 'expand' });
      expect(passes, approx).toEqual([null, null, null]);
    }
  });

  it('type-2: one pass per class and position; empirical: one per position', () => {
    const t2 = factorsWithPasses(ce(allCounted), { approx: 'reduce', fisher: 'type-2', setting: 'expand' });
    expect(t2.passes).toEqual([0, 1, 2, 0, 1, 2, 0, 1, 2]); // C = 3 columns × R = 3 positions
    const emp = factorsWithPasses(ce(allCounted), { approx: 'reduce', fisher: 'empirical', setting: 'expand' });
    expect(emp.passes).toEqual([0, 1, 2]);
  });

  it('positions whose targets are all ignored get no pass, and the factors stay exactly the same', async () => {
    expect(await positionsWithTargets(ce(lastOnly), [N, R, C])).toEqual([R - 1]);
    expect(await positionsWithTargets(ce(allCounted), [N, R, C])).toBeNull();
    for (const fisher of ['type-2', 'empirical'] as const) {
      for (const approx of ['expand', 'reduce'] as const) {
        const all = factorsWithPasses(ce(lastOnly), { approx, fisher, setting: 'expand' });
        const some = factorsWithPasses(ce(lastOnly), { approx, fisher, setting: 'expand', positions: [R - 1] });
        expect(some.passes.every((p) => p === R - 1)).toBe(true);
        expect(some.passes.length * R).toBe(all.passes.length);
        all.factors.forEach((f, i) => {
          // Skipped passes back-propagate exact zeros: the accumulated G is bit-identical.
          expect(read(some.factors[i].G), `${fisher} ${approx} ${f.name}`).toEqual(read(f.G));
          expect(read(some.factors[i].A)).toEqual(read(f.A));
        });
      }
    }
  });

  it('the optimizer skips the positions without targets itself (type-2 on the last-token task: C passes, not C·R)', async () => {
    const positions: (number | null)[] = [];
    const optimizer = new KfacOptimizer(
      { fisherType: 'type-2', klClip: 0 },
      { approx: 'reduce', onFactorPass: (_, p) => positions.push(p) },
    );
    // Layers of its own: the step changes their parameters.
    const [a, b] = [new Linear(ctx, 'first', D_IN, H), new Linear(ctx, 'head', H, C)];
    const fwd = () => b.forward(ops.matmul(mix, ops.tanh(a.forward(x))));
    const { loss } = await optimizer.trainStep({
      params: [...a.parameters(), ...b.parameters()],
      forward: fwd,
      loss: ce(lastOnly),
      step: 0,
    });
    loss.dispose();
    expect(positions).toEqual([R - 1, R - 1, R - 1]);
    optimizer.dispose();
    [a, b].forEach((l) => l.dispose());
  });

  for (const approx of ['expand', 'reduce'] as const) {
    it(`K-FAC-${approx}: MC with one joint pass is unbiased, its mean over many draws approaches the per-term type-2 G`, () => {
      const base = { approx, setting: 'expand' as const };
      const perTerm = computeKfacFactors(forward, ce(allCounted), { ...base, fisher: 'type-2' });
      // The joint type-2 pass (the per-term rule broken) differs clearly, so the comparison can fail.
      const joint = computeKfacFactors(forward, ce(allCounted), { ...base, fisher: 'type-2', perPositionPasses: false });
      const mc = computeKfacFactors(forward, ce(allCounted), { ...base, fisher: 'mc', mcSamples: 4000, seed: 3 });
      for (let i = 0; i < perTerm.length; i++) {
        const want = read(perTerm[i].G);
        // (Only the layer before the mixing: the head is position-wise, where a joint pass is exact.)
        if (perTerm[i].name === 'first') expect(relativeError(read(joint[i].G), want), 'joint type-2 first').toBeGreaterThan(0.1);
        expect(relativeError(read(mc[i].G), want), `MC ${perTerm[i].name}`).toBeLessThan(0.04);
      }
    });
  }
});

describe('the expand A over counted terms only', () => {
  it('LM head, one sequence, only the last position has a target: K-FAC-expand (type-2) equals the exact GGN block', () => {
    const one = cpu.tensor([-1, -1, 1], [1, R], 'int32');
    const xOne = constant(cpu.tensor(rng.normalArray(R * D_IN), [1, R, D_IN], 'float64'));
    const fwd = () => head.forward(ops.matmul(mix, ops.tanh(first.forward(xOne))));
    const loss = ce(one, 'sum');
    const [, headFactors] = computeKfacFactors(fwd, loss, { approx: 'expand', fisher: 'type-2' });
    expect(headFactors.name).toBe('head');
    expect(headFactors.overCountedTerms).toBe(true);
    const exact = exactGgnBlock(fwd, loss, head.weight, head.bias, { bias: 'folded' });
    expect(kfacError(read(headFactors.A), read(headFactors.G), exact)).toBeLessThan(1e-12);
    // Averaging A over all R rows (the old behaviour) is far from exact: A = a_last a_lastᵀ only.
    const rows = computeKfacFactors(fwd, ce(cpu.tensor([0, 2, 1], [1, R], 'int32'), 'sum'), { approx: 'expand', fisher: 'type-2' })[1];
    expect(relativeError(read(rows.A), read(headFactors.A))).toBeGreaterThan(0.1);
    xOne.value.dispose();
  });

  it('A is the mean of [a; 1][a; 1]ᵀ over the counted rows, weighted the same for mean and sum', () => {
    for (const reduction of ['mean', 'sum'] as const) {
      const f = computeKfacFactors(forward, ce(lastOnly, reduction), { approx: 'expand', fisher: 'mc' })[1];
      // Rows of the head's input at the counted positions (n, R−1).
      const captured = headInputs();
      const want = new Float64Array((H + 1) * (H + 1));
      for (const n of [0, 1]) {
        const a = [...captured.slice((n * R + R - 1) * H, (n * R + R) * H), 1];
        for (let i = 0; i <= H; i++) for (let j = 0; j <= H; j++) want[i * (H + 1) + j] += (a[i] * a[j]) / 2;
      }
      expect(relativeError(read(f.A), want), reduction).toBeLessThan(1e-14);
    }
  });
});

/** The head's input rows [N·R, H]. */
function headInputs(): number[] {
  return Array.from(cpu.readSync(ops.matmul(mix, ops.tanh(first.forward(x))).value));
}

// ---- setting inference ---------------------------------------------------------------------------

describe('loss-setting inference for the LM and the GCNs', () => {
  it('TransformerLm (a loss term per token): every layer in the expand setting, A over N·R rows or the counted terms', () => {
    const lm = new TransformerLm({ backend: cpu, seed: 1, precision: 'float64' }, { vocab: 5, context: 3, dim: 4, depth: 1, heads: 1 });
    const ids = cpu.tensor([1, 2, 3, 4, 0, 1], [2, 3], 'int32');
    const targets = cpu.tensor([-1, -1, 4, -1, -1, 2], [2, 3], 'int32');
    const factors = computeKfacFactors(() => lm.forward(ids), ce(targets), { approx: 'expand', fisher: 'mc' });
    expect(factors.map((f) => f.setting)).toEqual(factors.map(() => 'expand'));
    expect(factors.map((f) => f.inputCount)).toEqual(factors.map(() => 6));
    expect(factors.every((f) => f.overCountedTerms)).toBe(true);
    lm.dispose();
    [ids, targets].forEach((t) => t.dispose());
  });

  const graph = { numNodes: 5, edges: Int32Array.from([0, 1, 1, 0, 1, 2, 2, 1, 2, 3, 3, 2, 3, 4, 4, 3]) };

  it('GCN node classification: both layers in the expand setting; K-FAC-reduce sees one example and says so', async () => {
    const model = new GcnNodeClassifier({ backend: cpu, seed: 1, precision: 'float64' }, { inFeatures: 3, hidden: 4, classes: 2 });
    const adjacency = adjacencyToDevice(cpu, normalizedAdjacency(graph), 'float64');
    const features = constant(cpu.tensor(rng.normalArray(5 * 3), [5, 3], 'float64'));
    const targets = cpu.tensor([0, 1, 1, 0, 1], [5], 'int32');
    const fwd = () => model.forward(features, adjacency);
    const expand = computeKfacFactors(fwd, ce(targets), { approx: 'expand', fisher: 'mc' });
    expect(expand.map((f) => [f.setting, f.inputCount])).toEqual([
      ['expand', 5],
      ['expand', 5],
    ]);
    const reduce = computeKfacFactors(fwd, ce(targets), { approx: 'reduce', fisher: 'mc' });
    expect(reduce.map((f) => f.inputCount)).toEqual([1, 1]);
    // One example: the reduce A is the outer product of one averaged row, rank 1.
    const a = read(reduce[1].A);
    const d = Math.round(Math.sqrt(a.length));
    const v = Array.from({ length: d }, (_, i) => Math.sqrt(a[i * d + i]) * Math.sign(a[i * d + d - 1] || 1));
    expect(
      relativeError(
        a,
        v.flatMap((vi) => v.map((vj) => vi * vj)),
      ),
    ).toBeLessThan(1e-12);
    const optimizer = new KfacOptimizer({}, { approx: 'reduce' });
    const { loss } = await optimizer.trainStep({ params: model.parameters(), forward: fwd, loss: ce(targets), step: 0 });
    loss.dispose();
    expect(optimizer.notices).toHaveLength(1);
    expect(optimizer.notices[0]).toMatch(/^degenerate-reduce: .*"conv1", "conv2".*rank 1.*K-FAC-expand/);
    optimizer.dispose();
    const expandOptimizer = new KfacOptimizer({}, { approx: 'expand' });
    const second = await expandOptimizer.trainStep({ params: model.parameters(), forward: fwd, loss: ce(targets), step: 0 });
    second.loss.dispose();
    expect(expandOptimizer.notices).toEqual([]);
    expandOptimizer.dispose();
    model.dispose();
  });

  it('GCN graph classification: the convolutions in the reduce setting (rows = nodes), the head in the expand setting', () => {
    const model = new GcnGraphClassifier({ backend: cpu, seed: 1, precision: 'float64' }, { inFeatures: 3, hidden: 4, classes: 2 });
    const adjacency = adjacencyToDevice(cpu, normalizedAdjacency(graph), 'float64');
    const batch = {
      adjacency,
      graphIndex: cpu.tensor([0, 0, 1, 1, 1], [5], 'int32'),
      numGraphs: 2,
      inverseCounts: cpu.tensor([1 / 2, 1 / 3], [2, 1], 'float64'),
    };
    const features = constant(cpu.tensor(rng.normalArray(5 * 3), [5, 3], 'float64'));
    const targets = cpu.tensor([0, 1], [2], 'int32');
    const factors = computeKfacFactors(() => model.forward(features, batch), ce(targets), { approx: 'reduce', fisher: 'mc' });
    expect(factors.map((f) => [f.name, f.setting, f.inputCount])).toEqual([
      ['conv0', 'reduce', 2],
      ['conv1', 'reduce', 2],
      ['head', 'expand', 2],
    ]);
    model.dispose();
  });
});

// ---- conv exactness --------------------------------------------------------------------------------

describe('a last conv with stride = kernel is exactly K-FAC in its setting (MSE, type-2)', () => {
  const [n, cin, side, cout, k] = [3, 2, 4, 3, 2];
  const images = cpu.tensor(rng.normalArray(n * cin * side * side), [n, cin, side, side], 'float64');
  const conv = new Conv2d(ctx, 'conv', cin, cout, k, { stride: k });
  const positions = (side / k) ** 2;
  const cases = [
    {
      setting: 'expand' as const,
      // A loss term per output position: [N, Cout, h, w] → [N, P, Cout].
      forward: () => ops.permute(ops.reshape(conv.forward(constant(images)), [n, cout, positions]), [0, 2, 1]),
      targets: cpu.tensor(rng.normalArray(n * positions * cout), [n, positions, cout], 'float64'),
    },
    {
      setting: 'reduce' as const,
      // Mean over the positions before the loss: [N, Cout].
      forward: () => ops.mean(ops.reshape(conv.forward(constant(images)), [n, cout, positions]), 2),
      targets: cpu.tensor(rng.normalArray(n * cout), [n, cout], 'float64'),
    },
  ];
  for (const c of cases) {
    for (const reduction of ['sum', 'mean'] as const) {
      it(`K-FAC-${c.setting} in the ${c.setting} setting, ${reduction}`, () => {
        const loss = { spec: lossSpec('mse', reduction), targets: c.targets };
        const [f] = computeKfacFactors(c.forward, loss, { approx: c.setting, fisher: 'type-2' });
        expect(f.setting).toBe(c.setting);
        const exact = exactGgnBlock(c.forward, loss, conv.weight, conv.bias, { bias: 'folded' });
        expect(kfacError(read(f.A), read(f.G), exact)).toBeLessThan(1e-12);
      });
    }
  }
});

// ---- the same on the device backends ---------------------------------------------------------------

describe('positions with targets, skipped passes and the counted-terms A on WebGPU and WASM (float32) match the CPU', () => {
  const devices = useBackends();
  for (const which of ['gpu', 'wasm'] as const) {
    it(`type-2, last-token targets, both approximations on ${which}`, async () => {
      const be = devices[which];
      const dctx = { backend: be, seed: 7 };
      const [a, h] = [new Linear(dctx, 'first', D_IN, H), new Linear(dctx, 'head', H, C)];
      const [ca, ch] = [new Linear(ctx, 'first', D_IN, H), new Linear(ctx, 'head', H, C)];
      const mixValues = cpu.readSync(mix.value);
      const xValues = cpu.readSync(x.value);
      const dMix = constant(be.tensor(mixValues, [R, R]));
      const dx = constant(be.tensor(xValues, [N, R, D_IN]));
      const targets = be.tensor([-1, -1, 2, -1, -1, 0], [N, R], 'int32');
      const dLoss = ce(targets);
      expect(await positionsWithTargets(dLoss, [N, R, C])).toEqual([R - 1]);
      for (const approx of ['expand', 'reduce'] as const) {
        const got = computeKfacFactors(() => h.forward(ops.matmul(dMix, ops.tanh(a.forward(dx)))), dLoss, {
          approx,
          fisher: 'type-2',
          positions: [R - 1],
        });
        const want = computeKfacFactors(() => ch.forward(ops.matmul(mix, ops.tanh(ca.forward(x)))), ce(lastOnly), {
          approx,
          fisher: 'type-2',
        });
        for (let i = 0; i < want.length; i++) {
          expect(relativeError(Array.from(await got[i].A.read()), read(want[i].A)), `${approx} ${want[i].name} A`).toBeLessThan(1e-5);
          expect(relativeError(Array.from(await got[i].G.read()), read(want[i].G)), `${approx} ${want[i].name} G`).toBeLessThan(1e-4);
        }
        [...got, ...want].forEach((f) => [f.A, f.G].forEach((t) => t.dispose()));
      }
      [a, h, ca, ch].forEach((l) => l.dispose());
      [dMix.value, dx.value, targets].forEach((t) => t.dispose());
    });
  }
});
