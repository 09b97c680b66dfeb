import { describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/engine/backend/cpu/cpu-backend.ts';
import { constant, type Variable } from '../../src/engine/autograd/variable.ts';
import { Mlp } from '../../src/engine/nn/models/mlp.ts';
import { Cnn } from '../../src/engine/nn/models/cnn.ts';
import { Vit } from '../../src/engine/nn/models/vit.ts';
import { GcnGraphClassifier, GcnNodeClassifier } from '../../src/engine/nn/models/gcn-models.ts';
import { TransformerLm } from '../../src/engine/nn/models/transformer-lm.ts';
import { Rng } from '../../src/engine/random.ts';
import { gradcheckParameters } from '../helpers/gradcheck.ts';
import { uniformTensor } from '../helpers/random.ts';

const cpu = new CpuBackend();
const rng = new Rng(5);
const rand = (shape: number[], precision: 'float32' | 'float64' = 'float64') => uniformTensor(cpu, rng, shape, { dtype: precision });
const ctx64 = { backend: cpu, seed: 1, precision: 'float64' as const };
const ctx32 = { backend: cpu, seed: 1 };
const params = (m: { parameters(): { variable: Variable }[] }) => m.parameters().map((p) => p.variable);

function tinyGraph(precision: 'float32' | 'float64') {
  // Two graphs packed: nodes 0-2 (a path) and 3-4 (an edge), with self-loops, symmetric weights.
  const rows = [0, 0, 1, 1, 1, 2, 2, 3, 3, 4, 4];
  const cols = [0, 1, 0, 1, 2, 1, 2, 3, 4, 3, 4];
  const deg = [2, 3, 2, 2, 2];
  const w = rows.map((r, e) => 1 / Math.sqrt(deg[r] * deg[cols[e]]));
  return {
    adjacency: {
      rows: cpu.tensor(rows, [rows.length], 'int32'),
      cols: cpu.tensor(cols, [cols.length], 'int32'),
      weights: cpu.tensor(w, [w.length, 1], precision),
      numNodes: 5,
    },
    graphIndex: cpu.tensor([0, 0, 0, 1, 1], [5], 'int32'),
    numGraphs: 2,
    inverseCounts: cpu.tensor([1 / 3, 1 / 2], [2, 1], precision),
  };
}

describe('models: shapes and documented parameter counts', () => {
  it('MLP', () => {
    const m = new Mlp(ctx32, { widths: [2, 32, 32, 2] });
    expect(m.parameterCount()).toBe(1218);
    expect(m.forward(constant(rand([5, 2], 'float32'))).shape).toEqual([5, 2]);
    expect(new Mlp(ctx32, { widths: [196, 64, 10] }).parameterCount()).toBe(13258);
  });
  it('CNN', () => {
    const m = new Cnn(ctx32, { inChannels: 1, height: 14, width: 14, classes: 10 });
    expect(m.parameterCount()).toBe(11178);
    expect(m.forward(constant(rand([2, 1, 14, 14], 'float32'))).shape).toEqual([2, 10]);
  });
  it('ViT (mean pooling and class token)', () => {
    const m = new Vit(ctx32, { inChannels: 1, height: 14, width: 14, patch: 2, dim: 32, depth: 2, heads: 4, classes: 10 });
    // patch 4·32+32, positions 49·32, 2 × (2 LN 128 + attention 4·(32·32+32) + MLP 32·64+64 + 64·32+32), norm 64, head 330
    expect(m.parameterCount()).toBe(160 + 1568 + 2 * (128 + 4224 + 2112 + 2080) + 64 + 330);
    expect(m.parameterCount()).toBe(19210);
    expect(m.forward(constant(rand([2, 1, 14, 14], 'float32'))).shape).toEqual([2, 10]);
    const c = new Vit(ctx32, {
      inChannels: 1,
      height: 8,
      width: 8,
      patch: 4,
      dim: 8,
      depth: 1,
      heads: 2,
      classes: 3,
      pooling: 'class-token',
    });
    expect(c.forward(constant(rand([2, 1, 8, 8], 'float32'))).shape).toEqual([2, 3]);
  });
  it('GCN node and graph classifiers', () => {
    const g = tinyGraph('float32');
    const node = new GcnNodeClassifier(ctx32, { inFeatures: 16, hidden: 32, classes: 4 });
    expect(node.parameterCount()).toBe(676);
    expect(node.forward(constant(rand([5, 16], 'float32')), g.adjacency).shape).toEqual([5, 4]);
    const graph = new GcnGraphClassifier(ctx32, { inFeatures: 8, hidden: 32, classes: 2 });
    expect(graph.parameterCount()).toBe(1410);
    expect(graph.forward(constant(rand([5, 8], 'float32')), g).shape).toEqual([2, 2]);
  });
  it('transformer LM', () => {
    const m = new TransformerLm(ctx32, { vocab: 101, context: 4, dim: 64, depth: 2, heads: 4 });
    const ids = cpu.tensor([1, 2, 3, 4, 5, 6, 7, 8], [2, 4], 'int32');
    expect(m.forward(ids).shape).toEqual([2, 4, 101]);
    expect(m.parameterCount()).toBe(80357);
    expect(m.parameterCount()).toBe(6464 + 256 + 2 * (4 * 64 * 65 + 2 * 128 + 64 * 128 + 128 + 128 * 64 + 64) + 128 + 64 * 101 + 101);
  });
});

describe('models: every parameter gradient against finite differences (float64, tiny sizes)', () => {
  it('MLP', () => {
    const m = new Mlp(ctx64, { widths: [3, 4, 2] });
    const x = rand([2, 3]);
    gradcheckParameters(cpu, params(m), () => m.forward(constant(x)), { label: 'mlp' });
  });
  it('CNN', () => {
    const m = new Cnn(ctx64, { inChannels: 1, height: 4, width: 4, channels: [2, 2], hidden: 3, classes: 2 });
    const x = rand([2, 1, 4, 4]);
    gradcheckParameters(cpu, params(m), () => m.forward(constant(x)), { label: 'cnn', rtol: 1e-5 });
  });
  it('ViT', () => {
    const m = new Vit(ctx64, {
      inChannels: 1,
      height: 4,
      width: 4,
      patch: 2,
      dim: 4,
      depth: 1,
      heads: 2,
      classes: 3,
      pooling: 'class-token',
    });
    const x = rand([2, 1, 4, 4]);
    gradcheckParameters(cpu, params(m), () => m.forward(constant(x)), { label: 'vit', rtol: 1e-5, atol: 1e-7 });
  });
  it('GCN node and graph classifiers', () => {
    const g = tinyGraph('float64');
    const node = new GcnNodeClassifier(ctx64, { inFeatures: 3, hidden: 4, classes: 2 });
    const x = rand([5, 3]);
    gradcheckParameters(cpu, params(node), () => node.forward(constant(x), g.adjacency), { label: 'gcn node' });
    const graph = new GcnGraphClassifier(ctx64, { inFeatures: 3, hidden: 4, classes: 2 });
    gradcheckParameters(cpu, params(graph), () => graph.forward(constant(x), g), { label: 'gcn graph' });
  });
  it('transformer LM', () => {
    const m = new TransformerLm(ctx64, { vocab: 7, context: 3, dim: 4, depth: 1, heads: 2 });
    const ids = cpu.tensor([1, 6, 3, 0, 2, 2], [2, 3], 'int32');
    gradcheckParameters(cpu, params(m), () => m.forward(ids), { label: 'lm', rtol: 1e-5, atol: 1e-7 });
  });
});
