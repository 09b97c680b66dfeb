// The scale of the Kronecker Laplace pipeline (docs/curvature-tools.md §2) against dense float64
// oracles built by hand: the precision of a mean-reduced loss fitted in uneven batches is the GGN of
// the SUMMED loss over all N examples plus δI (not N times smaller, not one batch's), the GLM
// predictive variance and probit NLL follow from it, the online loop fits on all N training
// examples, and on a small MLP the Kronecker predictive variance is of the same order as the one
// of the dense exact GGN.
import { describe, expect, it } from 'vitest';
import { constant } from '../../src/engine/autograd/variable.ts';
import { grad } from '../../src/engine/autograd/backward.ts';
import type { CpuBackend } from '../../src/engine/backend/cpu/cpu-backend.ts';
import { batchList, exactCurvatureMatrix } from '../../src/engine/curvature/toolkit.ts';
import { fitLaplace } from '../../src/engine/laplace/kron-laplace.ts';
import { logMarginalLikelihood } from '../../src/engine/laplace/marglik.ts';
import { trainMarglik } from '../../src/engine/laplace/online.ts';
import { glmPredictive, softmax } from '../../src/engine/laplace/predictive.ts';
import { Mlp } from '../../src/engine/nn/models/mlp.ts';
import { lossSpec } from '../../src/engine/nn/losses.ts';
import { Rng } from '../../src/engine/random.ts';
import { useBackends } from '../helpers/backends.ts';

const b = useBackends();

/** Lower Cholesky factor of an SPD matrix (row-major). */
function cholesky(M: Float64Array, n: number): Float64Array {
  const L = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    let d = M[j * n + j];
    for (let k = 0; k < j; k++) d -= L[j * n + k] ** 2;
    L[j * n + j] = Math.sqrt(d);
    for (let i = j + 1; i < n; i++) {
      let v = M[i * n + j];
      for (let k = 0; k < j; k++) v -= L[i * n + k] * L[j * n + k];
      L[i * n + j] = v / L[j * n + j];
    }
  }
  return L;
}

/** vᵀ M⁻¹ v from M's Cholesky factor. */
function inverseQuadratic(L: Float64Array, n: number, v: ArrayLike<number>): number {
  const z = new Float64Array(n);
  let q = 0;
  for (let i = 0; i < n; i++) {
    let s = v[i];
    for (let k = 0; k < i; k++) s -= L[i * n + k] * z[k];
    z[i] = s / L[i * n + i];
    q += z[i] * z[i];
  }
  return q;
}

/** A tiny float64 MLP (no hidden layer = softmax regression) with data batches of a mean cross-entropy. */
function problem(cpu: CpuBackend, widths: number[], N: number, seed: number, weightScale: number) {
  const rng = new Rng(seed);
  const model = new Mlp({ backend: cpu, seed, precision: 'float64' }, { widths, activation: 'tanh' });
  // Scaled initial weights: 0 makes every H_n equal; large ones spread the softmax so H_n differ.
  for (const p of model.parameters()) {
    const v = Float64Array.from(
      cpu.dataOf(p.variable.value) as Float64Array,
      (w) => w * weightScale + (p.variable.rank === 1 ? 0.3 * weightScale * rng.uniform(-1, 1) : 0),
    );
    p.variable.assign(cpu.tensor(v, p.variable.shape, 'float64'));
  }
  const dIn = widths[0];
  const C = widths[widths.length - 1];
  const X = rng.uniformArray(N * dIn, -2, 2);
  const Y = Int32Array.from({ length: N }, () => Math.floor(rng.uniform(0, C)));
  const batch = (rows: Int32Array) => {
    const x = cpu.tensor(
      Float64Array.from({ length: rows.length * dIn }, (_, k) => X[rows[Math.floor(k / dIn)] * dIn + (k % dIn)]),
      [rows.length, dIn],
      'float64',
    );
    const y = cpu.tensor(
      Int32Array.from(rows, (r) => Y[r]),
      [rows.length],
      'int32',
    );
    return {
      forward: () => model.forward(constant(x)),
      loss: { spec: lossSpec('ce', 'mean'), targets: y },
      dispose: () => {
        x.dispose();
        y.dispose();
      },
    };
  };
  const range = (lo: number, hi: number) => Int32Array.from({ length: hi - lo }, (_, i) => lo + i);
  return { model, X, Y, batch, range, C, dIn };
}

