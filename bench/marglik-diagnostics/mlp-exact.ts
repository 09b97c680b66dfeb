// Diagnostic (docs/curvature-tools.md §2): Kronecker against the dense exact GGN on a small MLP
// (49-H-10 tanh on the first N 14×14 MNIST images average-pooled to 7×7; float64 reference CPU):
// online marglik training, then at the learned δ the test predictive of kron (type-2 and MC Fisher),
// of the full exact GGN and of its block diagonal (the geometric-mean ratio of the predictive
// variances), log q of kron and of the full GGN against a common δ multiplier, and the MAP model's
// temperature scaling. Run: node --import tsx --import ./scripts/raw-import-hooks.mjs
// bench/marglik-diagnostics/mlp-exact.ts [N=300] [H=16] [epochs=40]
import { CpuBackend } from '../../src/engine/backend/cpu/cpu-backend.ts';
import { loadMnist } from '../../src/engine/data/mnist.ts';
import { Mlp } from '../../src/engine/nn/models/mlp.ts';
import { constant } from '../../src/engine/autograd/variable.ts';
import { grad } from '../../src/engine/autograd/backward.ts';
import { lossSpec } from '../../src/engine/nn/losses.ts';
import { trainMarglik } from '../../src/engine/laplace/online.ts';
import { fitLaplace } from '../../src/engine/laplace/kron-laplace.ts';
import { glmPredictive, softmax } from '../../src/engine/laplace/predictive.ts';
import { logMarginalLikelihood, optimizeHyperparameters } from '../../src/engine/laplace/marglik.ts';
import { classificationMetrics, type ClassificationMetrics } from '../../src/engine/laplace/calibration.ts';
import { batchList, exactCurvatureMatrix } from '../../src/engine/curvature/toolkit.ts';

const N = Number(process.argv[2] ?? 300),
  T = 200,
  H = Number(process.argv[3] ?? 16),
  epochs = Number(process.argv[4] ?? 40);
const be = new CpuBackend();
const mnist = await loadMnist({ size: 14, normalize: true, trainLimit: N, testLimit: T });
const pool = (imgs: Float32Array, n: number) => {
  const out = new Float64Array(n * 49);
  for (let i = 0; i < n; i++)
    for (let r = 0; r < 7; r++)
      for (let c = 0; c < 7; c++) {
        let s = 0;
        for (const [a, b] of [
          [0, 0],
          [0, 1],
          [1, 0],
          [1, 1],
        ])
          s += imgs[i * 196 + (2 * r + a) * 14 + 2 * c + b];
        out[i * 49 + r * 7 + c] = s / 4;
      }
  return out;
};
const Xtr = pool(mnist.train.images, N),
  Xte = pool(mnist.test.images, T);
