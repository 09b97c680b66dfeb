// The same model, weights and inputs on the CPU and on WebGPU give the same forward and backward
// results (float32 on both; tolerance 1e-3 of each result's largest entry).
import { describe, expect, it } from 'vitest';
import type { Backend } from '../../src/engine/backend/backend.ts';
import { grad } from '../../src/engine/autograd/backward.ts';
import * as ops from '../../src/engine/autograd/ops.ts';
import { constant, type Variable } from '../../src/engine/autograd/variable.ts';
import { Mlp } from '../../src/engine/nn/models/mlp.ts';
import { Cnn } from '../../src/engine/nn/models/cnn.ts';
import { Vit } from '../../src/engine/nn/models/vit.ts';
import { GcnGraphClassifier, GcnNodeClassifier } from '../../src/engine/nn/models/gcn-models.ts';
import { TransformerLm } from '../../src/engine/nn/models/transformer-lm.ts';
import type { Module } from '../../src/engine/nn/module.ts';
import { Rng } from '../../src/engine/random.ts';
import { scope } from '../../src/engine/tensor.ts';
import { useBackends } from '../helpers/backends.ts';

const b = useBackends();

interface Case {
  name: string;
  build(be: Backend): { model: Module; run: () => Variable };
}

const data = (n: number, seed: number) => Float32Array.from(new Rng(seed).uniformArray(n));

function graphInputs(be: Backend) {
  const rows = [0, 0, 1, 1, 1, 2, 2, 3, 3, 4, 4];
  const cols = [0, 1, 0, 1, 2, 1, 2, 3, 4, 3, 4];
  const deg = [2, 3, 2, 2, 2];
  return {
    adjacency: {
      rows: be.tensor(rows, [11], 'int32'),
      cols: be.tensor(cols, [11], 'int32'),
      weights: be.tensor(
        rows.map((r, e) => 1 / Math.sqrt(deg[r] * deg[cols[e]])),
        [11, 1],
      ),
      numNodes: 5,
    },
    graphIndex: be.tensor([0, 0, 0, 1, 1], [5], 'int32'),
    numGraphs: 2,
    inverseCounts: be.tensor([1 / 3, 1 / 2], [2, 1]),
  };
}

const cases: Case[] = [
  {
    name: 'MLP',
    build: (be) => {
      const model = new Mlp({ backend: be, seed: 2 }, { widths: [7, 33, 5] });
      const x = constant(be.tensor(data(9 * 7, 1), [9, 7]));
      return { model, run: () => model.forward(x) };
    },
  },
  {
    name: 'CNN',
    build: (be) => {
      const model = new Cnn({ backend: be, seed: 2 }, { inChannels: 1, height: 14, width: 14, classes: 10 });
      const x = constant(be.tensor(data(3 * 196, 1), [3, 1, 14, 14]));
      return { model, run: () => model.forward(x) };
    },
  },
  {
    name: 'ViT',
    build: (be) => {
      const model = new Vit(
        { backend: be, seed: 2 },
        { inChannels: 1, height: 14, width: 14, patch: 7, dim: 16, depth: 2, heads: 2, classes: 10, pooling: 'class-token' },
      );
      const x = constant(be.tensor(data(3 * 196, 1), [3, 1, 14, 14]));
      return { model, run: () => model.forward(x) };
    },
  },
  {
    name: 'GCN node',
    build: (be) => {
      const model = new GcnNodeClassifier({ backend: be, seed: 2 }, { inFeatures: 6, hidden: 8, classes: 3 });
      const g = graphInputs(be);
      const x = constant(be.tensor(data(30, 1), [5, 6]));
      return { model, run: () => model.forward(x, g.adjacency) };
    },
  },
  {
    name: 'GCN graph',
    build: (be) => {
      const model = new GcnGraphClassifier({ backend: be, seed: 2 }, { inFeatures: 6, hidden: 8, classes: 2 });
      const g = graphInputs(be);
      const x = constant(be.tensor(data(30, 1), [5, 6]));
      return { model, run: () => model.forward(x, g) };
    },
  },
  {
    name: 'transformer LM',
    build: (be) => {
      const model = new TransformerLm({ backend: be, seed: 2 }, { vocab: 13, context: 5, dim: 16, depth: 2, heads: 4 });
      const ids = be.tensor([1, 2, 3, 4, 5, 12, 0, 7, 7, 9], [2, 5], 'int32');
      return { model, run: () => model.forward(ids) };
    },
  },
];

/** Forward output and the gradient of Σ output ⊙ w (fixed weights) for every parameter. */
async function evaluate(be: Backend, c: Case): Promise<Float32Array[]> {
  const { model, run } = c.build(be);
  const params = model.parameters().map((p) => p.variable);
  const results = scope(() => {
    const out = run();
    const w = be.tensor(data(out.value.size, 9), out.shape);
    const loss = ops.sum(ops.mulConstant(out, w));
    return [out.value, ...grad(loss, params)];
  });
  const host = await Promise.all(results.map((t) => t.read()));
  for (const t of results) t.dispose();
  model.dispose();
  return host as Float32Array[];
}

describe.each(['gpu', 'wasm'] as const)('CPU and %s agree on forward and backward passes', (fast) => {
  for (const c of cases) {
    it(c.name, async () => {
      const onCpu = await evaluate(b.cpu, c);
      const onGpu = await evaluate(b[fast], c);
      expect(onGpu.length).toBe(onCpu.length);
      // Relative to each result's own scale, plus a floor at the scale of all results: some
      // gradients are exactly zero in exact arithmetic (attention's key bias) and only rounding remains.
      const scaleOf = (a: Float32Array) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      const globalScale = Math.max(...onCpu.map(scaleOf));
      onCpu.forEach((ref, i) => {
        let worst = 0;
        for (let k = 0; k < ref.length; k++) worst = Math.max(worst, Math.abs(onGpu[i][k] - ref[k]));
        const bound = 1e-3 * scaleOf(ref) + 1e-5 * globalScale;
        expect(worst, `${c.name}: ${i === 0 ? 'output' : `gradient ${i - 1}`} differs by ${worst} (bound ${bound})`).toBeLessThanOrEqual(
          bound,
        );
      });
    });
  }
});
