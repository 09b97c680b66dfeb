// Linear-regression problems for the influence oracles (docs/curvature-tools.md §3), with their
// closed-form (ridge) retraining on the host: a one-layer model f = W x̃ (x̃ = [x, 1] with the bias
// folded), loss ℓ_n = Σ_c w_nc (f_nc − y_nc)², written as a plain MSE of √w_nc f_nc against
// √w_nc y_nc. Per-example weights (w_nc = w_n) keep the exact GGN Kronecker-factored (K-FAC is exact:
// the weights are moved into the inputs, √w_n x̃); per-output weights (w_nc varying with c) break it.
import * as ops from '../../src/engine/autograd/ops.ts';
import { constant } from '../../src/engine/autograd/variable.ts';
import type { Backend } from '../../src/engine/backend/backend.ts';
import type { CurvatureData } from '../../src/engine/curvature/data.ts';
import { LayerStack } from '../../src/engine/nn/models/layer-stack.ts';
import { lossSpec, type Reduction } from '../../src/engine/nn/losses.ts';
import { Rng } from '../../src/engine/random.ts';

export interface RegressionProblem {
  dIn: number;
  C: number;
  bias: boolean;
  /** Training: x [N][dIn], y [N][C], w [N][C] (loss weights). */
  x: number[][];
  y: number[][];
  w: number[][];
  /** Queries, same layout. */
  qx: number[][];
  qy: number[][];
  qw: number[][];
  /** Per-example weights moved into the inputs (√w x̃): the Kronecker-exact variant. */
  weightsInInputs: boolean;
}

/** Anisotropic inputs, a noisy linear target; weights per example or per output (depending on x₀, so the per-output curvatures differ). */
export function regressionProblem(
  seed: number,
  o: { N: number; Q: number; dIn: number; C: number; bias?: boolean; weights: 'per-example' | 'per-output' | 'none' },
): RegressionProblem {
  const rng = new Rng(seed);
  const scales = Array.from({ length: o.dIn }, (_, j) => 3 / (1 + 2 * j));
  const W = Array.from({ length: o.C }, () => Array.from({ length: o.dIn }, () => rng.normal()));
  const draw = (count: number) => {
    const x = Array.from({ length: count }, () => scales.map((s) => s * rng.normal()));
    const y = x.map((xi) => W.map((row) => row.reduce((a, v, j) => a + v * xi[j], 0.3) + 0.5 * rng.normal()));
    const w = x.map((xi) => {
      if (o.weights === 'none') return Array(o.C).fill(1);
      if (o.weights === 'per-example') return Array(o.C).fill(Math.exp(rng.normal()));
      // Output c is weighted heavily on one side of x₀ and lightly on the other.
      return Array.from({ length: o.C }, (_, c) => (xi[0] > 0 === (c % 2 === 0) ? 4 : 0.1) * Math.exp(0.3 * rng.normal()));
    });
    return { x, y, w };
  };
  const train = draw(o.N);
  const query = draw(o.Q);
  return {
    dIn: o.dIn,
    C: o.C,
    bias: o.bias ?? true,
    x: train.x,
    y: train.y,
    w: train.w,
    qx: query.x,
    qy: query.y,
    qw: query.w,
    weightsInInputs: o.weights === 'per-example',
  };
}

/** x̃ = [x, 1] (bias) or x. */
function augmented(p: RegressionProblem, x: number[]): number[] {
  return p.bias ? [...x, 1] : x;
}

/**
 * The minimiser of Σ_{n ∈ rows} ℓ_n + (α/2)‖θ‖² (every parameter, bias included): one weighted ridge
 * regression per output, (2 Σ w_nc x̃ x̃ᵀ + α I) θ_c = 2 Σ w_nc y_nc x̃. Returns θ [C][width].
 */
export function ridgeFit(p: RegressionProblem, rows: ArrayLike<number>, alpha: number): number[][] {
  const width = p.dIn + (p.bias ? 1 : 0);
  return Array.from({ length: p.C }, (_, c) => {
    const M = Array.from({ length: width }, (_, i) => Array.from({ length: width }, (_, j) => (i === j ? alpha : 0)));
    const rhs = new Array<number>(width).fill(0);
    for (let r = 0; r < rows.length; r++) {
      const n = rows[r];
      const xt = augmented(p, p.x[n]);
      for (let i = 0; i < width; i++) {
        rhs[i] += 2 * p.w[n][c] * p.y[n][c] * xt[i];
        for (let j = 0; j < width; j++) M[i][j] += 2 * p.w[n][c] * xt[i] * xt[j];
      }
    }
    return solve(M, rhs);
  });
}

