// Pruning benchmark (docs/curvature-tools.md §5): one-shot test accuracy at sparsity 0.5 … 0.95 of
// every method on the MNIST MLP and CNN, three seeds, with and without a short fine-tuning that keeps
// the masks, and the time of each method. Per (model, seed): the dense model is trained with Adam
// (trainModel, the task preset's learning rate), each method's curvature is estimated once on a
// seeded subset of the training examples and every sparsity is pruned from the same trained weights
// (global selection, one damping λ for every method fixed in advance, not tuned on the test set).
// "Test accuracy" is on the task's 512 held-out MNIST test images.
// Usage: npm run bench -- prune [--backend wasm|webgpu|cpu] [--tasks mlp-mnist,cnn-mnist] [--seeds 1,2,3]
// [--finetune 100] [--examples 1024] [--train-steps 1000] [--damping 1e-4]
// Writes bench/results/prune.{json,md}; rows are exactly { model, method, sparsity, seed, finetuneSteps,
// testAccuracy, seconds } (seconds: curvature estimate + pruning, plus the fine-tuning for fine-tuned rows).
import { mkdirSync, writeFileSync } from 'node:fs';
import { createBackend } from '../src/engine/backend/create-backend.ts';
import type { TaskId } from '../src/engine/lab/tasks.ts';
import type { PruneMethod } from '../src/engine/tools/prune/curvature.ts';
import { pruneTask } from '../src/engine/tools/prune/prune-experiment.ts';

const METHODS: PruneMethod[] = ['magnitude', 'diag-fisher', 'woodfisher', 'kfac-obs'];
const SPARSITIES = [0.5, 0.6, 0.7, 0.8, 0.9, 0.95];

export interface PruneBenchRow {
  model: string;
  method: PruneMethod;
  sparsity: number;
  seed: number;
  finetuneSteps: number;
  testAccuracy: number;
  seconds: number;
}

interface DenseRow {
  model: string;
  seed: number;
  testAccuracy: number;
  trainSeconds: number;
}

interface LossRow {
  model: string;
  method: PruneMethod;
  sparsity: number;
  seed: number;
  /** Mean training loss on the curvature examples: measured increase, and the method's Σ ρ. */
  measured: number;
  predicted: number | null;
}

function option(args: string[], name: string, fallback: string): string {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : fallback;
}

const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
const sd = (xs: number[]) => (xs.length < 2 ? 0 : Math.sqrt(xs.reduce((s, x) => s + (x - mean(xs)) ** 2, 0) / (xs.length - 1)));
const pct = (x: number) => (100 * x).toFixed(1);

function markdown(out: {
  device: string;
  date: string;
  settings: Record<string, unknown>;
  dense: DenseRow[];
  rows: PruneBenchRow[];
}): string {
  const lines: string[] = [
    '# Pruning benchmark (`npm run bench -- prune`)',
    '',
    `Device: ${out.device}. Date: ${out.date}. Settings: ${JSON.stringify(out.settings)}.`,
    '',
    'Test accuracy (%) on the 512 MNIST test images, mean ± sd over the seeds; global selection; one-shot, then after the fine-tuning (masks held).',
  ];
  const models = [...new Set(out.rows.map((r) => r.model))];
  for (const model of models) {
    const dense = out.dense.filter((d) => d.model === model);
    lines.push(
      '',
      `## ${model}`,
      '',
      `Dense: ${pct(mean(dense.map((d) => d.testAccuracy)))} ± ${pct(sd(dense.map((d) => d.testAccuracy)))} (seeds ${dense.map((d) => d.seed).join(', ')}).`,
    );
    for (const finetuneSteps of [...new Set(out.rows.map((r) => r.finetuneSteps))]) {
      lines.push('', finetuneSteps === 0 ? '### One-shot' : `### After ${finetuneSteps} fine-tuning steps`, '');
      lines.push(`| sparsity | ${METHODS.join(' | ')} |`, `| ---: | ${METHODS.map(() => '---:').join(' | ')} |`);
      for (const s of SPARSITIES) {
        const cells = METHODS.map((m) => {
          const xs = out.rows
            .filter((r) => r.model === model && r.method === m && r.sparsity === s && r.finetuneSteps === finetuneSteps)
            .map((r) => r.testAccuracy);
          return xs.length ? `${pct(mean(xs))} ± ${pct(sd(xs))}` : '—';
        });
        lines.push(`| ${s} | ${cells.join(' | ')} |`);
      }
    }
    const oneShot = out.rows.filter((r) => r.model === model && r.finetuneSteps === 0);
    lines.push(
      '',
      'Seconds per method (curvature estimate + pruning, one-shot, mean over seeds and sparsities): ' +
        METHODS.map((m) => `${m} ${mean(oneShot.filter((r) => r.method === m).map((r) => r.seconds)).toFixed(2)}`).join(', ') +
        '.',
    );
    const at = (m: PruneMethod, seed: number) => oneShot.find((r) => r.method === m && r.sparsity === 0.8 && r.seed === seed)?.testAccuracy;
    const seeds = [...new Set(oneShot.map((r) => r.seed))];
    for (const m of ['woodfisher', 'kfac-obs'] as const) {
      const gaps = seeds.map((seed) => (at(m, seed) ?? NaN) - (at('magnitude', seed) ?? NaN));
      lines.push(
        `${m} − global magnitude at 80% sparsity, one-shot: ${gaps.map((g) => `${(100 * g).toFixed(1)}`).join(', ')} points (mean ${(100 * mean(gaps)).toFixed(1)}).`,
      );
    }
  }
  return lines.join('\n') + '\n';
}

