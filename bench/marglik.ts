// `npm run bench -- marglik [--backend wasm|cpu|webgpu] [--epochs 10] [--fit-examples 256]`
// (docs/curvature-tools.md §2): the seed paper's claim that K-FAC-reduce makes marginal-likelihood
// hyperparameter learning cheaper, in two parts.
// 1. Time per Kronecker Laplace fit (the K-FAC fit with an MC Fisher, the eigendecompositions of every
//    factor, the summed loss and the norms: everything one step of the online algorithm fits),
//    expand vs reduce, as the weight-sharing size R grows: a tiny ViT on MNIST padded to 32×32 with
//    patches of 8, 4 and 2 (R = 16, 64, 256 tokens in every transformer linear layer) and a CNN with
//    global average pooling (GapCnn below) on MNIST average-pooled to 4×4, 8×8 and 16×16 (R = 16,
//    64, 256 positions in both convolutions). Untrained models (the cost does not depend on the
//    weights), `--fit-examples` MNIST training images in batches of 128, medians of interleaved runs.
// 2. End to end on cnn-mnist: online marglik training with each flavour (Adam lr 1e-3, δ_l from 1,
//    F = 1, K = 10, MC Fisher) against Adam with L2 weight decay chosen by validation NLL on a grid
//    (WEIGHT_DECAY_GRID, 512 training images held out), all for the same epochs from the same
//    initial weights; test accuracy, NLL and ECE of the MAP models and of the Laplace predictive.
// Writes bench/results/marglik.{json,md}.
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { constant } from '../src/engine/autograd/variable.ts';
import type { Backend } from '../src/engine/backend/backend.ts';
import { createBackend } from '../src/engine/backend/create-backend.ts';
import type { CurvatureData, KfacApprox } from '../src/engine/curvature/toolkit.ts';
import { loadMnist } from '../src/engine/data/mnist.ts';
import { fitLaplace } from '../src/engine/laplace/kron-laplace.ts';
import {
  runMarglik,
  runWeightDecayGrid,
  WEIGHT_DECAY_GRID,
  type GridRunResult,
  type MarglikRunResult,
} from '../src/engine/tools/marglik/experiment.ts';
import { paddedImages, SCALING_CASES } from '../src/engine/tools/marglik/fit-scaling.ts';
import { lossSpec } from '../src/engine/nn/losses.ts';
import { timeInterleaved } from './timing.ts';

interface FitRow {
  model: string;
  R: number;
  approx: KfacApprox;
  fitMs: number;
}

interface TrainingRow {
  method: 'marglik-expand' | 'marglik-reduce' | 'wd-grid';
  testAccuracy: number;
  testNll: number;
  testEce: number;
  laplaceNll: number | null;
  laplaceEce: number | null;
  totalSeconds: number;
}

const FIT_BATCH = 128;

