// Experimental kernels for SwiftShader tuning (scratch).
import { requestWebGPU } from '../src/engine/backend/create-backend.ts';
import { ParamWriter } from '../src/engine/backend/webgpu/runtime.ts';
import { matmulWith } from '../src/engine/backend/webgpu/matmul.ts';
import { Rng } from '../src/engine/random.ts';
import { readFileSync } from 'node:fs';
const gpu = await requestWebGPU({ debug: true });
gpu.device.addEventListener('uncapturederror', (e) => console.log('UNCAPTURED', (e as GPUUncapturedErrorEvent).error.message));
const rng = new Rng(1);
const file = process.argv[2];
const size = Number(process.argv[3] ?? 256);
const variants = process.argv.slice(4); // "entry:wgx:wgy:R:C" R rows/thread C cols/thread
const src = readFileSync(file, 'utf8');
const [m, n, k] = [size, size, size];
const a = gpu.tensor(rng.normalArray(m * k), [m, k]);
const b = gpu.tensor(rng.normalArray(k * n), [k, n]);
const ref = await matmulWith(gpu, a, b, {}, 'auto').read();
const flop = 2 * m * n * k;
const results: Record<string, number[]> = {};
const cpu: Record<string, number[]> = {};
const run = (v: string) => {
  if (v.startsWith('cur')) { const [, wx, wy] = v.split(':'); return matmulWith(gpu, a, b, {}, 'auto', { wgX: +wx, wgY: +wy }); }
  if (v.startsWith('gen')) { const [, wx, wy] = v.split(':'); return matmulWith(gpu, a, b, {}, 'general', { wgX: +wx, wgY: +wy }); }
  const [entry, wx, wy, R, C] = v.split(':');
  const wgX = +wx, wgY = +wy;
  const tileM = wgY * +R, tileN = wgX * +C;
  const out = gpu.empty([m, n]);
  const groups = [Math.ceil(n / tileN), Math.ceil(m / tileM)] as [number, number];
  gpu.runtime.dispatch({ key: file, shader: src, entryPoint: entry, constants: { WG_X: wgX, WG_Y: wgY, ...(entry.startsWith('loop') ? { ROWS: +R, CB: +C / 4 } : {}) },
    params: new ParamWriter().u32(m, n, k, 0).bytes(), buffers: [gpu.bufferOf(a), gpu.bufferOf(b), gpu.bufferOf(out)], workgroups: groups });
  return out;
};
for (const v of variants) { const o = run(v); const r = await o.read(); let e = 0; for (let i = 0; i < r.length; i++) e = Math.max(e, Math.abs(r[i] - ref[i])); console.log(v, 'maxerr', e.toExponential(2)); o.dispose(); }
const reps = Number(process.env.REPS ?? (size >= 1024 ? 2 : size >= 512 ? 6 : 10));
for (let rep = 0; rep < reps; rep++) for (const v of variants) {
  const c0 = process.cpuUsage(); const t0 = performance.now(); const o = run(v); await o.read(); const t = performance.now() - t0; o.dispose();
  const cu = process.cpuUsage(c0); (cpu[v] ??= []).push((cu.user + cu.system) / 1000);
  (results[v] ??= []).push(t);
}
for (const v of variants) { const t = results[v].sort((x, y) => x - y); const med = t[Math.floor(t.length / 2)]; console.log(v.padEnd(24), 'best', (flop / t[0] / 1e6).toFixed(2), 'med', (flop / med / 1e6).toFixed(2), 'GFLOP/s', t[0].toFixed(1), 'ms', 'cpuG', (flop / Math.min(...cpu[v]) / 1e6).toFixed(2)); }
gpu.destroy();
