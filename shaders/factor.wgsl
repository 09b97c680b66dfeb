// K-FAC factors (docs/kfac.md §2): C = α Xᵀ diag(w) X + β C₀ for X [B, M, d], and the shared-dim
// mean/sum of K-FAC-reduce ([N, R, d] → [N, d]).
//
// factor runs in two passes.
// factor_partial[_vec4]: one invocation per (batch, M-slice, 8×8 output tile on or above the
//   diagonal). Register blocking, no shared memory (workgroup barriers are slow on SwiftShader): per
//   row of X an invocation loads 2+2 vec4s and does 16 vec4 FMAs. Slicing M parallelises small
//   factors and keeps every float32 running sum short (at most `sliceRows` terms) for accuracy.
//   Columns past d (the last tile row/column when d % 8 ≠ 0) load a clamped in-range column and are
//   never written, which keeps the inner loop free of branches. _vec4 loads X as vec4s (d % 4 = 0).
// factor_finish: one invocation per (batch, tile); adds the slices in a fixed order, applies α and
//   β·C₀ (C₀ read from its upper triangle) and writes every value to (i, j) and (j, i) — only i ≤ j
//   inside diagonal tiles — so the result is exactly symmetric.

struct Params {
  batch: u32,
  rows: u32,         // M (shared_reduce: R)
  dim: u32,          // d
  tilesPerRow: u32,  // ceil(d / 8)
  numTiles: u32,     // tilesPerRow·(tilesPerRow + 1)/2
  slices: u32,
  sliceRows: u32,
  rowStride: u32,    // 2-D grid flattening (see linearGrid)
  count: u32,        // invocations that do work
  weightStride: u32, // M when each matrix has its own row weights, 0 when they are shared
  hasAccumulator: u32,
  _pad: u32,
  alpha: f32,
  beta: f32,
  divisor: f32,      // shared_reduce: R for the mean, 1 for the sum
}

@group(0) @binding(0) var<uniform> params: Params;

override HAS_WEIGHTS: bool = false;

// First linear index of tile row ti in the row-major enumeration of the upper triangle.
fn tileRowStart(ti: u32, nt: u32) -> u32 {
  return (ti * (2u * nt - ti + 1u)) / 2u;
}

// Linear upper-triangle tile index → (tile row, tile column), column ≥ row.
fn decodeTile(t: u32) -> vec2<u32> {
  let nt = params.tilesPerRow;
  let q = f32(2u * nt + 1u);
  var ti = u32(max(0.0, floor((q - sqrt(max(0.0, q * q - 8.0 * f32(t)))) * 0.5)));
  ti = min(ti, nt - 1u);
  // The float estimate can be off by one; fix it exactly.
  while (ti > 0u && tileRowStart(ti, nt) > t) {
    ti--;
  }
  while (ti + 1u < nt && tileRowStart(ti + 1u, nt) <= t) {
    ti++;
  }
  return vec2<u32>(ti, ti + (t - tileRowStart(ti, nt)));
}

// An 8×8 tile: row k of the tile is (r{k}a, r{k}b), columns 0-3 and 4-7.
struct Tile {
  r0a: vec4<f32>,
  r0b: vec4<f32>,
  r1a: vec4<f32>,
  r1b: vec4<f32>,
  r2a: vec4<f32>,
  r2b: vec4<f32>,
  r3a: vec4<f32>,
  r3b: vec4<f32>,
  r4a: vec4<f32>,
  r4b: vec4<f32>,
  r5a: vec4<f32>,
  r5b: vec4<f32>,
  r6a: vec4<f32>,
  r6b: vec4<f32>,
  r7a: vec4<f32>,
  r7b: vec4<f32>,
}

fn tileFma(t: Tile, a0: vec4<f32>, a1: vec4<f32>, v0: vec4<f32>, v1: vec4<f32>) -> Tile {
  return Tile(
    t.r0a + a0.x * v0,
    t.r0b + a0.x * v1,
    t.r1a + a0.y * v0,
    t.r1b + a0.y * v1,
    t.r2a + a0.z * v0,
    t.r2b + a0.z * v1,
    t.r3a + a0.w * v0,
    t.r3b + a0.w * v1,
    t.r4a + a1.x * v0,
    t.r4b + a1.x * v1,
    t.r5a + a1.y * v0,
    t.r5b + a1.y * v1,
    t.r6a + a1.z * v0,
    t.r6b + a1.z * v1,
    t.r7a + a1.w * v0,
    t.r7b + a1.w * v1,
  );
}

// Which invocation does what in factor_partial: tile fastest, then slice, then batch.
struct PartialTask {
  b: u32,
  i0: u32,
  j0: u32,
  rowBegin: u32,
  rowEnd: u32,
}

fn partialTask(g: u32) -> PartialTask {
  let t = g % params.numTiles;
  let bs = g / params.numTiles;
  let s = bs % params.slices;
  let ij = decodeTile(t) * 8u;
  let rowBegin = s * params.sliceRows;
  return PartialTask(bs / params.slices, ij.x, ij.y, rowBegin, min(rowBegin + params.sliceRows, params.rows));
}

// factor_partial's bindings; without row weights, `weights` is bound to X and never read.
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> weights: array<f32>;
@group(0) @binding(3) var<storage, read_write> partials: array<vec4<f32>>;

