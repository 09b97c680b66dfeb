import { describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/engine/backend/cpu/cpu-backend.ts';
import * as ops from '../../src/engine/autograd/ops.ts';
import { constant, type Variable } from '../../src/engine/autograd/variable.ts';
import { grad } from '../../src/engine/autograd/backward.ts';
import { Linear } from '../../src/engine/nn/linear.ts';
import { Conv2d } from '../../src/engine/nn/conv2d.ts';
import { LayerNorm, Embedding, Dropout } from '../../src/engine/nn/layers.ts';
import { MultiHeadAttention } from '../../src/engine/nn/attention.ts';
import { GCNConv } from '../../src/engine/nn/gcn.ts';
import { classToken, globalAvgPool, maxPool2x2, meanPool, segmentMean } from '../../src/engine/nn/pooling.ts';
import { withCurvatureCapture, type KfacForwardCapture } from '../../src/engine/nn/curvature-hook.ts';
import { Rng } from '../../src/engine/random.ts';
import { gradcheck, gradcheckParameters } from '../helpers/gradcheck.ts';
import { uniformTensor } from '../helpers/random.ts';

const cpu = new CpuBackend();
const ctx = { backend: cpu, seed: 3, precision: 'float64' as const };
const rng = new Rng(11);
const rand = (shape: number[], lo = -1, hi = 1) => uniformTensor(cpu, rng, shape, { lo, hi });
const params = (m: { parameters(): { variable: Variable }[] }) => m.parameters().map((p) => p.variable);

describe('layers against finite differences (float64, CPU)', () => {
  it('Linear on [N, R, dIn] with bias: inputs and parameters', () => {
    const lin = new Linear(ctx, 'fc', 4, 3);
    const x = rand([2, 3, 4]);
    gradcheck(cpu, ([v]) => lin.forward(v), [x], { label: 'linear input' });
    gradcheckParameters(cpu, params(lin), () => lin.forward(constant(x)), { label: 'linear params' });
  });
  it('Conv2d with stride and padding', () => {
    const conv = new Conv2d(ctx, 'conv', 2, 3, 3, { stride: 2, padding: 1 });
    const x = rand([2, 2, 5, 4]);
    gradcheck(cpu, ([v]) => conv.forward(v), [x], { label: 'conv input' });
    gradcheckParameters(cpu, params(conv), () => conv.forward(constant(x)), { label: 'conv params' });
  });
  it('LayerNorm', () => {
    const ln = new LayerNorm(ctx, 5);
    const x = rand([3, 5]);
    gradcheck(cpu, ([v]) => ln.forward(v), [x], { label: 'layernorm input', rtol: 1e-5 });
    gradcheckParameters(cpu, params(ln), () => ln.forward(constant(x)), { label: 'layernorm params' });
  });
  it('Embedding', () => {
    const emb = new Embedding(ctx, 'emb', 5, 3);
    const ids = cpu.tensor([0, 4, 4, 2, 1, 0], [2, 3], 'int32');
    gradcheckParameters(cpu, params(emb), () => emb.forward(ids), { label: 'embedding' });
  });
  for (const causal of [false, true]) {
    it(`multi-head attention (${causal ? 'causal' : 'bidirectional'})`, () => {
      const attn = new MultiHeadAttention(ctx, 'attn', 4, 2, causal);
      const x = rand([2, 3, 4]);
      gradcheck(cpu, ([v]) => attn.forward(v), [x], { label: 'attention input', rtol: 1e-5 });
      gradcheckParameters(cpu, params(attn), () => attn.forward(constant(x)), { label: 'attention params', rtol: 1e-5 });
    });
  }
  it('causal attention ignores the future', () => {
    const attn = new MultiHeadAttention(ctx, 'attn', 4, 2, true);
    const a = rand([1, 3, 4]);
    const bData = Float64Array.from(cpu.readSync(a));
    for (let i = 8; i < 12; i++) bData[i] += 5; // change only the last token
    const b = cpu.tensor(bData, [1, 3, 4], 'float64');
    const ya = cpu.readSync(attn.forward(constant(a)).value);
    const yb = cpu.readSync(attn.forward(constant(b)).value);
    for (let i = 0; i < 8; i++) expect(ya[i]).toBeCloseTo(yb[i], 12);
    expect(Math.abs(ya[8] - yb[8])).toBeGreaterThan(1e-6);
  });
  it('GCN convolution over a sparse adjacency', () => {
    const gcn = new GCNConv(ctx, 'gcn', 3, 2);
    const adj = {
      rows: cpu.tensor([0, 0, 1, 1, 2, 2, 3], [7], 'int32'),
      cols: cpu.tensor([0, 1, 0, 1, 2, 3, 3], [7], 'int32'),
      weights: cpu.tensor([0.5, 0.5, 0.5, 0.5, 0.4, 0.6, 1], [7, 1], 'float64'),
      numNodes: 4,
    };
    const h = rand([4, 3]);
    const layout = { kind: 'dense' as const, examples: 1, positions: 4 };
    gradcheck(cpu, ([v]) => gcn.propagate(v, adj, layout), [h], { label: 'gcn input' });
    gradcheckParameters(cpu, params(gcn), () => gcn.propagate(constant(h), adj, layout), { label: 'gcn params' });
  });
  it('pooling', () => {
    gradcheck(cpu, ([v]) => meanPool(v), [rand([2, 3, 4])]);
    gradcheck(cpu, ([v]) => classToken(v), [rand([2, 3, 4])]);
    gradcheck(cpu, ([v]) => globalAvgPool(v), [rand([2, 3, 4, 5])]);
    gradcheck(cpu, ([v]) => maxPool2x2(v), [rand([2, 2, 5, 4])], { label: 'maxpool' });
    const index = cpu.tensor([0, 0, 1, 1, 1], [5], 'int32');
    const inv = cpu.tensor([1 / 2, 1 / 3], [2, 1], 'float64');
    gradcheck(cpu, ([v]) => segmentMean(v, index, 2, inv), [rand([5, 3])]);
  });
  it('dropout is seeded, scales kept units and is off in eval mode', () => {
    const x = constant(cpu.fill([1000], 1, 'float64'));
    const a = new Dropout(ctx, 'd', 0.25).forward(x);
    const b = new Dropout(ctx, 'd', 0.25).forward(x);
    const va = cpu.readSync(a.value);
    expect(Array.from(va)).toEqual(Array.from(cpu.readSync(b.value)));
    const kept = va.filter((v) => v !== 0);
    expect(kept.length).toBeGreaterThan(650);
    expect(kept.length).toBeLessThan(850);
    expect(kept[0]).toBeCloseTo(4 / 3, 12);
    const d = new Dropout(ctx, 'd', 0.25).eval();
    expect(d.forward(x)).toBe(x);
  });
});

describe('the curvature hook', () => {
  it('hands out a as [rows, dIn] and the output gradient of every Linear-like layer', () => {
    const lin = new Linear(ctx, 'fc', 4, 3);
    const conv = new Conv2d(ctx, 'conv', 1, 2, 2);
    const captures: KfacForwardCapture[] = [];
    const grads = new Map<string, Float64Array>();
    const x = rand([2, 5, 4]);
    const img = rand([2, 1, 3, 3]);
    const out = withCurvatureCapture(
      {
        capture: (c) => {
          captures.push(c);
          c.output.onGrad((g) => grads.set(c.layer.name, cpu.readSync(g) as Float64Array));
        },
      },
      () => ops.add(ops.sum(lin.forward(constant(x))), ops.sum(conv.forward(constant(img)))),
    );
    grad(out, [lin.weight]);
    expect(captures.map((c) => c.layer.name)).toEqual(['fc', 'conv']);
    expect(captures[0].input.shape).toEqual([10, 4]);
    expect(captures[0].layout).toEqual({ kind: 'dense', examples: 2, positions: 5 });
    expect(captures[1].input.shape).toEqual([8, 4]); // 2 images × 4 positions, 1·2·2 patch
    expect(captures[1].layout).toEqual({ kind: 'dense', examples: 2, positions: 4 });
    expect(captures[1].layer.sharedDims).toEqual(['positions']);
    expect(Array.from(grads.get('fc')!)).toEqual(new Array(30).fill(1));
    expect(grads.get('conv')!.length).toBe(16);
    // Off when no capture is active.
    captures.length = 0;
    lin.forward(constant(x));
    expect(captures.length).toBe(0);
  });
});
