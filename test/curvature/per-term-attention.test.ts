// §3's per-term rule through real causal attention (a tiny TransformerLm, cross-entropy with some
// targets ignored, type-2): every layer's G from the per-position passes — with the positions
// without targets skipped — must equal a brute force that back-propagates every loss term (n, r)
// and every column k of its Hessian square root √c √p_k (e_k − p) on its own. Float64, CPU.
import { describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/engine/backend/cpu/cpu-backend.ts';
import { grad } from '../../src/engine/autograd/backward.ts';
import { computeKfacFactors, positionsWithTargets, type KfacApprox } from '../../src/engine/curvature/factors.ts';
import { withCurvatureCapture, type KfacForwardCapture } from '../../src/engine/nn/curvature-hook.ts';
import { lossSpec } from '../../src/engine/nn/losses.ts';
import { TransformerLm } from '../../src/engine/nn/models/transformer-lm.ts';
import { scope } from '../../src/engine/tensor.ts';
import { relativeError } from '../helpers/compare.ts';

const cpu = new CpuBackend();
const [N, R, V] = [2, 3, 4];
const lm = new TransformerLm({ backend: cpu, seed: 3, precision: 'float64' }, { vocab: V, context: R, dim: 4, depth: 1, heads: 2 });
const ids = cpu.tensor([1, 2, 3, 0, 3, 1], [N, R], 'int32');
const labels = [2, -1, 1, 0, -1, 3];
const targets = cpu.tensor(labels, [N, R], 'int32');
const loss = { spec: lossSpec('ce', 'mean'), targets };
const counted = labels.filter((l) => l >= 0).length;

/** Σ over counted terms (n, r) and columns k of the per-term outer products, per layer name. */
function bruteForce(approx: KfacApprox): Map<string, Float64Array> {
  const logits = scope(() => Array.from(cpu.readSync(lm.forward(ids).value)));
  const out = new Map<string, Float64Array>();
  for (let n = 0; n < N; n++) {
    for (let r = 0; r < R; r++) {
      if (labels[n * R + r] < 0) continue;
      const f = logits.slice((n * R + r) * V, (n * R + r + 1) * V);
      const top = Math.max(...f);
      const e = f.map((v) => Math.exp(v - top));
      const p = e.map((v) => v / e.reduce((a, b) => a + b, 0));
      for (let k = 0; k < V; k++) {
        scope(() => {
          const rows = new Map<string, { b: Float64Array; d: number }>();
          const outputs = withCurvatureCapture(
            {
              capture: (c: KfacForwardCapture) => {
                const d = c.layer.weight.variable.shape[0];
                c.output.onGrad((t) => void rows.set(c.layer.name, { b: Float64Array.from(cpu.readSync(t)), d }));
              },
            },
            () => lm.forward(ids),
          );
          const seed = new Float64Array(N * R * V);
          for (let j = 0; j < V; j++) seed[(n * R + r) * V + j] = Math.sqrt(1 / counted) * Math.sqrt(p[k]) * ((j === k ? 1 : 0) - p[j]);
          grad(outputs, [], cpu.tensor(seed, [N, R, V], 'float64'));
          for (const [name, { b, d }] of rows) {
            const g = out.get(name) ?? new Float64Array(d * d);
            const vectors: Float64Array[] = [];
            if (approx === 'expand') for (let row = 0; row < N * R; row++) vectors.push(b.subarray(row * d, (row + 1) * d));
            else {
              // This one term's vectors summed over the positions of its example.
              const s = new Float64Array(d);
              for (let q = 0; q < R; q++) for (let i = 0; i < d; i++) s[i] += b[(n * R + q) * d + i];
              vectors.push(s);
            }
            for (const v of vectors) for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) g[i * d + j] += v[i] * v[j];
            out.set(name, g);
          }
        });
      }
    }
  }
  return out;
}

describe('the per-term rule through causal attention (TransformerLm, CE with ignored targets, type-2)', () => {
  for (const approx of ['expand', 'reduce'] as const) {
    it(`K-FAC-${approx}: every layer's G equals the per-term brute force`, async () => {
      const positions = await positionsWithTargets(loss, [N, R, V]);
      expect(positions).toEqual([0, 2]); // position 1 has no target in either sequence
      const factors = computeKfacFactors(() => lm.forward(ids), loss, { approx, fisher: 'type-2', positions: positions ?? undefined });
      const want = bruteForce(approx);
      expect(factors.map((f) => f.name).sort()).toEqual([...want.keys()].sort());
      for (const f of factors) expect(relativeError(cpu.readSync(f.G), want.get(f.name)!), f.name).toBeLessThan(1e-12);
      if (approx === 'reduce') {
        // One joint type-2 pass mixes different terms' vectors where attention mixes positions (the
        // values; a causal query only serves its own position's term): clearly different there.
        const joint = computeKfacFactors(() => lm.forward(ids), loss, { approx, fisher: 'type-2', perPositionPasses: false });
        const v = joint.find((f) => f.name.endsWith('attn.v'))!;
        expect(relativeError(cpu.readSync(v.G), want.get(v.name)!)).toBeGreaterThan(1e-2);
      }
    });
  }
});