/** The weighted losses of the queries under θ. */
export function queryLosses(p: RegressionProblem, theta: number[][]): Float64Array {
  return Float64Array.from(p.qx, (x, q) => {
    const xt = augmented(p, x);
    let loss = 0;
    for (let c = 0; c < p.C; c++) {
      const f = theta[c].reduce((a, v, j) => a + v * xt[j], 0);
      loss += p.qw[q][c] * (f - p.qy[q][c]) ** 2;
    }
    return loss;
  });
}

/** Gaussian elimination with partial pivoting (small dense systems). */
function solve(A: number[][], b: number[]): number[] {
  const n = b.length;
  const M = A.map((row, i) => [...row, b[i]]);
  for (let k = 0; k < n; k++) {
    let pivot = k;
    for (let i = k + 1; i < n; i++) if (Math.abs(M[i][k]) > Math.abs(M[pivot][k])) pivot = i;
    [M[k], M[pivot]] = [M[pivot], M[k]];
    for (let i = k + 1; i < n; i++) {
      const f = M[i][k] / M[k][k];
      for (let j = k; j <= n; j++) M[i][j] -= f * M[k][j];
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let i = n - 1; i >= 0; i--) {
    let s = M[i][n];
    for (let j = i + 1; j < n; j++) s -= M[i][j] * x[j];
    x[i] = s / M[i][i];
  }
  return x;
}

/** The model at θ and the training and query sets as CurvatureData (training in batches of `batchSize`). */
export function regressionModel(
  backend: Backend,
  p: RegressionProblem,
  theta: number[][],
  o: { batchSize?: number; reduction?: Reduction; precision?: 'float32' | 'float64' } = {},
): { model: LayerStack; train: CurvatureData; queries: CurvatureData; dispose(): void } {
  const precision = o.precision ?? 'float64';
  const model = new LayerStack(
    { backend, seed: 0, precision },
    {
      layers: [
        p.bias
          ? { type: 'linear', weight: theta.map((r) => r.slice(0, p.dIn)), bias: theta.map((r) => r[p.dIn]) }
          : { type: 'linear', weight: theta },
      ],
      setting: 'expand',
    },
  );
  const data = (xs: number[][], ys: number[][], ws: number[][], batchSize: number): CurvatureData => {
    const batches = Math.ceil(xs.length / batchSize);
    return {
      batches,
      batch(i) {
        const rows = Array.from({ length: Math.min(batchSize, xs.length - i * batchSize) }, (_, r) => i * batchSize + r);
        const B = rows.length;
        // Per-example weights go into the inputs (the bias column is unaffected, so only without bias is it the same loss);
        // per-output weights scale outputs and targets.
        const inInputs = p.weightsInInputs;
        const xv = rows.flatMap((n) => xs[n].map((v) => (inInputs ? Math.sqrt(ws[n][0]) * v : v)));
        const x = backend.tensor(xv, [B, 1, p.dIn], precision);
        const sw = backend.tensor(
          rows.flatMap((n) => ws[n].map((v) => (inInputs ? 1 : Math.sqrt(v)))),
          [B, 1, p.C],
          precision,
        );
        const scale = (n: number, c: number) => (inInputs ? Math.sqrt(ws[n][0]) : Math.sqrt(ws[n][c]));
        const y = backend.tensor(
          rows.flatMap((n) => ys[n].map((v, c) => scale(n, c) * v)),
          [B, 1, p.C],
          precision,
        );
        return {
          forward: () => ops.mulConstant(model.forward(constant(x)), sw),
          loss: { spec: lossSpec('mse', o.reduction ?? 'sum'), targets: y },
          dispose() {
            x.dispose();
            sw.dispose();
            y.dispose();
          },
        };
      },
    };
  };
  const train = data(p.x, p.y, p.w, o.batchSize ?? p.x.length);
  const queries = data(p.qx, p.qy, p.qw, p.qx.length);
  return {
    model,
    train,
    queries,
    dispose: () => model.dispose(),
  };
}
