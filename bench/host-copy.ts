// Cost of the lab's periodic host copy (src/engine/lab/host-copy.ts): every HOST_COPY_INTERVAL steps
// each run's parameters and optimizer state are read to the host, so that a lost GPU device costs
// at most that many steps per run. For every run of the ViT preset (vit-mnist): ms per copy, bytes
// copied, ms per training step, and the copy's share of the time of HOST_COPY_INTERVAL steps.
// Usage: npm run bench -- host-copy [--backend webgpu|cpu]. Writes bench/results/host-copy-<backend>.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { createBackend } from '../src/engine/backend/create-backend.ts';
import { Experiment } from '../src/engine/lab/experiment.ts';
import { captureRun, HOST_COPY_INTERVAL, type RunHostCopy } from '../src/engine/lab/host-copy.ts';
import { presetConfig } from '../src/engine/lab/presets.ts';
import { isHostTensor } from '../src/engine/optim/host-state.ts';

/** Training steps per run; with a copy every COPY_EVERY steps (the last step is not copied). */
const STEPS = 9;
const COPY_EVERY = 2;
/** Extra timed copies after the run. */
const EXTRA_COPIES = 5;

export interface HostCopyRow {
  optimizer: string;
  msPerCopy: number;
  bytes: number;
  msPerStep: number;
  /** ms per copy / (HOST_COPY_INTERVAL × ms per step). */
  overhead: number;
}

function bytesOf(copy: RunHostCopy): number {
  let bytes = 0;
  for (const p of copy.params) bytes += p.value.data.byteLength;
  const walk = (state: RunHostCopy['optimizer'] | undefined): void => {
    if (!state) return;
    for (const record of Object.values(state.params))
      for (const v of Object.values(record)) if (isHostTensor(v)) bytes += v.data.byteLength;
    for (const f of Object.values(state.factors ?? {})) bytes += f.A.data.byteLength + f.G.data.byteLength;
    walk(state.fallback);
  };
  walk(copy.optimizer);
  return bytes;
}

export async function runHostCopyBench(args: string[]): Promise<void> {
  const which = args.includes('--backend') ? args[args.indexOf('--backend') + 1] : 'webgpu';
  if (which !== 'webgpu' && which !== 'cpu') throw new Error(`--backend: expected webgpu or cpu, got ${which}`);
  const backend = await createBackend({ prefer: which, requireWebGPU: which === 'webgpu' });
  console.log(`device: ${backend.info.summary}`);
  const preset = presetConfig('vit-mnist');
  console.log(
    `\nhost copy of each run of the vit-mnist preset (batch ${preset.batchSize}); a copy every ${HOST_COPY_INTERVAL} steps in the lab\n`,
  );
  console.log('| optimizer      | ms / copy |     bytes | ms / step | copy / (25 steps) |');
  console.log('|:---------------|----------:|----------:|----------:|------------------:|');
  const rows: HostCopyRow[] = [];
  for (const entry of preset.optimizers) {
    const experiment = await Experiment.create(
      backend,
      { ...preset, steps: STEPS, evalInterval: STEPS, target: null, optimizers: [entry] },
      { phaseTiming: false, hostCopyInterval: COPY_EVERY },
    );
    try {
      const result = await experiment.run();
      const run = result.runs[0];
      if (run.error) throw new Error(`${entry.id}: ${run.error}`);
      // The run's own copies (taken between steps, as in the lab) plus a few more now.
      const stats = experiment.hostCopyStats;
      const model = experiment.models[0];
      const params = model.parameters();
      let copy: RunHostCopy | null = null;
      const start = performance.now();
      for (let i = 0; i < EXTRA_COPIES; i++) copy = await captureRun(params, experiment.optimizers[0], STEPS, 0, run);
      const extraMs = performance.now() - start;
      const msPerCopy = (stats.totalMs + extraMs) / (stats.copies + EXTRA_COPIES);
      // Steps after the first (pipelines compiled, buffers pooled).
      const times = run.history.timeMs;
      const msPerStep = (times[times.length - 1] - times[0]) / (times.length - 1);
      const row: HostCopyRow = {
        optimizer: entry.label ?? entry.id,
        msPerCopy: round(msPerCopy),
        bytes: bytesOf(copy!),
        msPerStep: round(msPerStep),
        overhead: round(msPerCopy / (HOST_COPY_INTERVAL * msPerStep), 4),
      };
      rows.push(row);
      console.log(
        `| ${row.optimizer.padEnd(14)} | ${row.msPerCopy.toFixed(2).padStart(9)} | ${String(row.bytes).padStart(9)} | ${row.msPerStep.toFixed(1).padStart(9)} | ${(100 * row.overhead).toFixed(2).padStart(16)}% |`,
      );
    } finally {
      experiment.dispose();
    }
  }
  mkdirSync('bench/results', { recursive: true });
  const file = `bench/results/host-copy-${which}.json`;
  writeFileSync(
    file,
    JSON.stringify({ device: backend.info.summary, date: new Date().toISOString(), interval: HOST_COPY_INTERVAL, rows }, null, 2) + '\n',
  );
  console.log(`\nwrote ${file}`);
  backend.destroy();
}

function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
