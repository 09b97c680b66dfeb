// Diagnostic (docs/curvature-tools.md §2): K-FAC-expand and K-FAC-reduce against the dense exact GGN
// on a tiny CNN (conv2-conv4-fc8 on 14×14 MNIST, 482 parameters; float64 reference CPU): online
// marglik training, then the test predictive variance of every layer alone (the others' δ → 10¹²,
// the exact diagonal block) and of all layers, and the probit NLL of each. Shows where reduce's
// mean-patch factor A loses the convolutions' curvature. Run (about 3 minutes):
// node --import tsx --import ./scripts/raw-import-hooks.mjs bench/marglik-diagnostics/cnn-exact.ts [N=200] [epochs=80]
import { CpuBackend } from '../../src/engine/backend/cpu/cpu-backend.ts';
import { loadMnist } from '../../src/engine/data/mnist.ts';
import { Cnn } from '../../src/engine/nn/models/cnn.ts';
import { constant } from '../../src/engine/autograd/variable.ts';
import { grad } from '../../src/engine/autograd/backward.ts';
import { lossSpec } from '../../src/engine/nn/losses.ts';
import { trainMarglik } from '../../src/engine/laplace/online.ts';
import { fitLaplace } from '../../src/engine/laplace/kron-laplace.ts';
import { glmPredictive, softmax } from '../../src/engine/laplace/predictive.ts';
import { classificationMetrics, type ClassificationMetrics } from '../../src/engine/laplace/calibration.ts';
import { batchList, exactCurvatureMatrix } from '../../src/engine/curvature/toolkit.ts';

const N = Number(process.argv[2] ?? 200),
  T = 100,
  epochs = Number(process.argv[3] ?? 80);
const be = new CpuBackend();
const mnist = await loadMnist({ size: 14, normalize: true, trainLimit: N, testLimit: T });
const model = new Cnn(
  { backend: be, seed: 0, precision: 'float64' },
  {
    inChannels: 1,
    height: 14,
    width: 14,
    channels: [2, 4],
    hidden: 8,
    classes: 10,
  },
);
const mk = (imgs: Float32Array, y: Int32Array, rows: Int32Array) => {
  const x = be.tensor(
    Float64Array.from({ length: rows.length * 196 }, (_, k) => imgs[rows[Math.floor(k / 196)] * 196 + (k % 196)]),
    [rows.length, 1, 14, 14],
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
  batch: (rows) => mk(mnist.train.images, mnist.train.labels, rows),
  examples: N,
  batchSize: 50,
  epochs,
  seed: 0,
  lr: 1e-2,
  approx: 'expand',
  fisher: 'mc',
  frequency: 1,
  hyperSteps: 10,
  fitBatchSize: 100,
});
const delta = trained.hyper.precision;
console.log(`tiny CNN N ${N}: trained ${((performance.now() - t0) / 1000).toFixed(1)} s, δ ${delta.map((d) => d.toFixed(3))}`);
const trainData = batchList([mk(mnist.train.images, mnist.train.labels, all(N))]);
const testData = batchList([mk(mnist.test.images, mnist.test.labels, all(T))]);
const fmt = (m: ClassificationMetrics) => `acc ${m.accuracy.toFixed(3)} nll ${m.nll.toFixed(3)} ece ${m.ece.toFixed(3)}`;
const L = 4,
  big = 1e12;
const kron: Record<string, Float64Array[]> = {};
let logits: Float64Array = new Float64Array(0),
  labels: Int32Array = new Int32Array(0);