fn storeTile(g: u32, t: Tile) {
  let p = g * 16u;
  partials[p + 0u] = t.r0a;
  partials[p + 1u] = t.r0b;
  partials[p + 2u] = t.r1a;
  partials[p + 3u] = t.r1b;
  partials[p + 4u] = t.r2a;
  partials[p + 5u] = t.r2b;
  partials[p + 6u] = t.r3a;
  partials[p + 7u] = t.r3b;
  partials[p + 8u] = t.r4a;
  partials[p + 9u] = t.r4b;
  partials[p + 10u] = t.r5a;
  partials[p + 11u] = t.r5b;
  partials[p + 12u] = t.r6a;
  partials[p + 13u] = t.r6b;
  partials[p + 14u] = t.r7a;
  partials[p + 15u] = t.r7b;
}

fn loadClamped(rowBase: u32, col0: u32) -> vec4<f32> {
  let last = params.dim - 1u;
  return vec4<f32>(
    x[rowBase + min(col0, last)],
    x[rowBase + min(col0 + 1u, last)],
    x[rowBase + min(col0 + 2u, last)],
    x[rowBase + min(col0 + 3u, last)],
  );
}

@compute @workgroup_size(64)
fn factor_partial(@builtin(global_invocation_id) gid: vec3<u32>) {
  let g = gid.x + gid.y * params.rowStride;
  if (g >= params.count) {
    return;
  }
  let task = partialTask(g);
  let d = params.dim;
  let xBase = task.b * params.rows * d;
  let wBase = task.b * params.weightStride;
  var acc = Tile();
  for (var r = task.rowBegin; r < task.rowEnd; r++) {
    let rowBase = xBase + r * d;
    var a0 = loadClamped(rowBase, task.i0);
    var a1 = loadClamped(rowBase, task.i0 + 4u);
    if (HAS_WEIGHTS) {
      let w = weights[wBase + r];
      a0 *= w;
      a1 *= w;
    }
    acc = tileFma(acc, a0, a1, loadClamped(rowBase, task.j0), loadClamped(rowBase, task.j0 + 4u));
  }
  storeTile(g, acc);
}

@group(0) @binding(1) var<storage, read> x4: array<vec4<f32>>;

@compute @workgroup_size(64)
fn factor_partial_vec4(@builtin(global_invocation_id) gid: vec3<u32>) {
  let g = gid.x + gid.y * params.rowStride;
  if (g >= params.count) {
    return;
  }
  let task = partialTask(g);
  let d4 = params.dim / 4u;
  // A column group past d (d % 8 = 4) reads the row's last group instead.
  let ci0 = task.i0 / 4u;
  let ci1 = min(ci0 + 1u, d4 - 1u);
  let cj0 = task.j0 / 4u;
  let cj1 = min(cj0 + 1u, d4 - 1u);
  let xBase = task.b * params.rows * d4;
  let wBase = task.b * params.weightStride;
  var acc = Tile();
  for (var r = task.rowBegin; r < task.rowEnd; r++) {
    let rowBase = xBase + r * d4;
    var a0 = x4[rowBase + ci0];
    var a1 = x4[rowBase + ci1];
    if (HAS_WEIGHTS) {
      let w = weights[wBase + r];
      a0 *= w;
      a1 *= w;
    }
    acc = tileFma(acc, a0, a1, x4[rowBase + cj0], x4[rowBase + cj1]);
  }
  storeTile(g, acc);
}

// factor_finish's bindings; without an accumulator, `accumulator` is bound to the partials, never read.
@group(0) @binding(1) var<storage, read> finishPartials: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> accumulator: array<f32>;
@group(0) @binding(3) var<storage, read_write> result: array<f32>;

@compute @workgroup_size(64)
fn factor_finish(@builtin(global_invocation_id) gid: vec3<u32>) {
  let g = gid.x + gid.y * params.rowStride;
  if (g >= params.count) {
    return;
  }
  let t = g % params.numTiles;
  let b = g / params.numTiles;
  var sum: array<vec4<f32>, 16>;
  for (var s = 0u; s < params.slices; s++) {
    let p = ((b * params.slices + s) * params.numTiles + t) * 16u;
    for (var k = 0u; k < 16u; k++) {
      sum[k] += finishPartials[p + k];
    }
  }
  let ij = decodeTile(t) * 8u;
  let d = params.dim;
  let base = b * d * d;
  for (var k = 0u; k < 8u; k++) {
    let i = ij.x + k;
    for (var l = 0u; l < 8u; l++) {
      let j = ij.y + l;
      if (i <= j && j < d) {
        var v = params.alpha * sum[k * 2u + l / 4u][l % 4u];
        if (params.hasAccumulator != 0u) {
          v += params.beta * accumulator[base + i * d + j];
        }
        result[base + i * d + j] = v;
        result[base + j * d + i] = v;
      }
    }
  }
}

// ---- shared_reduce: one invocation per output element (n, j), summing the R rows in order ----

@group(0) @binding(1) var<storage, read> reduceSrc: array<f32>;
@group(0) @binding(2) var<storage, read_write> reduceOut: array<f32>;

const REDUCE_CHUNK = 64u;

@compute @workgroup_size(64)
fn shared_reduce(@builtin(global_invocation_id) gid: vec3<u32>) {
  let g = gid.x + gid.y * params.rowStride;
  if (g >= params.count) {
    return;
  }
  let d = params.dim;
  let n = g / d;
  let j = g - n * d;
  let base = n * params.rows * d + j;
  // Chunked: a float32 running sum over thousands of positions would lose digits.
  var total = 0.0;
  for (var r0 = 0u; r0 < params.rows; r0 += REDUCE_CHUNK) {
    var chunk = 0.0;
    let r1 = min(r0 + REDUCE_CHUNK, params.rows);
    for (var r = r0; r < r1; r++) {
      chunk += reduceSrc[base + r * d];
    }
    total += chunk;
  }
  reduceOut[g] = total / params.divisor;
}
