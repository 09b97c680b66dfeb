// argmax along one axis of a tensor viewed as [outer, axisLen, inner] → int32 [outer, inner];
// the first index wins ties (as on the CPU: only a strictly greater value replaces the best).
//   rows:    inner = 1 and a long axis. One 64-thread workgroup per row: strided serial scans,
//            then a shared-memory tree that keeps the smaller index on equal values.
//   strided: one thread per output, serial over the axis.

const WG: u32 = 64u;

struct Params {
  count: u32, // outputs: outer · inner
  gridStride: u32, // rows: workgroups per grid row; strided: invocations per grid row
  axisLen: u32,
  inner: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<i32>;

var<workgroup> bestValue: array<f32, WG>;
var<workgroup> bestIndex: array<u32, WG>;

@compute @workgroup_size(WG)
fn rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * params.gridStride;
  if (row >= params.count) {
    return; // uniform across the workgroup
  }
  let base = row * params.axisLen;
  // Threads past the end hold index axisLen, which loses every comparison below.
  var value = 0.0;
  var index = params.axisLen;
  if (lid < params.axisLen) {
    value = x[base + lid];
    index = lid;
  }
  for (var k = lid + WG; k < params.axisLen; k += WG) {
    let v = x[base + k];
    if (v > value) {
      value = v;
      index = k;
    }
  }
  bestValue[lid] = value;
  bestIndex[lid] = index;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      let v = bestValue[lid + s];
      let j = bestIndex[lid + s];
      let here = bestIndex[lid];
      let wins = here == params.axisLen || (j < params.axisLen && (v > bestValue[lid] || (v == bestValue[lid] && j < here)));
      if (wins) {
        bestValue[lid] = v;
        bestIndex[lid] = j;
      }
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    out[row] = i32(bestIndex[0]);
  }
}

@compute @workgroup_size(256)
fn strided(@builtin(global_invocation_id) gid: vec3<u32>) {
  let idx = gid.x + gid.y * params.gridStride;
  if (idx >= params.count) {
    return;
  }
  let i = idx % params.inner;
  let o = idx / params.inner;
  var p = o * params.axisLen * params.inner + i;
  var best = x[p];
  var at = 0u;
  for (var k = 1u; k < params.axisLen; k++) {
    p += params.inner;
    let v = x[p];
    if (v > best) {
      best = v;
      at = k;
    }
  }
  out[idx] = i32(at);
}
