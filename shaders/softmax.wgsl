// softmax / logSoftmax over the last axis of [rows, rowLen], numerically stable:
//   softmax = exp(x − max) / Σ exp(x − max),   logSoftmax = x − max − log Σ exp(x − max).
// LOG = 1 selects logSoftmax. Two entry points:
//   per_thread:    one thread per row (short rows), three serial sweeps over the row.
//   per_workgroup: one 64-thread workgroup per row (long rows): strided partial max and sum, each
//                  finished by a shared-memory tree.

override LOG: u32 = 0u;
const WG: u32 = 64u;

struct Params {
  rows: u32,
  rowLen: u32,
  gridStride: u32, // per_workgroup: workgroups per grid row; per_thread: invocations per grid row
  _pad: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

var<workgroup> partial: array<f32, WG>;

fn write_row(base: u32, k: u32, rowMax: f32, sum: f32) {
  let shifted = x[base + k] - rowMax;
  if (LOG == 1u) {
    out[base + k] = shifted - log(sum);
  } else {
    out[base + k] = exp(shifted) / sum;
  }
}

@compute @workgroup_size(256)
fn per_thread(@builtin(global_invocation_id) gid: vec3<u32>) {
  let row = gid.x + gid.y * params.gridStride;
  if (row >= params.rows) {
    return;
  }
  let base = row * params.rowLen;
  var rowMax = x[base];
  for (var k = 1u; k < params.rowLen; k++) {
    rowMax = max(rowMax, x[base + k]);
  }
  var sum = 0.0;
  for (var k = 0u; k < params.rowLen; k++) {
    sum += exp(x[base + k] - rowMax);
  }
  for (var k = 0u; k < params.rowLen; k++) {
    write_row(base, k, rowMax, sum);
  }
}

@compute @workgroup_size(WG)
fn per_workgroup(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * params.gridStride;
  if (row >= params.rows) {
    return; // uniform across the workgroup
  }
  let base = row * params.rowLen;
  // Host guarantees rowLen > WG here, so every thread has at least one entry.
  var m = x[base + lid];
  for (var k = lid + WG; k < params.rowLen; k += WG) {
    m = max(m, x[base + k]);
  }
  partial[lid] = m;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      partial[lid] = max(partial[lid], partial[lid + s]);
    }
    workgroupBarrier();
  }
  let rowMax = partial[0];
  workgroupBarrier(); // everyone has read the max before the sums overwrite it
  var sum = 0.0;
  for (var k = lid; k < params.rowLen; k += WG) {
    sum += exp(x[base + k] - rowMax);
  }
  partial[lid] = sum;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      partial[lid] = partial[lid] + partial[lid + s];
    }
    workgroupBarrier();
  }
  let total = partial[0];
  for (var k = lid; k < params.rowLen; k += WG) {
    write_row(base, k, rowMax, total);
  }
}