/** f(x) and the Jacobian rows ∂f_c/∂θ [C, n] of one input, in the Laplace layout (per layer [dOut, dIn + 1], bias folded last). */
function jacobian(cpu: CpuBackend, model: Mlp, x: ArrayLike<number>): { f: Float64Array; J: Float64Array[] } {
  const dIn = model.config.widths[0];
  const out = model.forward(constant(cpu.tensor(Float64Array.from(x), [1, dIn], 'float64')));
  const f = Float64Array.from(cpu.dataOf(out.value) as Float64Array);
  const C = f.length;
  const vars = model.layers.flatMap((l) => [l.weight, l.bias!]);
  const n = model.layers.reduce((s, l) => s + l.dOut * (l.dIn + 1), 0);
  const J = Array.from({ length: C }, (_, c) => {
    const seed = new Float64Array(C);
    seed[c] = 1;
    const grads = grad(out, vars, cpu.tensor(seed, [1, C], 'float64')).map((g) => cpu.dataOf(g) as Float64Array);
    const row = new Float64Array(n);
    let offset = 0;
    model.layers.forEach((l, k) => {
      const [W, bias] = [grads[2 * k], grads[2 * k + 1]];
      for (let i = 0; i < l.dOut; i++) {
        for (let j = 0; j < l.dIn; j++) row[offset + i * (l.dIn + 1) + j] = W[i * l.dIn + j];
        row[offset + i * (l.dIn + 1) + l.dIn] = bias[i];
      }
      offset += l.dOut * (l.dIn + 1);
    });
    return row;
  });
  return { f, J };
}

