import { CpuBackend } from '../src/engine/backend/cpu/cpu-backend.ts';
import { requestWebGPU } from '../src/engine/backend/create-backend.ts';
import { matmulWith } from '../src/engine/backend/webgpu/matmul.ts';
import { Rng } from '../src/engine/random.ts';
const gpu = await requestWebGPU({ debug: true });
const cpu = new CpuBackend();
const rng = new Rng(1);
for (const [m, n, k] of [[3, 5, 7], [64, 128, 256], [17, 8, 12], [130, 64, 65], [20, 20, 22], [36, 52, 40], [4, 4, 1], [8, 12, 3]]) {
  for (const ta of [false, true]) for (const tb of [false, true]) {
    const aS = ta ? [k, m] : [m, k]; const bS = tb ? [n, k] : [k, n];
    const av = rng.normalArray(m * k), bv = rng.normalArray(k * n);
    const c = cpu.matmul(cpu.tensor(av, aS), cpu.tensor(bv, bS), { transA: ta, transB: tb });
    const exp = await c.read();
    for (const [kern, per] of [['general', 4], ['general', 8], ['vec4', 4], ['vec4', 16]] as const) {
      try {
        const g = matmulWith(gpu, gpu.tensor(av, aS), gpu.tensor(bv, bS), { transA: ta, transB: tb }, kern, { wgX: 2, wgY: 2, block: per });
        const got = await g.read();
        let err = 0; for (let i = 0; i < exp.length; i++) err = Math.max(err, Math.abs(got[i] - exp[i]));
        console.log(m, n, k, ta, tb, kern, per, err.toExponential(2));
      } catch (e) { console.log(m, n, k, ta, tb, kern, 'ERR', (e as Error).message.slice(0, 60)); }
    }
  }
}
gpu.destroy();
