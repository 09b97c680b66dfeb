// sum / max along one axis of a tensor viewed as [outer, axisLen, inner] (mean = sum with a
// divisor). One pass reduces each chunk of `chunkLen` consecutive axis entries to one value, giving
// [outer, nChunks, inner]; the host repeats passes until nChunks = 1, so a long axis is summed as a
// tree of short partial sums (accurate, and parallel even when outer·inner is small). OP: 0 sum, 1 max.
//   rows:    inner = 1. One 64-thread workgroup per (row, chunk): each thread sums a strided slice
//            (coalesced reads), then one shared-memory tree.
//   strided: any inner. One thread per output, serial over its chunk (short: ≤ 128 entries); adjacent
//            threads read adjacent inner entries.

override OP: u32 = 0u;
const WG: u32 = 64u;

struct Params {
  count: u32, // outputs of this pass: outer · nChunks · inner
  gridStride: u32, // rows: workgroups per grid row; strided: invocations per grid row
  axisLen: u32,
  chunkLen: u32,
  nChunks: u32,
  inner: u32,
  divisor: f32, // applied to each output (1 except in the last pass of a mean)
  _pad: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

var<workgroup> partial: array<f32, WG>;

fn identity() -> f32 {
  if (OP == 1u) {
    let negInfBits = 0xff800000u;
    return bitcast<f32>(negInfBits);
  }
  return 0.0;
}

fn combine(acc: f32, v: f32) -> f32 {
  if (OP == 1u) {
    return max(acc, v);
  }
  return acc + v;
}

@compute @workgroup_size(WG)
fn rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let job = wid.x + wid.y * params.gridStride; // = row · nChunks + chunk, the output index
  if (job >= params.count) {
    return; // uniform across the workgroup, so the barriers below stay uniform
  }
  let row = job / params.nChunks;
  let start = (job % params.nChunks) * params.chunkLen;
  let end = min(start + params.chunkLen, params.axisLen);
  let base = row * params.axisLen;
  var acc = identity();
  for (var k = start + lid; k < end; k += WG) {
    acc = combine(acc, x[base + k]);
  }
  partial[lid] = acc;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      partial[lid] = combine(partial[lid], partial[lid + s]);
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    out[job] = partial[0] / params.divisor;
  }
}

@compute @workgroup_size(256)
fn strided(@builtin(global_invocation_id) gid: vec3<u32>) {
  let idx = gid.x + gid.y * params.gridStride;
  if (idx >= params.count) {
    return;
  }
  let i = idx % params.inner;
  let t = idx / params.inner;
  let chunk = t % params.nChunks;
  let o = t / params.nChunks;
  let start = chunk * params.chunkLen;
  let end = min(start + params.chunkLen, params.axisLen);
  var p = (o * params.axisLen + start) * params.inner + i;
  var acc = identity();
  for (var k = start; k < end; k++) {
    acc = combine(acc, x[p]);
    p += params.inner;
  }
  out[idx] = acc / params.divisor;
}