describe('Laplace scale: softmax regression against a dense float64 posterior', () => {
  it('θ = 0 (every H_n equal, so K-FAC is exact): mean loss in uneven batches → P = Σ_n GGN_n + δI; log q, variance and probit NLL by hand', async () => {
    const cpu: CpuBackend = b.cpu;
    const N = 37;
    const { model, X, batch, range, C, dIn } = problem(cpu, [3, 4], N, 1, 0);
    // Three uneven batches of the mean loss: each batch's own c = 1/M_b must not leak into the precision.
    const data = batchList([batch(range(0, 16)), batch(range(16, 32)), batch(range(32, N))]);
    const laplace = await fitLaplace(model, data, { approx: 'expand', fisher: 'type-2', bias: 'folded' });
    try {
      const delta = 0.8;
      const width = dIn + 1;
      const n = C * width;
      // GGN_n of −log p(y_n|x_n) = (x̃ x̃ᵀ) ⊗ H with H = diag(p) − ppᵀ, p = 1/C at θ = 0; layout (i, j) ↦ i·width + j.
      const P = new Float64Array(n * n);
      const H = (i: number, a: number) => (i === a ? 1 / C : 0) - 1 / (C * C);
      for (let e = 0; e < N; e++) {
        const x = [...X.subarray(e * dIn, (e + 1) * dIn), 1];
        for (let i = 0; i < C; i++)
          for (let j = 0; j < width; j++)
            for (let a = 0; a < C; a++) for (let c = 0; c < width; c++) P[(i * width + j) * n + a * width + c] += H(i, a) * x[j] * x[c];
      }
      for (let i = 0; i < n; i++) P[i * n + i] += delta;
      const L = cholesky(P, n);
      let logDet = 0;
      for (let i = 0; i < n; i++) logDet += 2 * Math.log(L[i * n + i]);
      const logLik = -N * Math.log(C);
      const expected = logLik - 0.5 * (logDet - n * Math.log(delta));
      const terms = logMarginalLikelihood(laplace.spectrum, { precision: [delta] });
      expect(Math.abs(terms.logLik - logLik)).toBeLessThan(1e-10 * N);
      expect(Math.abs(terms.logDetPosterior - logDet)).toBeLessThan(1e-9 * Math.abs(logDet));
      expect(Math.abs(terms.logMarglik - expected)).toBeLessThan(1e-9 * Math.abs(expected));
      // The predictive on held-out points: var_c = J_c P⁻¹ J_cᵀ with J_c = e_c ⊗ x̃ (the logits are 0).
      const rng = new Rng(9);
      const T = 5;
      const Xt = rng.uniformArray(T * dIn, -3, 3);
      const Yt = Int32Array.from({ length: T }, (_, t) => t % C);
      const xt = cpu.tensor(Xt, [T, dIn], 'float64');
      const yt = cpu.tensor(Yt, [T], 'int32');
      const test = batchList([{ forward: () => model.forward(constant(xt)), loss: { spec: lossSpec('ce', 'mean'), targets: yt } }]);
      const result = await glmPredictive(laplace, test, { precision: [delta] });
      let nll = 0;
      for (let t = 0; t < T; t++) {
        const x = [...Xt.subarray(t * dIn, (t + 1) * dIn), 1];
        const variance = Array.from({ length: C }, (_, c) => {
          const row = new Float64Array(n);
          for (let j = 0; j < width; j++) row[c * width + j] = x[j];
          return inverseQuadratic(L, n, row);
        });
        for (let c = 0; c < C; c++) expect(Math.abs(result.variance[t * C + c] - variance[c])).toBeLessThan(1e-9 * variance[c]);
        const probs = softmax(variance.map((v, c) => result.logits[t * C + c] / Math.sqrt(1 + (Math.PI / 8) * v)));
        nll -= Math.log(probs[Yt[t]]) / T;
      }
      let toolNll = 0;
      for (let t = 0; t < T; t++) toolNll -= Math.log(result.probit[t * C + Yt[t]]) / T;
      expect(Math.abs(toolNll - nll)).toBeLessThan(1e-10);
      xt.dispose();
      yt.dispose();
    } finally {
      laplace.dispose();
      model.dispose();
    }
  });

  it('trained weights (H_n differ, K-FAC approximates): the Kronecker variance is within a factor 2 of the dense one', async () => {
    const cpu: CpuBackend = b.cpu;
    const N = 40;
    const { model, X, batch, range, C, dIn } = problem(cpu, [3, 4], N, 2, 3);
    const data = batchList([batch(range(0, 25)), batch(range(25, N))]);
    const laplace = await fitLaplace(model, data, { approx: 'expand', fisher: 'type-2', bias: 'folded' });
    try {
      const all = batch(range(0, N));
      const exact = exactCurvatureMatrix(model, all.forward, all.loss, { bias: 'folded' });
      all.dispose();
      const n = exact.size;
      const delta = 0.5;
      // The exact matrix is the curvature of the mean loss: times N, the summed loss's GGN.
      const P = Float64Array.from(exact.values, (v) => v * N);
      for (let i = 0; i < n; i++) P[i * n + i] += delta;
      const L = cholesky(P, n);
      const rng = new Rng(4);
      const T = 6;
      const Xt = rng.uniformArray(T * dIn, -2, 2);
      const xt = cpu.tensor(Xt, [T, dIn], 'float64');
      const yt = cpu.tensor(new Int32Array(T), [T], 'int32');
      const test = batchList([{ forward: () => model.forward(constant(xt)), loss: { spec: lossSpec('ce', 'mean'), targets: yt } }]);
      const result = await glmPredictive(laplace, test, { precision: [delta] });
      let logRatio = 0;
      for (let t = 0; t < T; t++) {
        const { J } = jacobian(cpu, model, Xt.subarray(t * dIn, (t + 1) * dIn));
        for (let c = 0; c < C; c++) logRatio += Math.log(result.variance[t * C + c] / inverseQuadratic(L, n, J[c])) / (T * C);
      }
      expect(Math.abs(logRatio)).toBeLessThan(Math.log(2));
      void X;
      xt.dispose();
      yt.dispose();
    } finally {
      laplace.dispose();
      model.dispose();
    }
  });
});

