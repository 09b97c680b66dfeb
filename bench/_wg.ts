import { requestWebGPU } from '../src/engine/backend/create-backend.ts';
import { matmulWith, type KernelTiling } from '../src/engine/backend/webgpu/matmul.ts';
import { Rng } from '../src/engine/random.ts';
const gpu = await requestWebGPU({});
const rng = new Rng(1);
const kern = process.argv[2] as 'vec4';
const configs: KernelTiling[] = process.argv.slice(3).map((s) => { const [x, y, bl] = s.split(':').map(Number); return { wgX: x, wgY: y, block: bl }; });
const cases: [number, number, number, boolean, boolean][] = [
  [128, 128, 128, false, false], [256, 256, 256, false, false], [512, 512, 512, false, false], [1024, 1024, 1024, false, false],
  [64, 64, 4096, true, false], [256, 256, 4096, true, false],
];
const only = process.env.ONLY;
for (const [m, n, k, ta, tb] of cases) {
  const tag = `${m}x${n}x${k}${ta ? 'T' : 'N'}${tb ? 'T' : 'N'}`;
  if (only && !tag.includes(only)) continue;
  const a = gpu.tensor(rng.normalArray(m * k), ta ? [k, m] : [m, k]);
  const b = gpu.tensor(rng.normalArray(k * n), tb ? [n, k] : [k, n]);
  const flop = 2 * m * n * k;
  const reps = flop > 1e9 ? 3 : flop > 1e8 ? 5 : 9;
  const times = configs.map(() => [] as number[]);
  for (let r = 0; r < reps + 1; r++) configs.forEach((cfg, ci) => {
    return;
  });
  for (let r = 0; r < reps + 1; r++) for (let ci = 0; ci < configs.length; ci++) {
    const t0 = performance.now();
    const c = matmulWith(gpu, a, b, { transA: ta, transB: tb }, kern, configs[ci]);
    await c.read();
    c.dispose();
    if (r > 0) times[ci].push(performance.now() - t0);
  }
  const line = configs.map((cfg, ci) => {
    const t = times[ci].sort((x, y) => x - y);
    return `${cfg.wgX}x${cfg.wgY}/${cfg.block}: ${(flop / t[0] / 1e6).toFixed(2)}|${(flop / t[t.length >> 1] / 1e6).toFixed(2)}`;
  });
  console.log(tag.padEnd(18), line.join('  '));
  a.dispose(); b.dispose();
}
gpu.destroy();
