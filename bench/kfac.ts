// K-FAC cost on one backend in one run (docs/kfac.md §2, "Cost"):
//  1. factor time of K-FAC-expand vs K-FAC-reduce for a ViT-like Linear layer (N = 32 examples,
//     dIn = dOut = 64) as the shared dim R grows from 4 to 256: expand forms A and G from N·R rows,
//     reduce from N rows after a mean / sum over R;
//  2. time per optimizer step of SGD, Adam, K-FAC-expand and K-FAC-reduce on the tiny ViT, and the goal
//     check: a K-FAC-reduce step with T_inv = 10 costs at most GOAL× an Adam step.
// Usage: npm run bench -- kfac [--backend webgpu|wasm|cpu]. Writes bench/results/kfac.json on WebGPU (the
// default) and bench/results/kfac-<backend>.json on the others, so that no run overwrites another backend's.
import { mkdirSync, writeFileSync } from 'node:fs';
import type { Backend } from '../src/engine/backend/backend.ts';
import { createBackend } from '../src/engine/backend/create-backend.ts';
import { Rng } from '../src/engine/random.ts';
import { scope, type Tensor } from '../src/engine/tensor.ts';
import { timeInterleaved } from './timing.ts';
import { stepTimes } from './kfac-steps.ts';

const N = 32;
const D = 64;
const SHARED = [4, 16, 64, 256];
/** A K-FAC-reduce step (T_inv = 10, T_cov = 1) on the ViT may cost at most this many Adam steps. */
export const STEP_GOAL = 1.3;

export interface FactorTimeRow {
  R: number;
  expandMs: number;
  reduceMs: number;
  ratio: number;
}

function factorTimes(backend: Backend, a: Tensor, b: Tensor, r: number): [() => Promise<void>, () => Promise<void>] {
  const expand = async () => {
    const out = scope(() => {
      const rowsA = backend.reshape(a, [N * r, D + 1]);
      const rowsB = backend.reshape(b, [N * r, D]);
      return [backend.factor(rowsA, { alpha: 1 / (N * r) }), backend.factor(rowsB)];
    });
    await backend.sync();
    for (const t of out) t.dispose();
  };
  const reduce = async () => {
    const out = scope(() => {
      const meanA = backend.sharedReduce(a, 'mean');
      const sumB = backend.sharedReduce(b, 'sum');
      return [backend.factor(meanA, { alpha: 1 / N }), backend.factor(sumB)];
    });
    await backend.sync();
    for (const t of out) t.dispose();
  };
  return [expand, reduce];
}

export async function runKfacBench(args: string[]): Promise<void> {
  const which = args.includes('--backend') ? args[args.indexOf('--backend') + 1] : 'webgpu';
  if (which !== 'webgpu' && which !== 'wasm' && which !== 'cpu') throw new Error(`--backend: expected webgpu, wasm or cpu, got ${which}`);
  const backend = await createBackend({ prefer: which, requireWebGPU: which === 'webgpu' });
  console.log(`device: ${backend.info.summary}`);
  const rng = new Rng(7);

  console.log(`\n1. factor time per layer, N = ${N}, dIn = dOut = ${D} (median ms)\n`);
  console.log('|    R | expand ms | reduce ms | expand / reduce |');
  console.log('|-----:|----------:|----------:|----------------:|');
  const factorRows: FactorTimeRow[] = [];
  for (const r of SHARED) {
    const a = backend.tensor(rng.uniformArray(N * r * (D + 1)), [N, r, D + 1]);
    const b = backend.tensor(rng.uniformArray(N * r * D), [N, r, D]);
    const [expandMs, reduceMs] = await timeInterleaved(factorTimes(backend, a, b, r));
    const row = { R: r, expandMs: round(expandMs), reduceMs: round(reduceMs), ratio: round(expandMs / reduceMs) };
    factorRows.push(row);
    console.log(
      `| ${String(r).padStart(4)} | ${row.expandMs.toFixed(2).padStart(9)} | ${row.reduceMs.toFixed(2).padStart(9)} | ${row.ratio.toFixed(1).padStart(14)}× |`,
    );
    a.dispose();
    b.dispose();
  }

  console.log(
    '\n2. time per step on the tiny ViT (28×28 MNIST, 16 patches, dim 32, depth 2), batch 32 (ms per step: median over 5 blocks of T_inv = 10 steps)\n',
  );
  const { rows: stepRows, phases } = await stepTimes(backend);
  console.log('| optimizer             | ms / step | × Adam |');
  console.log('|:----------------------|----------:|-------:|');
  for (const s of stepRows)
    console.log(`| ${s.optimizer.padEnd(21)} | ${s.msPerStep.toFixed(1).padStart(9)} | ${s.relativeToAdam.toFixed(2).padStart(5)}× |`);

  console.log('\nms per phase (a separate block with a device sync per phase):');
  for (const p of phases)
    console.log(
      `  ${p.optimizer}: ${Object.entries(p.phaseMs)
        .map(([k, v]) => `${k} ${v.toFixed(2)}`)
        .join(', ')}`,
    );
  const reduce = stepRows.find((s) => s.optimizer === 'kfac-reduce')!;
  const goal = { limit: STEP_GOAL, kfacReduceOverAdam: reduce.relativeToAdam, met: reduce.relativeToAdam <= STEP_GOAL };
  console.log(
    `\ngoal: a K-FAC-reduce step (T_inv 10, T_cov 1, clip off) ≤ ${STEP_GOAL}× an Adam step: ${reduce.relativeToAdam.toFixed(2)}× — ${
      goal.met ? 'met' : `missed by ${(reduce.relativeToAdam - STEP_GOAL).toFixed(2)}×`
    }`,
  );
  const out = { device: backend.info.summary, date: new Date().toISOString(), factorTimes: factorRows, stepTimes: stepRows, phases, goal };
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  const file = which === 'webgpu' ? 'kfac.json' : `kfac-${which}.json`;
  writeFileSync(new URL(`./results/${file}`, import.meta.url), `${JSON.stringify(out, null, 2)}\n`);
  console.log(`\nwrote bench/results/${file}`);
  backend.destroy();
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}