export async function runPruneBench(args: string[]): Promise<void> {
  const backendName = option(args, '--backend', 'wasm') as 'wasm' | 'webgpu' | 'cpu';
  const tasks = option(args, '--tasks', 'mlp-mnist,cnn-mnist').split(',') as TaskId[];
  const seeds = option(args, '--seeds', '1,2,3').split(',').map(Number);
  const finetune = Number(option(args, '--finetune', '100'));
  const examples = Number(option(args, '--examples', '1024'));
  const trainSteps = Number(option(args, '--train-steps', '1000'));
  const damping = Number(option(args, '--damping', '1e-4'));
  const backend = await createBackend({ prefer: backendName, requireWebGPU: backendName === 'webgpu' });
  const device = backend.info.summary;
  console.log(`prune bench on ${device}`);
  const settings = {
    methods: METHODS,
    sparsities: SPARSITIES,
    scope: 'global',
    damping,
    examples,
    trainSteps,
    finetune,
    finetuneOptimizer: 'adam lr 1e-3',
    blockSize: 128,
  };
  const out = {
    device,
    date: new Date().toISOString(),
    settings,
    dense: [] as DenseRow[],
    rows: [] as PruneBenchRow[],
    lossIncrease: [] as LossRow[],
  };
  mkdirSync('bench/results', { recursive: true });
  const started = performance.now();
  try {
    for (const task of tasks) {
      for (const seed of seeds) {
        const result = await pruneTask(backend, {
          task,
          trainSteps,
          seed,
          methods: METHODS,
          sparsities: SPARSITIES,
          scope: 'global',
          defaultDamping: damping,
          examples,
          finetune: finetune > 0 ? { steps: finetune, optimizer: 'adam', hyper: { lr: 1e-3 } } : null,
        });
        const trainSeconds = result.model.kind === 'trained' ? result.model.seconds : 0;
        out.dense.push({ model: task, seed, testAccuracy: result.baseline.testAccuracy, trainSeconds });
        for (const r of result.runs) {
          out.rows.push({
            model: task,
            method: r.method,
            sparsity: r.sparsity,
            seed,
            finetuneSteps: 0,
            testAccuracy: r.testAccuracy,
            seconds: r.seconds,
          });
          if (r.finetuned)
            out.rows.push({
              model: task,
              method: r.method,
              sparsity: r.sparsity,
              seed,
              finetuneSteps: r.finetuned.steps,
              testAccuracy: r.finetuned.testAccuracy,
              seconds: r.seconds + r.finetuned.seconds,
            });
          out.lossIncrease.push({
            model: task,
            method: r.method,
            sparsity: r.sparsity,
            seed,
            measured: r.lossAfter - r.lossBefore,
            predicted: r.predictedIncrease,
          });
        }
        const at80 = (m: PruneMethod) => result.runs.find((r) => r.method === m && r.sparsity === 0.8)?.testAccuracy ?? NaN;
        console.log(
          `${task} seed ${seed}: dense ${pct(result.baseline.testAccuracy)}%, at 80% one-shot ${METHODS.map((m) => `${m} ${pct(at80(m))}`).join(', ')} (${((performance.now() - started) / 1000).toFixed(0)} s so far)`,
        );
        writeFileSync('bench/results/prune.json', `${JSON.stringify(out, null, 1)}\n`);
        writeFileSync('bench/results/prune.md', markdown(out));
      }
    }
  } finally {
    backend.destroy();
  }
  console.log(`\nwrote bench/results/prune.{json,md} in ${((performance.now() - started) / 1000).toFixed(0)} s`);
}