describe('Laplace scale: a two-layer MLP, Kronecker against the dense exact GGN', () => {
  it('tanh MLP 3-6-3: geometric-mean ratio of the predictive variances within a factor 2', async () => {
    const cpu: CpuBackend = b.cpu;
    const N = 48;
    const { model, batch, range, C, dIn } = problem(cpu, [3, 6, 3], N, 3, 3);
    const data = batchList([batch(range(0, 20)), batch(range(20, N))]);
    const laplace = await fitLaplace(model, data, { approx: 'expand', fisher: 'type-2', bias: 'folded' });
    try {
      const all = batch(range(0, N));
      const exact = exactCurvatureMatrix(model, all.forward, all.loss, { bias: 'folded' });
      all.dispose();
      const n = exact.size;
      const precision = [0.7, 1.3];
      const P = Float64Array.from(exact.values, (v) => v * N);
      exact.layers.forEach((l, k) => {
        for (let i = l.offset; i < l.offset + l.dOut * l.width; i++) P[i * n + i] += precision[k];
      });
      const L = cholesky(P, n);
      const rng = new Rng(5);
      const T = 6;
      const Xt = rng.uniformArray(T * dIn, -2, 2);
      const xt = cpu.tensor(Xt, [T, dIn], 'float64');
      const yt = cpu.tensor(new Int32Array(T), [T], 'int32');
      const test = batchList([{ forward: () => model.forward(constant(xt)), loss: { spec: lossSpec('ce', 'mean'), targets: yt } }]);
      const result = await glmPredictive(laplace, test, { precision });
      let logRatio = 0;
      for (let t = 0; t < T; t++) {
        const { J } = jacobian(cpu, model, Xt.subarray(t * dIn, (t + 1) * dIn));
        for (let c = 0; c < C; c++) logRatio += Math.log(result.variance[t * C + c] / inverseQuadratic(L, n, J[c])) / (T * C);
      }
      expect(Math.abs(logRatio)).toBeLessThan(Math.log(2));
      xt.dispose();
      yt.dispose();
    } finally {
      laplace.dispose();
      model.dispose();
    }
  });
});

describe('Laplace scale: the online loop fits on every training example', () => {
  it('the kept Laplace approximation has s = N and the summed loss of all N examples (not one batch)', async () => {
    const cpu: CpuBackend = b.cpu;
    const N = 30;
    const { model, batch, range } = problem(cpu, [3, 4], N, 6, 1);
    const trained = await trainMarglik({
      model,
      batch,
      examples: N,
      batchSize: 8,
      fitBatchSize: 8,
      epochs: 1,
      seed: 0,
      approx: 'reduce',
      keepBestLaplace: true,
    });
    const laplace = trained.laplace!;
    try {
      expect(laplace.spectrum.curvatureScale).toBeCloseTo(N, 9);
      const all = batch(range(0, N));
      const out = all.forward();
      const f = cpu.dataOf(out.value) as Float64Array;
      const y = cpu.dataOf(all.loss.targets) as Int32Array;
      let sum = 0;
      for (let e = 0; e < N; e++) {
        const p = softmax(f.subarray(e * 4, (e + 1) * 4));
        sum -= Math.log(p[y[e]]);
      }
      all.dispose();
      expect(Math.abs(laplace.spectrum.lossSum - sum)).toBeLessThan(1e-9 * sum);
    } finally {
      laplace.dispose();
      model.dispose();
    }
  });
});
