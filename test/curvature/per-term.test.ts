// §3's per-term rule in a model that mixes positions (Linear → fixed R×R mixing → Linear): the
// factors computed with one pass per shared position (all examples at once) must equal a brute
// force that back-propagates every loss term (n, r) and every Hessian column on its own.
import { describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/engine/backend/cpu/cpu-backend.ts';
import * as ops from '../../src/engine/autograd/ops.ts';
import { grad } from '../../src/engine/autograd/backward.ts';
import { constant, type Variable } from '../../src/engine/autograd/variable.ts';
import { computeKfacFactors, type KfacApprox } from '../../src/engine/curvature/factors.ts';
import { withCurvatureCapture, type KfacForwardCapture } from '../../src/engine/nn/curvature-hook.ts';
import { Linear } from '../../src/engine/nn/linear.ts';
import { lossSpec } from '../../src/engine/nn/losses.ts';
import { Rng } from '../../src/engine/random.ts';
import { scope } from '../../src/engine/tensor.ts';
import { relativeError } from '../helpers/compare.ts';

const cpu = new CpuBackend();
const N = 2;
const R = 3;
const D_IN = 3;
const H = 4;
const C = 2;
const rng = new Rng(17);
const ctx = { backend: cpu, seed: 5, precision: 'float64' as const };
const first = new Linear(ctx, 'first', D_IN, H);
const second = new Linear(ctx, 'second', H, C);
const mix = constant(cpu.tensor(rng.uniformArray(R * R), [R, R], 'float64'));
const x = constant(cpu.tensor(rng.uniformArray(N * R * D_IN), [N, R, D_IN], 'float64'));
const y = cpu.tensor(rng.uniformArray(N * R * C), [N, R, C], 'float64');

/** [N, R, C]: position r' of the hidden layer sees Σ_r mix[r', r] · h_r. */
function forward(): Variable {
  const h = ops.tanh(first.forward(x));
  const mixed = ops.matmul(mix, h); // [R, R] × [N, R, H] → [N, R, H]
  return second.forward(mixed);
}

/** Σ over terms m = (n, r') and columns c of the per-term outer products (MSE sum: S = √2 I). */
function bruteForceG(layer: 'first' | 'second', approx: KfacApprox): Float64Array {
  const d = layer === 'first' ? H : C;
  const g = new Float64Array(d * d);
  for (let n = 0; n < N; n++) {
    for (let r = 0; r < R; r++) {
      for (let c = 0; c < C; c++) {
        scope(() => {
          let b: Float64Array | null = null;
          const out = withCurvatureCapture(
            {
              capture: (cap: KfacForwardCapture) => {
                if (cap.layer.name === layer) cap.output.onGrad((t) => (b = cpu.readSync(t) as Float64Array));
              },
            },
            forward,
          );
          const seed = new Float64Array(N * R * C);
          seed[(n * R + r) * C + c] = Math.SQRT2;
          grad(out, [], cpu.tensor(seed, [N, R, C], 'float64'));
          const rows = b as unknown as Float64Array; // [N·R, d]
          const vectors: Float64Array[] = [];
          if (approx === 'expand') for (let k = 0; k < N * R; k++) vectors.push(rows.subarray(k * d, (k + 1) * d));
          else {
            // The same term's vectors summed over the shared positions of its example.
            const s = new Float64Array(d);
            for (let k = 0; k < R; k++) for (let i = 0; i < d; i++) s[i] += rows[(n * R + k) * d + i];
            vectors.push(s);
          }
          for (const v of vectors) for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) g[i * d + j] += v[i] * v[j];
        });
      }
    }
  }
  return g;
}

describe('the per-term rule in a position-mixing model (expand setting, MSE sum, type-2)', () => {
  for (const approx of ['expand', 'reduce'] as const) {
    it(`K-FAC-${approx}: G from per-position passes equals the per-term brute force`, () => {
      const factors = computeKfacFactors(
        forward,
        { spec: lossSpec('mse', 'sum'), targets: y },
        { approx, fisher: 'type-2', setting: 'expand' },
      );
      for (const f of factors) {
        const want = bruteForceG(f.name as 'first' | 'second', approx);
        expect(relativeError(cpu.readSync(f.G), want), `${f.name}`).toBeLessThan(1e-12);
      }
      // One joint pass sums different terms' vectors before the outer product: a different G here.
      const joint = computeKfacFactors(
        forward,
        { spec: lossSpec('mse', 'sum'), targets: y },
        { approx, fisher: 'type-2', setting: 'expand', perPositionPasses: false },
      );
      expect(relativeError(cpu.readSync(joint[0].G), bruteForceG('first', approx))).toBeGreaterThan(1e-2);
    });
  }
});
