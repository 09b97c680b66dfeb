// Matmul throughput of the CPU-side backends, in one process: our WASM backend (AssemblyScript,
// SIMD, one thread), jax-js's WASM backend (@jax-js/jax), TensorFlow.js's WASM backend
// (@tensorflow/tfjs-backend-wasm) and our reference CPU backend (plain TypeScript, float64 sums).
// GFLOP/s = 2·m·n·k / time from the call until the result is readable on the host; the median of
// interleaved repetitions after a warm-up long enough for the engines to tier their code up. Each
// result is checked against ours first. Used by bench/matmul.ts.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as TfCore from '@tensorflow/tfjs-core';
import { CpuBackend } from '../src/engine/backend/cpu/cpu-backend.ts';
import { WasmBackend } from '../src/engine/backend/wasm/wasm-backend.ts';
import { arrayError } from '../src/engine/compare.ts';
import { Rng } from '../src/engine/random.ts';

export interface CpuSideCase {
  label: string;
  m: number;
  n: number;
  k: number;
  transA: boolean;
}

export interface CpuSideFigures {
  wasmGflops: number;
  jaxWasmGflops: number;
  tfjsWasmGflops: number;
  cpuGflops: number;
}

/** One timed thing: `run` starts the product and resolves once its result is on the host. */
type Timed = () => Promise<void>;

/** Warm each up for ~warmMs, then interleave repetitions (each ≥ minRepMs of back-to-back calls); medians in ms per call. */
async function timeMedians(runs: Timed[], warmMs = 300, minRepMs = 40, reps = 7): Promise<number[]> {
  const callsPerRep: number[] = [];
  for (const run of runs) {
    const t0 = performance.now();
    let calls = 0;
    while (performance.now() - t0 < warmMs || calls < 2) {
      await run();
      calls++;
    }
    const per = (performance.now() - t0) / calls;
    callsPerRep.push(Math.max(1, Math.ceil(minRepMs / per)));
  }
  const times = runs.map(() => [] as number[]);
  for (let rep = 0; rep < reps; rep++) {
    for (let i = 0; i < runs.length; i++) {
      const t0 = performance.now();
      for (let c = 0; c < callsPerRep[i]; c++) await runs[i]();
      times[i].push((performance.now() - t0) / callsPerRep[i]);
    }
  }
  return times.map((t) => t.sort((x, y) => x - y)[Math.floor(t.length / 2)]);
}

export interface CpuSideSetup {
  describe: string;
  measure(c: CpuSideCase): Promise<CpuSideFigures>;
  close(): void;
}

/**
 * Start the four backends. `tf` is the TensorFlow.js core the caller already uses (one engine per
 * process); its WASM backend is registered and made current here.
 */
export async function setUpCpuSide(tf: typeof TfCore): Promise<CpuSideSetup> {
  const wasm = new WasmBackend();
  const cpu = new CpuBackend();
  const jax = await import('@jax-js/jax');
  const jaxDevices = await jax.init('wasm');
  if (!jaxDevices.includes('wasm')) throw new Error(`jax-js could not start its wasm device (got ${jaxDevices.join(', ') || 'none'})`);
  jax.defaultDevice('wasm');
  await import('@tensorflow/tfjs-backend-wasm');
  if (!(await tf.setBackend('wasm'))) throw new Error('TensorFlow.js could not start its WASM backend');
  await tf.ready();
  const tfjsWasm = await import('@tensorflow/tfjs-backend-wasm');
  const jaxThreads =
    typeof SharedArrayBuffer !== 'undefined' ? 'SharedArrayBuffer present (jax-js may use threads)' : 'no SharedArrayBuffer';
  const describe = `ours ${wasm.info.summary}; jax-js ${packageVersion('@jax-js/jax')} wasm (${jaxThreads}); TensorFlow.js ${tf.version_core} wasm ${packageVersion('@tensorflow/tfjs-backend-wasm')} (${tfjsWasm.getThreadsCount()} thread(s)); reference cpu (TypeScript, float64 sums)`;
  const np = jax.numpy;
  const rng = new Rng(99);

  return {
    describe,
    close: () => {
      wasm.destroy();
      cpu.destroy();
    },
    async measure({ m, n, k, transA, label }) {
      const aShape = transA ? [k, m] : [m, k];
      const aData = Float32Array.from(rng.normalArray(m * k));
      const bData = Float32Array.from(rng.normalArray(k * n));
      const wa = wasm.tensor(aData, aShape);
      const wb = wasm.tensor(bData, [k, n]);
      const ca = cpu.tensor(aData, aShape);
      const cb = cpu.tensor(bData, [k, n]);
      const ja = np.array(aData, { shape: aShape });
      const jb = np.array(bData, { shape: [k, n] });
      const ta = tf.tensor(aData, aShape);
      const tb = tf.tensor(bData, [k, n]);
      const jaxProduct = () => np.matmul(transA ? np.transpose(ja.ref) : ja.ref, jb.ref);

      const ours = wasm.readSync(wasm.matmul(wa, wb, { transA }));
      const check = (name: string, other: ArrayLike<number>) => {
        const err = arrayError(other, ours).relError;
        if (!(err < 1e-3)) throw new Error(`${label}: ${name} and our WASM backend disagree (relative error ${err})`);
      };
      const jr = jaxProduct();
      check('jax-js', (await jr.data()) as Float32Array);
      const tr = tf.matMul(ta, tb, transA, false);
      check('TensorFlow.js wasm', (await tr.data()) as Float32Array);
      tr.dispose();

      const runs: Timed[] = [
        async () => wasm.matmul(wa, wb, { transA }).dispose(),
        async () => {
          const out = jaxProduct();
          await out.data();
        },
        async () => {
          const out = tf.matMul(ta, tb, transA, false);
          await out.data();
          out.dispose();
        },
      ];
      const [wasmMs, jaxMs, tfjsMs] = await timeMedians(runs);
      // The reference is slow (≈1 GFLOP/s): a short warm-up and three repetitions.
      const [cpuMs] = await timeMedians([async () => cpu.matmul(ca, cb, { transA }).dispose()], 0, 0, 3);
      for (const t of [wa, wb, ca, cb]) t.dispose();
      ja.dispose();
      jb.dispose();
      ta.dispose();
      tb.dispose();
      const flop = 2 * m * n * k;
      const g = (ms: number) => Math.round((flop / ms / 1e6) * 100) / 100;
      return { wasmGflops: g(wasmMs), jaxWasmGflops: g(jaxMs), tfjsWasmGflops: g(tfjsMs), cpuGflops: g(cpuMs) };
    },
  };
}

/** A dev dependency's version, from its package.json. */
function packageVersion(name: string): string {
  const file = join(dirname(fileURLToPath(import.meta.url)), '..', 'node_modules', ...name.split('/'), 'package.json');
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}
