import { requestWebGPU } from '../src/engine/backend/create-backend.ts';
import { matmulWith } from '../src/engine/backend/webgpu/matmul.ts';
import { Rng } from '../src/engine/random.ts';
const gpu = await requestWebGPU({});
const rng = new Rng(1);
const kern = (process.argv[2] ?? 'auto') as 'auto';
const wgX = Number(process.argv[3] ?? 8), wgY = Number(process.argv[4] ?? 8); const per = Number(process.env.PER ?? 16);
const only = process.argv[5];
const cases: [number, number, number, boolean, boolean][] = [
  [128, 128, 128, false, false], [256, 256, 256, false, false], [512, 512, 512, false, false], [1024, 1024, 1024, false, false],
  [64, 64, 4096, true, false], [256, 256, 4096, true, false], [256, 256, 256, false, true], [256, 256, 256, true, true],
];
for (const [m, n, k, ta, tb] of cases) {
  const tag = `${m}x${n}x${k}${ta ? 'T' : 'N'}${tb ? 'T' : 'N'}`;
  if (only && !tag.includes(only)) continue;
  const a = gpu.tensor(rng.normalArray(m * k), ta ? [k, m] : [m, k]);
  const b = gpu.tensor(rng.normalArray(k * n), tb ? [n, k] : [k, n]);
  const flop = 2 * m * n * k;
  const reps = flop > 1e9 ? 2 : flop > 1e8 ? 3 : 5;
  const times: number[] = []; let cpuMin = Infinity;
  for (let r = 0; r < reps + 1; r++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const c = matmulWith(gpu, a, b, { transA: ta, transB: tb }, kern, { wgX, wgY, block: per });
    await c.read();
    c.dispose();
    if (r > 0) times.push(performance.now() - t0);
    const cu = process.cpuUsage(c0);
    if (r > 0) cpuMin = Math.min(cpuMin, (cu.user + cu.system) / 1000);
  }
  times.sort((x, y) => x - y);
  const med = times[Math.floor(times.length / 2)];
  console.log(`${tag.padEnd(18)} ${(flop / med / 1e6).toFixed(2)} GFLOP/s  (${med.toFixed(1)} ms) best ${(flop / times[0] / 1e6).toFixed(2)} cpuG ${(flop / cpuMin / 1e6).toFixed(2)}`);
  a.dispose(); b.dispose();
}
gpu.destroy();