for (const approx of ['expand', 'reduce'] as const) {
  const lap = await fitLaplace(model, trainData, { approx, fisher: 'type-2', bias: 'folded' });
  const p = await glmPredictive(lap, testData, { precision: delta });
  logits = p.logits;
  labels = p.labels;
  console.log(
    `kron-${approx} (type-2): MAP ${fmt(classificationMetrics(p.map, p.labels, p.C))} | probit ${fmt(classificationMetrics(p.probit, p.labels, p.C))}`,
  );
  kron[approx] = [p.variance];
  for (let l = 0; l < L; l++)
    kron[approx].push((await glmPredictive(lap, testData, { precision: delta.map((d, k) => (k === l ? d : big)) })).variance);
  lap.dispose();
}
const tb = mk(mnist.train.images, mnist.train.labels, all(N));
const t1 = performance.now();
const exact = exactCurvatureMatrix(model, tb.forward, tb.loss, { bias: 'folded' });
const n = exact.size;
const G = Float64Array.from(exact.values, (v) => v * N);
console.log(
  `exact GGN ${n} params in ${((performance.now() - t1) / 1000).toFixed(1)} s: ${exact.layers.map((l) => `${l.name} ${l.dOut}×${l.width}`)}`,
);
const layers = [model.conv1, model.conv2, model.fc1, model.fc2];
const vars = layers.flatMap((l) => [l.weight, l.bias!]);
const J = new Float64Array(T * 10 * n);
for (let e = 0; e < T; e++) {
  const x = be.tensor(Float64Array.from(mnist.test.images.subarray(e * 196, (e + 1) * 196)), [1, 1, 14, 14], 'float64');
  const f = model.forward(constant(x));
  for (let c = 0; c < 10; c++) {
    const seed = new Float64Array(10);
    seed[c] = 1;
    const gs = grad(f, vars, be.tensor(seed, [1, 10], 'float64')).map((g) => be.dataOf(g) as Float64Array);
    exact.layers.forEach((l, k) => {
      const W = gs[2 * k],
        b = gs[2 * k + 1],
        dIn = l.width - 1;
      for (let i = 0; i < l.dOut; i++) {
        for (let j = 0; j < dIn; j++) J[(e * 10 + c) * n + l.offset + i * l.width + j] = W[i * dIn + j];
        J[(e * 10 + c) * n + l.offset + i * l.width + dIn] = b[i];
      }
    });
  }
}
function chol(M: Float64Array, m: number) {
  const Lm = new Float64Array(m * m);
  for (let j = 0; j < m; j++) {
    let d = M[j * m + j];
    for (let k = 0; k < j; k++) d -= Lm[j * m + k] ** 2;
    Lm[j * m + j] = Math.sqrt(d);
    for (let i = j + 1; i < m; i++) {
      let v = M[i * m + j];
      for (let k = 0; k < j; k++) v -= Lm[i * m + k] * Lm[j * m + k];
      Lm[i * m + j] = v / Lm[j * m + j];
    }
  }
  return Lm;
}
function quad(Lm: Float64Array, m: number, v: ArrayLike<number>) {
  const z = new Float64Array(m);
  let q = 0;
  for (let i = 0; i < m; i++) {
    let s = v[i];
    for (let k = 0; k < i; k++) s -= Lm[i * m + k] * z[k];
    z[i] = s / Lm[i * m + i];
    q += z[i] * z[i];
  }
  return q;
}
const ends = exact.layers.map((l) => [l.offset, l.offset + l.dOut * l.width]);
const denseVar = (only: number | null) => {
  const idx: number[] = [];
  ends.forEach(([a, b], k) => {
    if (only === null || only === k) for (let i = a; i < b; i++) idx.push(i);
  });
  const m = idx.length;
  const P = new Float64Array(m * m);
  idx.forEach((i, a) => idx.forEach((j, bb) => (P[a * m + bb] = G[i * n + j])));
  idx.forEach((i, a) => {
    const k = ends.findIndex(([lo, hi]) => i >= lo && i < hi);
    P[a * m + a] += delta[k];
  });
  const Lm = chol(P, m);
  const v = new Float64Array(T * 10);
  for (let r = 0; r < T * 10; r++)
    v[r] = quad(
      Lm,
      m,
      idx.map((i) => J[r * n + i]),
    );
  return v;
};
const mean = (v: Float64Array) => v.reduce((a, b) => a + b, 0) / v.length;
const geo = (a: Float64Array, b: Float64Array) => {
  let s = 0;
  let m = 0;
  for (let i = 0; i < a.length; i++)
    if (b[i] > 1e-9) {
      s += Math.log(a[i] / b[i]);
      m++;
    }
  return Math.exp(s / m);
};
const full = denseVar(null);
const probs = new Float64Array(T * 10);
for (let e = 0; e < T; e++)
  probs.set(
    softmax(Array.from(logits.subarray(e * 10, e * 10 + 10), (f, c) => f / Math.sqrt(1 + (Math.PI / 8) * full[e * 10 + c]))),
    e * 10,
  );
console.log(`exact GGN (full) probit ${fmt(classificationMetrics(probs, labels, 10))}`);
console.log(
  `all layers: mean var exact ${mean(full).toExponential(2)}, kron-expand ${mean(kron.expand[0]).toExponential(2)} (geo ratio ${geo(kron.expand[0], full).toFixed(2)}), kron-reduce ${mean(kron.reduce[0]).toExponential(2)} (geo ratio ${geo(kron.reduce[0], full).toFixed(2)})`,
);
for (let l = 0; l < L; l++) {
  const v = denseVar(l);
  console.log(
    `only ${exact.layers[l].name}: exact block ${mean(v).toExponential(2)}, expand ${mean(kron.expand[l + 1]).toExponential(2)} (×${geo(kron.expand[l + 1], v).toFixed(2)}), reduce ${mean(kron.reduce[l + 1]).toExponential(2)} (×${geo(kron.reduce[l + 1], v).toFixed(2)})`,
  );
}
process.exit(0);
