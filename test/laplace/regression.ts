// Bayesian linear regression for the Laplace tests (docs/curvature-tools.md §2, the oracle): data, the
// MAP weight in closed form and the exact evidence.
import { Rng } from '../../src/engine/random.ts';
import { choleskyLogDet } from '../../src/engine/tools/marglik/marglik.ts';

/** N = 40, dIn = 3, C = 2 regression data and its MAP weight W = Yᵀ X (XᵀX + σ²δ I)⁻¹ at σ, δ. */
export function regressionProblem(sigma = 0.5, delta = 2, seed = 3) {
  const rng = new Rng(seed);
  const N = 40;
  const X = Array.from({ length: N }, () => [rng.normal(), rng.normal(), rng.normal()]);
  const trueW = [
    [1, -0.5, 0.25],
    [0.3, 0.8, -1.2],
  ];
  const Y = X.map((x) => trueW.map((w) => w[0] * x[0] + w[1] * x[1] + w[2] * x[2] + sigma * rng.normal()));
  return { X, Y, W: mapWeight(X, Y, sigma * sigma * delta) };
}

/** Ridge solution rows w_c = (XᵀX + λI)⁻¹ Xᵀ y_c. */
export function mapWeight(X: number[][], Y: number[][], lambda: number): number[][] {
  const d = X[0].length;
  const M = Array.from({ length: d }, (_, i) =>
    Array.from({ length: d }, (_, j) => X.reduce((s, x) => s + x[i] * x[j], 0) + (i === j ? lambda : 0)),
  );
  return Y[0].map((_, c) =>
    solve(
      M,
      Array.from({ length: d }, (_, i) => X.reduce((s, x, n) => s + x[i] * Y[n][c], 0)),
    ),
  );
}

function solve(M: number[][], rhs: number[]): number[] {
  const n = rhs.length;
  const a = M.map((row, i) => [...row, rhs[i]]);
  for (let k = 0; k < n; k++) {
    let p = k;
    for (let i = k + 1; i < n; i++) if (Math.abs(a[i][k]) > Math.abs(a[p][k])) p = i;
    [a[k], a[p]] = [a[p], a[k]];
    for (let i = k + 1; i < n; i++) {
      const f = a[i][k] / a[k][k];
      for (let j = k; j <= n; j++) a[i][j] -= f * a[k][j];
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let i = n - 1; i >= 0; i--) {
    let s = a[i][n];
    for (let j = i + 1; j < n; j++) s -= a[i][j] * x[j];
    x[i] = s / a[i][i];
  }
  return x;
}

/** Σ_c log N(y_c | 0, σ² I + δ⁻¹ X Xᵀ): the exact evidence of Bayesian linear regression. */
export function closedFormEvidence(X: number[][], Y: number[][], sigma: number, delta: number): number {
  const N = X.length;
  const K = new Float64Array(N * N);
  for (let i = 0; i < N; i++)
    for (let j = 0; j < N; j++) K[i * N + j] = X[i].reduce((s, v, k) => s + v * X[j][k], 0) / delta + (i === j ? sigma * sigma : 0);
  const logDet = choleskyLogDet(K, N);
  const rows = Array.from({ length: N }, (_, i) => Array.from(K.subarray(i * N, (i + 1) * N)));
  let total = 0;
  for (let c = 0; c < Y[0].length; c++) {
    const y = Y.map((r) => r[c]);
    const alpha = solve(rows, y);
    total += -0.5 * y.reduce((s, v, i) => s + v * alpha[i], 0) - 0.5 * logDet - (N / 2) * Math.log(2 * Math.PI);
  }
  return total;
}