/** A fit's parts (ms), medians over the timed runs: summed-loss pass, K-FAC factor pass, eigendecompositions. */
interface FitParts {
  model: string;
  R: number;
  approx: KfacApprox;
  lossMs: number;
  factorsMs: number;
  eigenMs: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function fitTimes(backend: Backend, examples: number, parts: FitParts[]): Promise<FitRow[]> {
  const mnist = await loadMnist({ size: 28, normalize: true, trainLimit: examples });
  const rows: FitRow[] = [];
  console.log(`\nTime per Kronecker Laplace fit (${examples} images, batches of ${FIT_BATCH}, MC Fisher), median ms`);
  console.log('| model | R | expand | reduce | reduce / expand |');
  console.log('| --- | --: | --: | --: | --: |');
  for (const c of SCALING_CASES) {
    const model = c.build(backend);
    const x = paddedImages(mnist.train.images, examples, c.size);
    const data: CurvatureData = {
      batches: Math.ceil(examples / FIT_BATCH),
      batch: (i) => {
        const n = Math.min(FIT_BATCH, examples - i * FIT_BATCH);
        const xs = backend.tensor(x.subarray(i * FIT_BATCH * c.size * c.size, (i * FIT_BATCH + n) * c.size * c.size), [
          n,
          1,
          c.size,
          c.size,
        ]);
        const ys = backend.tensor(mnist.train.labels.subarray(i * FIT_BATCH, i * FIT_BATCH + n), [n], 'int32');
        return {
          forward: () => model.forward(constant(xs)),
          loss: { spec: lossSpec('ce', 'mean'), targets: ys },
          dispose() {
            xs.dispose();
            ys.dispose();
          },
        };
      },
    };
    const seen: Record<KfacApprox, { loss: number; factors: number; eigen: number }[]> = { expand: [], reduce: [] };
    const fit = (approx: KfacApprox) => async () => {
      const laplace = await fitLaplace(model, data, { approx, fisher: 'mc', seed: 1 });
      seen[approx].push(laplace.partsMs);
      laplace.dispose();
    };
    const [expand, reduce] = await timeInterleaved([fit('expand'), fit('reduce')]);
    model.dispose();
    rows.push({ model: c.model, R: c.R, approx: 'expand', fitMs: expand }, { model: c.model, R: c.R, approx: 'reduce', fitMs: reduce });
    for (const approx of ['expand', 'reduce'] as const) {
      const timed = seen[approx].slice(1); // the first run is timeInterleaved's warm-up
      parts.push({
        model: c.model,
        R: c.R,
        approx,
        lossMs: median(timed.map((p) => p.loss)),
        factorsMs: median(timed.map((p) => p.factors)),
        eigenMs: median(timed.map((p) => p.eigen)),
      });
    }
    console.log(`| ${c.model} | ${c.R} | ${expand.toFixed(0)} | ${reduce.toFixed(0)} | ${(reduce / expand).toFixed(2)} |`);
  }
  return rows;
}

export async function runMarglikBench(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: { backend: { type: 'string' }, epochs: { type: 'string' }, 'fit-examples': { type: 'string' }, skip: { type: 'string' } },
  });
  const prefer = (values.backend ?? 'wasm') as 'wasm' | 'cpu' | 'webgpu';
  const epochs = Number(values.epochs ?? 10);
  const fitExamples = Number(values['fit-examples'] ?? 256);
  const skip = new Set((values.skip ?? '').split(',').filter(Boolean));
  const backend = await createBackend({ prefer, requireWebGPU: prefer === 'webgpu' });
  const device = `${backend.info.summary}, Node ${process.version}`;
  console.log(`device: ${device}`);
  const started = performance.now();
  try {
    const training: TrainingRow[] = [];
    const runs: Record<string, MarglikRunResult | GridRunResult> = {};
    if (!skip.has('training')) {
      const common = { task: 'cnn-mnist' as const, epochs, seed: 0, lr: 1e-3 };
      for (const approx of ['expand', 'reduce'] as const) {
        console.log(`\nmarglik training, K-FAC-${approx} (${epochs} epochs)…`);
        const r = await runMarglik(backend, {
          ...common,
          approx,
          onProgress: (p) => {
            if (p.phase === 'fit')
              console.log(`  epoch ${p.fit.epoch}: log marglik ${p.fit.terms.logMarglik.toFixed(1)}, fit ${p.fit.fitMs.toFixed(0)} ms`);
          },
        });
        runs[`marglik-${approx}`] = r;
        training.push({
          method: `marglik-${approx}`,
          testAccuracy: r.test.map.accuracy,
          testNll: r.test.map.nll,
          testEce: r.test.map.ece,
          laplaceNll: r.test.laplace.nll,
          laplaceEce: r.test.laplace.ece,
          totalSeconds: r.totalSeconds,
        });
      }
      console.log(`\nweight-decay grid ${JSON.stringify(WEIGHT_DECAY_GRID)} (${epochs} epochs each)…`);
      const g = await runWeightDecayGrid(backend, {
        ...common,
        onProgress: (p) => {
          if (p.phase === 'grid' && p.step === 0) console.log(`  weight decay ${p.weightDecay} (${p.index + 1}/${p.count})`);
        },
      });
      runs['wd-grid'] = g;
      training.push({
        method: 'wd-grid',
        testAccuracy: g.test.accuracy,
        testNll: g.test.nll,
        testEce: g.test.ece,
        laplaceNll: null,
        laplaceEce: null,
        totalSeconds: g.totalSeconds,
      });
    }
    // The fits run after the training. (They once had to: the large ViT fits push the WASM heap past
    // 2 GiB, where the backend's JavaScript side used to index memory with a signed shift and corrupt
    // later tensors; fixed in wasm-heap.ts, test/kernels/wasm-memory.test.ts.)
    const fitParts: FitParts[] = [];
    const fits = skip.has('fits') ? [] : await fitTimes(backend, fitExamples, fitParts);
    const out = {
      device,
      date: new Date().toISOString(),
      settings: {
        fitExamples,
        fitBatch: FIT_BATCH,
        fisher: 'mc (one sampled label per example)',
        training: { task: 'cnn-mnist', epochs, batchSize: 64, lr: 1e-3, frequency: 1, hyperSteps: 10, hyperLr: 0.1, initialPrecision: 1 },
        grid: WEIGHT_DECAY_GRID,
      },
      fits,
      fitParts,
      training,
      runs: Object.fromEntries(
        Object.entries(runs).map(([k, r]) => [
          k,
          'fits' in r
            ? {
                layers: r.layers,
                precision: r.precision,
                bestEpoch: r.best.epoch,
                logMarglik: r.best.terms.logMarglik,
                fitMsMean: r.fitMsMean,
                logMarglikByEpoch: r.fits.map((f) => f.terms.logMarglik),
                precisionByEpoch: r.fits.map((f) => f.precision),
                test: { map: strip(r.test.map), laplace: strip(r.test.laplace) },
              }
            : {
                grid: r.grid,
                chosen: r.chosen,
                trainExamples: r.trainExamples,
                validationExamples: r.validationExamples,
                test: strip(r.test),
              },
        ]),
      ),
      totalSeconds: (performance.now() - started) / 1000,
    };
    mkdirSync('bench/results', { recursive: true });
    writeFileSync('bench/results/marglik.json', `${JSON.stringify(out, null, 2)}\n`);
    writeFileSync(
      'bench/results/marglik.md',
      markdown(out.device, out.date, fits, fitParts, training, out.runs as Record<string, unknown>, epochs, fitExamples),
    );
    console.log('\nwrote bench/results/marglik.json and bench/results/marglik.md');
  } finally {
    backend.destroy();
  }
}

