const t0 = performance.now();
const log = (s: string) => process.stderr.write(`${s}@${(performance.now() - t0).toFixed(0)} `);
const { requestWebGPU } = await import('../src/engine/backend/create-backend.ts');
const { ParamWriter } = await import('../src/engine/backend/webgpu/runtime.ts');
log('imp');
const gpu = await requestWebGPU({ debug: process.argv[3] === "d" });
log('dev');
const groups = Number(process.argv[2]);
const out = gpu.empty([groups * 64]);
const shader = `
@group(0) @binding(0) var<uniform> p: vec4u;
@group(0) @binding(1) var<storage, read_write> o: array<f32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3u) { o[g.x] = f32(g.x) + f32(p.x); }`;
for (let r = 0; r < 5; r++) gpu.runtime.dispatch({ shader, params: new ParamWriter().u32(0).bytes(), buffers: [gpu.bufferOf(out)], workgroups: [groups] });
log('disp');
const r = await out.read();
log('read');
gpu.destroy();
log('destroyed');
