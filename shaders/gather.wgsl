// Row gather and a deterministic scatter-add (WGSL has no float atomics).
//
// gather: out[m, j] = x[indices[m], j], moved as raw 32-bit words (float32 and int32 alike);
// an out-of-range index reads zeros.
//
// scatter-add groups the source rows by target row once (a "plan", CSR layout), then sums each
// target row's sources in ascending position order, one invocation per output element:
//   scatter_count  rowCount[r] = #{i : indices[i] = r}            (integer atomics are exact)
//   scatter_scan   rowStart = exclusive prefix sum of rowCount; rowCount becomes a fill cursor
//   scatter_fill   perm[cursor[indices[i]]++] = i                  (order within a row is racy...)
//   scatter_sort   sort each row's segment of perm ascending       (...and made canonical here)
//   scatter_apply  out[r, :] = Σ_{p in rowStart[r]..rowStart[r+1]} src[perm[p], :]
// The plan depends only on the index tensor, so it is built once and reused while that tensor lives
// (graph message passing reuses the edge list every step); apply costs O((M + numRows)·cols).
// Out-of-range indices are skipped.

struct Params {
  count: u32,      // invocations that do work
  numRows: u32,    // gather: rows V of x; scatter: output rows
  cols: u32,       // elements per row (vec4s for scatter_apply4)
  rowStride: u32,  // 2-D grid flattening (see linearGrid)
  numIndices: u32, // M
}

@group(0) @binding(0) var<uniform> params: Params;

fn flatIndex(gid: vec3<u32>) -> u32 {
  return gid.x + gid.y * params.rowStride;
}

// ---- gather ----

@group(0) @binding(1) var<storage, read> gatherSrc: array<u32>;
@group(0) @binding(2) var<storage, read> gatherIndices: array<i32>;
@group(0) @binding(3) var<storage, read_write> gatherOut: array<u32>;

// One invocation per run of up to GATHER_RUN consecutive columns of one output row: the index is
// read and the division done once per run.
const GATHER_RUN = 8u;

@compute @workgroup_size(256)
fn gather(@builtin(global_invocation_id) gid: vec3<u32>) {
  let g = flatIndex(gid);
  if (g >= params.count) {
    return;
  }
  let runs = (params.cols + GATHER_RUN - 1u) / GATHER_RUN;
  let m = g / runs;
  let begin = (g - m * runs) * GATHER_RUN;
  let end = min(begin + GATHER_RUN, params.cols);
  let r = gatherIndices[m];
  let inside = r >= 0 && u32(r) < params.numRows;
  let srcBase = u32(max(r, 0)) * params.cols;
  let dstBase = m * params.cols;
  for (var j = begin; j < end; j++) {
    var v = 0u;
    if (inside) {
      v = gatherSrc[srcBase + j];
    }
    gatherOut[dstBase + j] = v;
  }
}

// ---- scatter-add plan ----

@group(0) @binding(1) var<storage, read> countIndices: array<i32>;
@group(0) @binding(2) var<storage, read_write> countRows: array<atomic<u32>>;

@compute @workgroup_size(256)
fn scatter_count(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = flatIndex(gid);
  if (i >= params.count) {
    return;
  }
  let r = countIndices[i];
  if (r >= 0 && u32(r) < params.numRows) {
    atomicAdd(&countRows[u32(r)], 1u);
  }
}

const SCAN_THREADS = 256u;
var<workgroup> scanPartials: array<u32, SCAN_THREADS>;
@group(0) @binding(1) var<storage, read_write> scanCounts: array<u32>;
@group(0) @binding(2) var<storage, read_write> scanStart: array<u32>;

// One workgroup: each invocation scans a contiguous chunk; invocation 0 scans the 256 chunk totals.
// Built once per plan, so two barriers and serial chunks are cheap enough.
@compute @workgroup_size(SCAN_THREADS)
fn scatter_scan(@builtin(local_invocation_index) lid: u32) {
  let n = params.numRows;
  let chunk = (n + SCAN_THREADS - 1u) / SCAN_THREADS;
  let begin = min(lid * chunk, n);
  let end = min(begin + chunk, n);
  var total = 0u;
  for (var r = begin; r < end; r++) {
    total += scanCounts[r];
  }
  scanPartials[lid] = total;
  workgroupBarrier();
  if (lid == 0u) {
    var run = 0u;
    for (var k = 0u; k < SCAN_THREADS; k++) {
      let v = scanPartials[k];
      scanPartials[k] = run;
      run += v;
    }
    scanStart[n] = run;
  }
  workgroupBarrier();
  var run = scanPartials[lid];
  for (var r = begin; r < end; r++) {
    let c = scanCounts[r];
    scanStart[r] = run;
    scanCounts[r] = run; // the fill cursor
    run += c;
  }
}

