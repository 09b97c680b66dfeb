// Diagnostic of the Laplace predictive on cnn-mnist (docs/curvature-tools.md §2, "Why the Laplace
// predictive does not beat the MAP here"): online marglik training exactly as the benchmark runs it
// (one flavour, 10 epochs, 4,096 images, WASM), then on 512 test images: the MAP model's calibration
// (mean confidence vs accuracy, temperature scaling), the probit and MC GLM predictive at the learned
// δ, a post-hoc sweep of δ × 0.1 … 10⁴, each layer's share of the predictive variance and the
// training-set metrics. Run: node --import tsx --import ./scripts/raw-import-hooks.mjs
// bench/marglik-diagnostics/delta-sweep.ts expand|reduce [epochs]
import { createBackend } from '../../src/engine/backend/create-backend.ts';
import { loadTask } from '../../src/engine/lab/tasks.ts';
import { trainMarglik } from '../../src/engine/laplace/online.ts';
import { glmPredictive, softmax } from '../../src/engine/laplace/predictive.ts';
import { classificationMetrics, type ClassificationMetrics } from '../../src/engine/laplace/calibration.ts';
import type { CurvatureData } from '../../src/engine/curvature/data.ts';

const approx = (process.argv[2] ?? 'expand') as 'expand' | 'reduce';
const epochs = Number(process.argv[3] ?? 10);
const backend = await createBackend({ prefer: 'wasm' });
console.log('backend', backend.name);
const loaded = await loadTask('cnn-mnist');
const placed = loaded.place(backend);
const model = placed.buildModel(0);
const t0 = performance.now();
const trained = await trainMarglik({
  model,
  batch: (rows) => placed.batch(model, rows),
  examples: loaded.trainSize,
  batchSize: 64,
  epochs,
  seed: 0,
  lr: 1e-3,
  approx,
  fisher: 'mc',
  frequency: 1,
  hyperSteps: 10,
  fitBatchSize: 256,
  keepBestLaplace: true,
});
console.log(
  'trained',
  ((performance.now() - t0) / 1000).toFixed(1),
  's; N',
  loaded.trainSize,
  'layers',
  trained.layers,
  'delta',
  trained.hyper.precision.map((d) => d.toFixed(3)),
);
const lap = trained.laplace!;
console.log('curvatureScale s =', lap.spectrum.curvatureScale, 'lossSum', lap.spectrum.lossSum);
for (const l of lap.spectrum.layers) {
  const w = Array.from(l.weightSpectrum).sort((a, b) => b - a);
  const s = lap.spectrum.curvatureScale;
  const q = (p: number) => (s * w[Math.floor(p * (w.length - 1))]).toExponential(2);
  console.log(
    `layer ${l.name}: n=${l.params} |θ|²=${l.squaredNorm.toFixed(2)} s·eig max ${q(0)} p10 ${q(0.1)} p50 ${q(0.5)} p90 ${q(0.9)}`,
  );
}
const heldOut = (n: number, train: boolean): CurvatureData => ({
  batches: Math.ceil(n / 256),
  batch: (i) => {
    const rows = Int32Array.from({ length: Math.min(256, n - i * 256) }, (_, k) => i * 256 + k);
    return train ? placed.batch(model, rows) : placed.validationBatch!(model, rows);
  },
});
const fmt = (m: ClassificationMetrics) => `acc ${m.accuracy.toFixed(3)} nll ${m.nll.toFixed(3)} ece ${m.ece.toFixed(3)}`;
const base = trained.hyper.precision;
{
  const p = await glmPredictive(lap, heldOut(512, false), { precision: base });
  const conf = (probs: Float64Array) => {
    let c = 0;
    for (let n = 0; n < p.N; n++) c += Math.max(...probs.subarray(n * p.C, (n + 1) * p.C)) / p.N;
    return c;
  };
  console.log(
    `MAP mean confidence ${conf(p.map).toFixed(3)} vs accuracy ${classificationMetrics(p.map, p.labels, p.C).accuracy.toFixed(3)}; probit mean confidence ${conf(p.probit).toFixed(3)}`,
  );
  for (const T of [0.7, 0.8, 0.9, 1, 1.1, 1.25, 1.5, 2]) {
    const probs = new Float64Array(p.N * p.C);
    for (let n = 0; n < p.N; n++) probs.set(softmax(Array.from(p.logits.subarray(n * p.C, (n + 1) * p.C), (f) => f / T)), n * p.C);
    console.log(`  temperature ${T}: test ${fmt(classificationMetrics(probs, p.labels, p.C))}`);
  }
}
for (const mult of [0.1, 1, 10, 30, 100, 300, 1000, 1e4]) {
  const hyper = { precision: base.map((d) => d * mult) };
  const p = await glmPredictive(lap, heldOut(512, false), hyper, { mcSamples: mult === 1 ? 200 : 0 });
  const meanVar = p.variance.reduce((a, b) => a + b, 0) / p.variance.length;
  console.log(
    `δ×${mult}: test MAP ${fmt(classificationMetrics(p.map, p.labels, p.C))} | probit ${fmt(classificationMetrics(p.probit, p.labels, p.C))}` +
      (p.mc ? ` | MC ${fmt(classificationMetrics(p.mc, p.labels, p.C))}` : '') +
      ` | mean var ${meanVar.toExponential(2)}`,
  );
}
// per-layer variance contribution at learned δ: others pinned
for (let k = 0; k < base.length; k++) {
  const hyper = { precision: base.map((d, j) => (j === k ? d : 1e12)) };
  const p = await glmPredictive(lap, heldOut(256, false), hyper);
  const meanVar = p.variance.reduce((a, b) => a + b, 0) / p.variance.length;
  console.log(
    `only layer ${trained.layers[k]}: mean var ${meanVar.toExponential(2)} probit ${fmt(classificationMetrics(p.probit, p.labels, p.C))}`,
  );
}
const pt = await glmPredictive(lap, heldOut(512, true), { precision: base });
console.log(
  `train 512: MAP ${fmt(classificationMetrics(pt.map, pt.labels, pt.C))} probit ${fmt(classificationMetrics(pt.probit, pt.labels, pt.C))}`,
);
process.exit(0);