const model = new Mlp({ backend: be, seed: 0, precision: 'float64' }, { widths: [49, H, 10], activation: 'tanh' });
const mk = (X: Float64Array, y: Int32Array, rows: Int32Array) => {
  const x = be.tensor(
    Float64Array.from({ length: rows.length * 49 }, (_, k) => X[rows[Math.floor(k / 49)] * 49 + (k % 49)]),
    [rows.length, 49],
    'float64',
  );
  const t = be.tensor(
    Int32Array.from(rows, (r) => y[r]),
    [rows.length],
    'int32',
  );
  return {
    forward: () => model.forward(constant(x)),
    loss: { spec: lossSpec('ce', 'mean'), targets: t },
    dispose() {
      x.dispose();
      t.dispose();
    },
  };
};
const all = (n: number) => Int32Array.from({ length: n }, (_, i) => i);
const t0 = performance.now();
const trained = await trainMarglik({
  model,
  batch: (rows) => mk(Xtr, mnist.train.labels, rows),
  examples: N,
  batchSize: 50,
  epochs,
  seed: 0,
  lr: 3e-3,
  approx: 'expand',
  fisher: 'mc',
  frequency: 1,
  hyperSteps: 10,
  fitBatchSize: 100,
});
console.log(
  `N ${N} H ${H}: trained ${((performance.now() - t0) / 1000).toFixed(1)} s, δ (MC fits) ${trained.hyper.precision.map((d) => d.toFixed(3))}`,
);
/** The type-2 kron predictive, compared below with the dense ones. */
const kept: { kronVar: Float64Array; logits: Float64Array; labels: Int32Array } = {
  kronVar: new Float64Array(0),
  logits: new Float64Array(0),
  labels: new Int32Array(0),
};
const trainData = batchList([mk(Xtr, mnist.train.labels, all(N))]);
const testData = batchList([mk(Xte, mnist.test.labels, all(T))]);
const fmt = (m: ClassificationMetrics) => `acc ${m.accuracy.toFixed(3)} nll ${m.nll.toFixed(3)} ece ${m.ece.toFixed(3)}`;
for (const fisher of ['type-2', 'mc'] as const) {
  const lap = await fitLaplace(model, trainData, { approx: 'expand', fisher, bias: 'folded', mcSamples: 1 });
  const opt = optimizeHyperparameters(lap.spectrum, { precision: [1, 1] }, { steps: 500, lr: 0.05 });
  const hyper = trained.hyper;
  const p = await glmPredictive(lap, testData, hyper);
  console.log(
    `kron ${fisher}: log q at trained δ ${logMarginalLikelihood(lap.spectrum, hyper).logMarglik.toFixed(2)}; δ* (500 Adam steps) ${opt.hyper.precision.map((d) => d.toFixed(3))} log q* ${opt.terms.logMarglik.toFixed(2)}`,
  );
  console.log(
    `  MAP ${fmt(classificationMetrics(p.map, p.labels, p.C))} | probit ${fmt(classificationMetrics(p.probit, p.labels, p.C))} | mean var ${(p.variance.reduce((a, b) => a + b, 0) / p.variance.length).toExponential(3)}`,
  );
  if (fisher === 'type-2') {
    kept.kronVar = p.variance;
    kept.logits = p.logits;
    kept.labels = p.labels;
  }
  lap.dispose();
}
// dense exact GGN of the summed loss
const tb = mk(Xtr, mnist.train.labels, all(N));
const exact = exactCurvatureMatrix(model, tb.forward, tb.loss, { bias: 'folded' });
const n = exact.size;
const G = Float64Array.from(exact.values, (v) => v * N);
console.log(`exact GGN: ${n} params, layers ${exact.layers.map((l) => `${l.name}@${l.offset} ${l.dOut}×${l.width}`)}`);
// test Jacobians [T, C, n] in the same layout (folded bias = column dIn)
const params = model.layers.map((l) => [l.weight, l.bias!]);
const Jt = new Float64Array(T * 10 * n);
for (let e = 0; e < T; e++) {
  const x = be.tensor(Xte.subarray(e * 49, (e + 1) * 49), [1, 49], 'float64');
  const f = model.forward(constant(x));
  for (let c = 0; c < 10; c++) {
    const seed = new Float64Array(10);
    seed[c] = 1;
    const gs = grad(f, params.flat(), be.tensor(seed, [1, 10], 'float64'));
    const vals = await Promise.all(gs.map((g) => g.read()));
    exact.layers.forEach((l, k) => {
      const W = vals[2 * k],
        b = vals[2 * k + 1];
      const dIn = l.width - 1;
      for (let i = 0; i < l.dOut; i++) {
        for (let j = 0; j < dIn; j++) Jt[(e * 10 + c) * n + l.offset + i * l.width + j] = W[i * dIn + j];
        Jt[(e * 10 + c) * n + l.offset + i * l.width + dIn] = b[i];
      }
    });
  }
}
function chol(M: Float64Array, m: number) {
  const L = Float64Array.from(M);
  for (let j = 0; j < m; j++) {
    let d = L[j * m + j];
    for (let k = 0; k < j; k++) d -= L[j * m + k] ** 2;
    const r = Math.sqrt(d);
    L[j * m + j] = r;
    for (let i = j + 1; i < m; i++) {
      let v = L[i * m + j];
      for (let k = 0; k < j; k++) v -= L[i * m + k] * L[j * m + k];
      L[i * m + j] = v / r;
    }
  }
  return L;
}
function solveVar(L: Float64Array, m: number, v: Float64Array) {
  const z = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    let s = v[i];
    for (let k = 0; k < i; k++) s -= L[i * m + k] * z[k];
    z[i] = s / L[i * m + i];
  }
  let q = 0;
  for (const t of z) q += t * t;
  return q;
}
const evalDense = (label: string, blockDiag: boolean, precision: number[]) => {
  const P = Float64Array.from(G);
  const layerOf = (i: number) =>
    exact.layers.findIndex((l, k) => i >= l.offset && (k + 1 === exact.layers.length || i < exact.layers[k + 1].offset));
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (blockDiag && layerOf(i) !== layerOf(j)) P[i * n + j] = 0;
  for (let i = 0; i < n; i++) P[i * n + i] += precision[layerOf(i)];
  const L = chol(P, n);
  let logdet = 0;
  for (let i = 0; i < n; i++) logdet += 2 * Math.log(L[i * n + i]);
  const v = new Float64Array(T * 10);
  for (let r = 0; r < T * 10; r++) v[r] = solveVar(L, n, Jt.subarray(r * n, (r + 1) * n));
  const logits = kept.logits;
  const probs = new Float64Array(T * 10);
  for (let e = 0; e < T; e++)
    probs.set(
      softmax(Array.from(logits.subarray(e * 10, e * 10 + 10), (f, c) => f / Math.sqrt(1 + (Math.PI / 8) * v[e * 10 + c]))),
      e * 10,
    );
  const kv = kept.kronVar;
  let ratio = 0;
  for (let r = 0; r < T * 10; r++) ratio += Math.log(kv[r] / v[r]) / (T * 10);
  console.log(
    `${label}: log det P ${logdet.toFixed(2)} | probit ${fmt(classificationMetrics(probs, kept.labels, 10))} | mean var ${(v.reduce((a, b) => a + b, 0) / v.length).toExponential(3)} | geo-mean kron/dense var ${Math.exp(ratio).toFixed(3)}`,
  );
};
evalDense('full GGN  @trained δ', false, trained.hyper.precision);
{
  const lap = await fitLaplace(model, trainData, { approx: 'expand', fisher: 'type-2', bias: 'folded' });
  const terms = logMarginalLikelihood(lap.spectrum, trained.hyper);
  for (const mult of [0.25, 0.5, 1, 2, 4, 8]) {
    const prec = trained.hyper.precision.map((d) => d * mult);
    const P = Float64Array.from(G);
    const layerOf = (i: number) =>
      exact.layers.findIndex((l, k) => i >= l.offset && (k + 1 === exact.layers.length || i < exact.layers[k + 1].offset));
    for (let i = 0; i < n; i++) P[i * n + i] += prec[layerOf(i)];
    const Lc = chol(P, n);
    let logdet = 0;
    for (let i = 0; i < n; i++) logdet += 2 * Math.log(Lc[i * n + i]);
    const kt = logMarginalLikelihood(lap.spectrum, { precision: prec });
    const fullQ = kt.logLik - 0.5 * (logdet - kt.logDetPrior + kt.scatter);
    console.log(`δ×${mult}: log q kron ${kt.logMarglik.toFixed(2)} full ${fullQ.toFixed(2)}`);
  }
  void terms;
  const logits = kept.logits;
  const labels = kept.labels;
  for (const Tm of [0.8, 1, 1.25, 1.5]) {
    const pr = new Float64Array(T * 10);
    for (let e = 0; e < T; e++) pr.set(softmax(Array.from(logits.subarray(e * 10, e * 10 + 10), (f) => f / Tm)), e * 10);
    console.log(`MAP temperature ${Tm}: ${fmt(classificationMetrics(pr, labels, 10))}`);
  }
}
evalDense('block GGN @trained δ', true, trained.hyper.precision);
process.exit(0);
