// Matmul throughput: our WebGPU kernels against TensorFlow.js's WebGPU backend, in one process on
// one GPU instance (Dawn in Node; SwiftShader when there is no GPU); then, per case, the CPU-side
// backends (ours WASM, jax-js WASM, TensorFlow.js WASM, our reference CPU; bench/matmul-cpu-side.ts). GFLOP/s = 2·m·n·k / time, where
// time runs from the call until the result is back on the host; median over repetitions after a
// warm-up. Writes bench/results/matmul.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as TfCore from '@tensorflow/tfjs-core';
import { requestWebGPU } from '../src/engine/backend/create-backend.ts';
import { nodeGpu } from '../src/engine/backend/webgpu/node-gpu.ts';
import type { WebGPUBackend } from '../src/engine/backend/webgpu/webgpu-backend.ts';
import { Rng } from '../src/engine/random.ts';
import { timeInterleaved } from './timing.ts';
import { arrayError } from '../src/engine/compare.ts';
import { setUpCpuSide, type CpuSideFigures } from './matmul-cpu-side.ts';

interface Case {
  label: string;
  m: number;
  n: number;
  k: number;
  transA: boolean;
}

export interface MatmulRow extends CpuSideFigures {
  label: string;
  m: number;
  n: number;
  k: number;
  transA: boolean;
  oursGflops: number;
  tfjsGflops: number;
  oursMs: number;
  tfjsMs: number;
}

const CASES: Case[] = [
  ...[128, 256, 512, 1024].map((s) => ({ label: `A·B ${s}²`, m: s, n: s, k: s, transA: false })),
  // K-FAC input factors: XᵀX for a batch of 4096 rows of 64 or 256 features
  { label: 'XᵀX 4096×64', m: 64, n: 64, k: 4096, transA: true },
  { label: 'XᵀX 4096×256', m: 256, n: 256, k: 4096, transA: true },
];

async function setUp(): Promise<{ ours: WebGPUBackend; tf: typeof TfCore; tfjsAdapter: string }> {
  const ours = await requestWebGPU({ requireWebGPU: true });
  // Hand TensorFlow.js the very GPU object our backend came from (Dawn keeps one per process):
  // its WebGPU backend looks for navigator.gpu, which Node does not have.
  const found = await nodeGpu();
  if ('reason' in found) throw new Error(found.reason);
  const nav = (globalThis as { navigator?: object }).navigator ?? {};
  Object.defineProperty(globalThis, 'navigator', { value: { ...nav, gpu: found.gpu }, configurable: true, writable: true });
  const tf = await import('@tensorflow/tfjs-core');
  await import('@tensorflow/tfjs-backend-webgpu');
  if (!(await tf.setBackend('webgpu'))) throw new Error('TensorFlow.js could not start its WebGPU backend');
  await tf.ready();
  const info = (tf.backend() as unknown as { adapterInfo?: { vendor?: string; architecture?: string } }).adapterInfo;
  const tfjsAdapter = [info?.vendor, info?.architecture].filter(Boolean).join(' ') || 'unknown';
  return { ours, tf, tfjsAdapter };
}

