import { requestWebGPU } from '../src/engine/backend/create-backend.ts';
import { ParamWriter } from '../src/engine/backend/webgpu/runtime.ts';
const gpu = await requestWebGPU({ debug: true });
const groups = Number(process.argv[2]);
const wg = Number(process.argv[3] ?? 64);
const out = gpu.empty([groups * wg]);
const shader = `
@group(0) @binding(0) var<uniform> p: vec4u;
@group(0) @binding(1) var<storage, read_write> o: array<f32>;
@compute @workgroup_size(${wg}) fn main(@builtin(global_invocation_id) g: vec3u) { o[g.x] = f32(g.x) + f32(p.x); }`;
for (let r = 0; r < 5; r++) gpu.runtime.dispatch({ shader, params: new ParamWriter().u32(0).bytes(), buffers: [gpu.bufferOf(out)], workgroups: [groups] });
const r = await out.read();
console.log('ok', r[r.length - 1]);
gpu.destroy();
