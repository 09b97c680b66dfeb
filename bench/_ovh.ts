import { requestWebGPU } from '../src/engine/backend/create-backend.ts';
const gpu = await requestWebGPU({});
const a = gpu.fill([4, 4], 1);
for (let i = 0; i < 3; i++) (await gpu.matmul(a, a).read());
const t: number[] = [];
for (let i = 0; i < 20; i++) { const t0 = performance.now(); const c = gpu.matmul(a, a); await c.read(); c.dispose(); t.push(performance.now() - t0); }
t.sort((x, y) => x - y); console.log('roundtrip ms best', t[0].toFixed(2), 'median', t[10].toFixed(2));
gpu.destroy();