export async function runMatmulBench(): Promise<MatmulRow[]> {
  const { ours, tf, tfjsAdapter } = await setUp();
  const oursAdapter = [ours.info.adapter?.vendor, ours.info.adapter?.architecture].filter(Boolean).join(' ');
  console.log(`ours: ${ours.info.summary}`);
  console.log(`tfjs: @tensorflow/tfjs-backend-webgpu ${tf.version_core} on ${tfjsAdapter}`);
  if (tfjsAdapter !== oursAdapter) console.warn(`warning: the two backends report different adapters (${oursAdapter} vs ${tfjsAdapter})`);

  const rng = new Rng(2024);
  const gpuRows: Omit<MatmulRow, keyof CpuSideFigures>[] = [];
  for (const c of CASES) {
    const { m, n, k, transA } = c;
    const aShape = transA ? [k, m] : [m, k];
    const aData = Float32Array.from(rng.normalArray(m * k));
    // XᵀX multiplies X by itself; the square cases take an independent B.
    const bData = transA && m === n ? aData : Float32Array.from(rng.normalArray(k * n));
    const a = ours.tensor(aData, aShape);
    const b = ours.tensor(bData, [k, n]);
    const ta = tf.tensor(aData, aShape);
    const tb = tf.tensor(bData, [k, n]);

    const oursResult = await ours.matmul(a, b, { transA }).read();
    const tfjsOut = tf.matMul(ta, tb, transA, false);
    const tfjsResult = await tfjsOut.data();
    tfjsOut.dispose();
    const err = arrayError(oursResult, tfjsResult as Float32Array).relError;
    if (!(err < 1e-3)) throw new Error(`${c.label}: ours and TensorFlow.js disagree (max relative error ${err})`);

    const [oursMs, tfjsMs] = await timeInterleaved([
      async () => {
        const out = ours.matmul(a, b, { transA });
        await out.read();
        out.dispose();
      },
      async () => {
        const out = tf.matMul(ta, tb, transA, false);
        await out.data();
        out.dispose();
      },
    ]);
    const flop = 2 * m * n * k;
    const row = {
      label: c.label,
      m,
      n,
      k,
      transA,
      oursGflops: round(flop / oursMs / 1e6),
      tfjsGflops: round(flop / tfjsMs / 1e6),
      oursMs: round(oursMs),
      tfjsMs: round(tfjsMs),
    };
    gpuRows.push(row);
    console.log(
      `  ${row.label.padEnd(14)} ours ${row.oursGflops.toFixed(2).padStart(6)} GFLOP/s   tfjs ${row.tfjsGflops.toFixed(2).padStart(6)} GFLOP/s`,
    );
    a.dispose();
    b.dispose();
    ta.dispose();
    tb.dispose();
  }

  const cpuSide = await setUpCpuSide(tf);
  console.log(`\ncpu side: ${cpuSide.describe}`);
  const rows: MatmulRow[] = [];
  for (const row of gpuRows) {
    const figures = await cpuSide.measure(row);
    rows.push({ ...row, ...figures });
    console.log(
      `  ${row.label.padEnd(14)} wasm ${figures.wasmGflops.toFixed(2).padStart(6)}   jax-js wasm ${figures.jaxWasmGflops.toFixed(2).padStart(6)}   tfjs wasm ${figures.tfjsWasmGflops.toFixed(2).padStart(6)}   cpu ${figures.cpuGflops.toFixed(2).padStart(6)} GFLOP/s`,
    );
  }
  cpuSide.close();

  printTable(rows);
  printCpuSideTable(rows);
  const file = join(dirname(fileURLToPath(import.meta.url)), 'results', 'matmul.json');
  mkdirSync(dirname(file), { recursive: true });
  const device = `${ours.info.summary}; TensorFlow.js ${tf.version_core} WebGPU on the same GPU instance; CPU side: ${cpuSide.describe}`;
  writeFileSync(file, `${JSON.stringify({ device, date: new Date().toISOString(), rows }, null, 2)}\n`);
  console.log(`\nwrote ${file}`);
  ours.destroy();
  tf.engine().reset();
  return rows;
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

function printTable(rows: MatmulRow[]): void {
  const header = ['case', 'm', 'n', 'k', 'ours GFLOP/s', 'tfjs GFLOP/s', 'ours/tfjs', 'ours ms', 'tfjs ms'];
  const body = rows.map((r) => [
    r.label,
    String(r.m),
    String(r.n),
    String(r.k),
    r.oursGflops.toFixed(2),
    r.tfjsGflops.toFixed(2),
    `${(r.oursGflops / r.tfjsGflops).toFixed(1)}×`,
    r.oursMs.toFixed(1),
    r.tfjsMs.toFixed(1),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`;
  console.log(`\n${line(header)}`);
  console.log(`|${widths.map((w, i) => (i === 0 ? ':' : '') + '-'.repeat(w + 1) + (i === 0 ? '' : ':')).join('|')}|`);
  for (const r of body) console.log(line(r));
}

function printCpuSideTable(rows: MatmulRow[]): void {
  const header = ['case', 'wasm GFLOP/s', 'jax-js wasm', 'tfjs wasm', 'reference cpu', 'wasm/jax-js', 'wasm/cpu'];
  const body = rows.map((r) => [
    r.label,
    r.wasmGflops.toFixed(2),
    r.jaxWasmGflops.toFixed(2),
    r.tfjsWasmGflops.toFixed(2),
    r.cpuGflops.toFixed(2),
    `${(r.wasmGflops / r.jaxWasmGflops).toFixed(2)}×`,
    `${(r.wasmGflops / r.cpuGflops).toFixed(0)}×`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`;
  console.log(`\n${line(header)}`);
  console.log(`|${widths.map((w, i) => (i === 0 ? ':' : '') + '-'.repeat(w + 1) + (i === 0 ? '' : ':')).join('|')}|`);
  for (const r of body) console.log(line(r));
}
