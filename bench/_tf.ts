import { nodeGpu } from '../src/engine/backend/webgpu/node-gpu.ts';
const found = await nodeGpu();
if ('reason' in found) throw new Error(found.reason);
(globalThis as { navigator?: unknown }).navigator = { gpu: found.gpu };
const tf = await import('@tensorflow/tfjs-core');
await import('@tensorflow/tfjs-backend-webgpu');
console.log(tf.engine().registryFactory ? Object.keys(tf.engine().registryFactory) : '');
await tf.setBackend('webgpu');
await tf.ready();
console.log('backend', tf.getBackend());
for (const s of [128, 256, 512, 1024]) {
  const a = tf.randomNormal([s, s]); const b = tf.randomNormal([s, s]);
  const times: number[] = [];
  for (let r = 0; r < 4; r++) {
    const t0 = performance.now(); const c = tf.matMul(a, b); await c.data(); times.push(performance.now() - t0); c.dispose();
  }
  times.shift(); times.sort((x, y) => x - y);
  console.log(s, (2 * s ** 3 / times[0] / 1e6).toFixed(2), 'GFLOP/s best', times.map((t) => t.toFixed(0)).join(' '));
}
for (const [mn, k] of [[64, 4096], [256, 4096]]) {
  const x = tf.randomNormal([k, mn]);
  const times: number[] = [];
  for (let r = 0; r < 4; r++) {
    const t0 = performance.now(); const c = tf.matMul(x, x, true, false); await c.data(); times.push(performance.now() - t0); c.dispose();
  }
  times.shift(); times.sort((x, y) => x - y);
  console.log(mn, k, (2 * mn * mn * k / times[0] / 1e6).toFixed(2), 'GFLOP/s best', times.map((t) => t.toFixed(0)).join(' '));
}