function strip<T extends { bins?: unknown }>(m: T): Omit<T, 'bins'> {
  const { bins: _bins, ...rest } = m;
  void _bins;
  return rest;
}

function markdown(
  device: string,
  date: string,
  fits: FitRow[],
  parts: FitParts[],
  training: TrainingRow[],
  runs: Record<string, unknown>,
  epochs: number,
  fitExamples: number,
): string {
  const f = (x: number | null, d = 3) => (x === null ? '—' : x.toFixed(d));
  const lines = [`# Laplace and the marginal likelihood (\`npm run bench -- marglik\`)`, '', `Device: ${device}. Date: ${date}.`, ''];
  if (fits.length) {
    lines.push(`## Time per Kronecker Laplace fit (${fitExamples} MNIST images, batches of ${FIT_BATCH}, MC Fisher; median ms)`, '');
    lines.push('| model | R | expand | reduce | reduce / expand |', '| --- | --: | --: | --: | --: |');
    for (let i = 0; i < fits.length; i += 2) {
      const [e, r] = [fits[i], fits[i + 1]];
      lines.push(`| ${e.model} | ${e.R} | ${f(e.fitMs, 0)} | ${f(r.fitMs, 0)} | ${f(r.fitMs / e.fitMs, 2)} |`);
    }
    lines.push(
      '',
      'Where the time goes (median ms): the summed-loss pass, the K-FAC factor pass (forward, MC backward, factors) and the eigendecompositions, the same for both flavours except the factor pass.',
      '',
    );
    lines.push('| model | R | approx | loss pass | factor pass | eigendecompositions |', '| --- | --: | --- | --: | --: | --: |');
    for (const p of parts)
      lines.push(`| ${p.model} | ${p.R} | ${p.approx} | ${f(p.lossMs, 0)} | ${f(p.factorsMs, 0)} | ${f(p.eigenMs, 0)} |`);
    lines.push('');
  }
  if (training.length) {
    lines.push(`## End to end on cnn-mnist (${epochs} epochs each, same initial weights; test = 512 held-out MNIST images)`, '');
    lines.push(
      '| method | test accuracy | MAP NLL | MAP ECE | Laplace NLL | Laplace ECE | total s |',
      '| --- | --: | --: | --: | --: | --: | --: |',
    );
    for (const t of training) {
      lines.push(
        `| ${t.method} | ${f(t.testAccuracy)} | ${f(t.testNll)} | ${f(t.testEce)} | ${f(t.laplaceNll)} | ${f(t.laplaceEce)} | ${f(t.totalSeconds, 1)} |`,
      );
    }
    lines.push('', '```json', JSON.stringify(runs, null, 1), '```', '');
  }
  return lines.join('\n');
}
