import { requestWebGPU } from '../src/engine/backend/create-backend.ts';
const gpu = await requestWebGPU({ debug: true });
const n = Number(process.argv[2]);
const a = gpu.fill([n], 1);
const r = await a.read();
console.log('read', r[0], r.length);
gpu.destroy();