@group(0) @binding(1) var<storage, read> fillIndices: array<i32>;
@group(0) @binding(2) var<storage, read_write> fillCursor: array<atomic<u32>>;
@group(0) @binding(3) var<storage, read_write> fillPerm: array<u32>;

@compute @workgroup_size(256)
fn scatter_fill(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = flatIndex(gid);
  if (i >= params.count) {
    return;
  }
  let r = fillIndices[i];
  if (r >= 0 && u32(r) < params.numRows) {
    let p = atomicAdd(&fillCursor[u32(r)], 1u);
    fillPerm[p] = i;
  }
}

@group(0) @binding(1) var<storage, read> sortStart: array<u32>;
@group(0) @binding(2) var<storage, read_write> sortPerm: array<u32>;

fn siftDown(base: u32, start: u32, n: u32) {
  var root = start;
  let v = sortPerm[base + root];
  loop {
    var child = 2u * root + 1u;
    if (child >= n) {
      break;
    }
    var cv = sortPerm[base + child];
    if (child + 1u < n) {
      let rv = sortPerm[base + child + 1u];
      if (rv > cv) {
        child += 1u;
        cv = rv;
      }
    }
    if (cv <= v) {
      break;
    }
    sortPerm[base + root] = cv;
    root = child;
  }
  sortPerm[base + root] = v;
}

// One invocation per target row: heapsort of its segment, O(deg·log deg) even for hub nodes.
@compute @workgroup_size(64)
fn scatter_sort(@builtin(global_invocation_id) gid: vec3<u32>) {
  let r = flatIndex(gid);
  if (r >= params.count) {
    return;
  }
  let base = sortStart[r];
  let n = sortStart[r + 1u] - base;
  if (n < 2u) {
    return;
  }
  for (var s = n / 2u; s > 0u; s--) {
    siftDown(base, s - 1u, n);
  }
  for (var end = n - 1u; end > 0u; end--) {
    let top = sortPerm[base];
    sortPerm[base] = sortPerm[base + end];
    sortPerm[base + end] = top;
    siftDown(base, 0u, end);
  }
}

// ---- scatter-add apply (every call) ----

@group(0) @binding(1) var<storage, read> applyStart: array<u32>;
@group(0) @binding(2) var<storage, read> applyPerm: array<u32>;
@group(0) @binding(3) var<storage, read> applySrc: array<f32>;
@group(0) @binding(4) var<storage, read_write> applyOut: array<f32>;

@compute @workgroup_size(256)
fn scatter_apply(@builtin(global_invocation_id) gid: vec3<u32>) {
  let g = flatIndex(gid);
  if (g >= params.count) {
    return;
  }
  let r = g / params.cols;
  let j = g - r * params.cols;
  var sum = 0.0;
  for (var p = applyStart[r]; p < applyStart[r + 1u]; p++) {
    sum += applySrc[applyPerm[p] * params.cols + j];
  }
  applyOut[g] = sum;
}

// The same with four columns per invocation when the row length is a multiple of 4.
@group(0) @binding(3) var<storage, read> apply4Src: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> apply4Out: array<vec4<f32>>;

@compute @workgroup_size(256)
fn scatter_apply4(@builtin(global_invocation_id) gid: vec3<u32>) {
  let g = flatIndex(gid);
  if (g >= params.count) {
    return;
  }
  let r = g / params.cols;
  let j = g - r * params.cols;
  var sum = vec4<f32>(0.0);
  for (var p = applyStart[r]; p < applyStart[r + 1u]; p++) {
    sum += apply4Src[applyPerm[p] * params.cols + j];
  }
  apply4Out[g] = sum;
}
